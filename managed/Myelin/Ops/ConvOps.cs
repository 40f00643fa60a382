using Myelin.Graphs;
using Myelin.Native;

namespace Myelin.Ops;

/// <summary>Attribute handling shared by Conv and its backward ops (ONNX Conv attributes, auto_pad NOTSET).</summary>
public abstract unsafe class ConvFamilyOp : OpDef
{
    /// <summary>ONNX Conv's attributes, shared by the whole family.</summary>
    internal static AttrSpec[] ConvAttributes { get; } =
    [
        new("strides", AttrKind.Ints, Optional: true), new("pads", AttrKind.Ints, Optional: true), new("dilations", AttrKind.Ints, Optional: true),
        new("group", AttrKind.Int, 1L), new("kernel_shape", AttrKind.Ints, Optional: true),
    ];

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes => ConvAttributes;

    /// <inheritdoc/>
    public override bool RequiresContiguousInput(int index) => true;

    /// <summary>The native parameters for a node with <paramref name="spatialRank"/> spatial axes.</summary>
    internal static ConvParams Parameters(Node node, int spatialRank)
    {
        if (spatialRank is < 1 or > 3) throw new GraphValidationException($"{node}: convolution needs 1 to 3 spatial axes, not {spatialRank}.", node.Name);
        long[] strides = node.GetInts("strides") ?? Enumerable.Repeat(1L, spatialRank).ToArray();
        long[] dilations = node.GetInts("dilations") ?? Enumerable.Repeat(1L, spatialRank).ToArray();
        long[] pads = node.GetInts("pads") ?? new long[2 * spatialRank];
        if (strides.Length != spatialRank || dilations.Length != spatialRank || pads.Length != 2 * spatialRank)
        {
            throw new GraphValidationException($"{node}: strides, dilations and pads must have {spatialRank}, {spatialRank} and {2 * spatialRank} entries.", node.Name);
        }

        CheckWindow(node, strides, dilations, pads);
        var p = new ConvParams { SpatialRank = spatialRank, Groups = node.GetInt("group") };
        if (p.Groups < 1) throw new GraphValidationException($"{node}: group is {p.Groups}; it must be at least 1.", node.Name);
        for (int i = 0; i < spatialRank; i++)
        {
            p.Strides[i] = strides[i];
            p.Dilations[i] = dilations[i];
            p.PadsBegin[i] = pads[i];
            p.PadsEnd[i] = pads[spatialRank + i];
        }

        return p;
    }

    /// <summary>Refuses strides or dilations below 1 and negative pads, which would divide by zero or index before the input.</summary>
    internal static void CheckWindow(Node node, long[] strides, long[] dilations, long[] pads)
    {
        if (strides.Any(s => s < 1) || dilations.Any(d => d < 1))
        {
            throw new GraphValidationException($"{node}: strides [{string.Join(", ", strides)}] and dilations [{string.Join(", ", dilations)}] must be at least 1.", node.Name);
        }

        if (pads.Any(p => p < 0)) throw new GraphValidationException($"{node}: pads [{string.Join(", ", pads)}] must not be negative.", node.Name);
    }

    /// <summary>The output type of a convolution of <paramref name="x"/> by <paramref name="w"/>.</summary>
    internal static TensorType ConvOutput(InferContext context, TensorType x, TensorType w)
    {
        int r = x.Rank - 2;
        ConvParams p = Parameters(context.Node, r);
        if (w.Rank != x.Rank) context.Fail($"x is {x.ShapeText} but w is {w.ShapeText}; they need the same rank");
        long group = p.Groups;
        if (x[1].IsKnown && w[1].IsKnown && x[1].Value != w[1].Value * group) context.Fail($"x has {x[1]} channels but w expects {w[1]} x group {group}");
        var dims = new Dim[x.Rank];
        dims[0] = x[0];
        dims[1] = w[0];
        for (int i = 0; i < r; i++)
        {
            Dim input = x[2 + i], kernel = w[2 + i];
            if (!input.IsKnown || !kernel.IsKnown) context.Fail($"spatial axis {i} must have a known size ({x.ShapeText}, {w.ShapeText})");
            // Checked: attributes and dims come from a model file and may be anything up to 2^63 - 1.
            long span = checked(p.Dilations[i] * (kernel.Value - 1) + 1), padded = checked(input.Value + p.PadsBegin[i] + p.PadsEnd[i]);
            if (padded < span) context.Fail($"spatial axis {i}: padded size {padded} is smaller than the kernel span {span}");
            dims[2 + i] = (padded - span) / p.Strides[i] + 1;
        }

        return new TensorType(x.DType, dims);
    }

    /// <summary>A pinned copy of the node's parameters for a launch.</summary>
    internal static ConvParams[] Pinned(Node node, int spatialRank)
    {
        ConvParams[] pinned = GC.AllocateArray<ConvParams>(1, pinned: true);
        pinned[0] = Parameters(node, spatialRank);
        return pinned;
    }

    /// <summary>Attributes to pass on to the backward ops.</summary>
    internal static Dictionary<string, object> CopyAttributes(Node node) => new(node.Attributes);

    /// <summary>
    /// The forward launch of Conv and FusedConv: with constant filters (an inference model's initializers) they are
    /// prepared once here, packed into the kernel's layout where one pays (<c>mln_conv_weights_create</c>), owned and
    /// disposed by the plan (their bytes reported to the GC meanwhile, as tensors' are), and each run calls
    /// <c>mln_conv_forward_prepared</c>; filters that may change between runs (training parameters) go to
    /// <c>mln_conv_forward</c> every run.
    /// </summary>
    internal static KernelLaunch ForwardLaunch(BindContext context, TensorDesc* bias, UnaryOp activation, TensorDesc* residual)
    {
        ConvParams[] p = Pinned(context.Node, context.InputShape(0).Length - 2);
        TensorDesc* x = context.Input(0), w = context.Input(1), y = context.Output(0);
        if (!context.IsConstantInput(1)) return new ConvForwardLaunch(p, x, w, bias, activation, residual, y);
        ConvWeightsHandle weights;
        fixed (ConvParams* parameters = p) NativeMethods.Check(NativeMethods.ConvWeightsCreate(context.Device.Handle, parameters, x, w, out weights));
        context.Own(weights);
        long bytes;
        NativeMethods.Check(NativeMethods.ConvWeightsGetBytes(weights, &bytes));
        context.Own(new MemoryPressure.Lease(bytes));
        return new ConvForwardPreparedLaunch(weights, x, bias, activation, residual, y);
    }
}

/// <summary>ONNX Conv (NCHW, 1 to 3 spatial axes, groups, explicit pads), bound to <c>mln_conv_forward</c>.</summary>
public sealed unsafe class ConvOp : ConvFamilyOp
{
    /// <inheritdoc/>
    public override string Name => "Conv";

    /// <inheritdoc/>
    public override int SinceVersion => 11;

    /// <inheritdoc/>
    public override int MinInputs => 2;

    /// <inheritdoc/>
    public override int MaxInputs => 3;

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        context.RequireSameFloat();
        TensorType y = ConvOutput(context, context.Input(0), context.Input(1));
        if (context.Inputs.Length == 3 && (context.Input(2).Rank != 1 || context.Input(2)[0] != context.Input(1)[0]))
        {
            context.Fail($"bias must have shape {context.Input(1)[0]} but has {context.Input(2).ShapeText}");
        }

        return [y];
    }

    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c)
    {
        Value dy = c.Dy()!;
        Value dx = c.Graph.Apply("ConvGradData", [dy, c.X(1), c.X(0)], CopyAttributes(c.Node))[0];
        Value dw = c.Graph.Apply("ConvGradFilter", [c.X(0), dy, c.X(1)], CopyAttributes(c.Node))[0];
        if (c.Node.Inputs.Length < 3) return [dx, dw];
        long[] axes = Enumerable.Range(0, c.X(0).Rank).Where(a => a != 1).Select(a => (long)a).ToArray();
        return [dx, dw, dy.Sum(axes)];
    }

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context) =>
        ForwardLaunch(context, context.InputCount == 3 ? context.Input(2) : null, UnaryOp.Identity, null);

    /// <summary>Padding, stride and groups shared by the checks of Conv and its backward ops.</summary>
    internal static Dictionary<string, object> CheckAttributes() => new() { ["pads"] = new long[] { 1, 0, 1, 1 }, ["strides"] = new long[] { 2, 1 }, ["group"] = 2L };

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 2, 5, 5], [4, 1, 3, 3], [4]], Attributes: CheckAttributes());
}

/// <summary>One <c>mln_conv_forward</c> call: y = activation(conv(x, w) + bias + residual), bias and residual optional.</summary>
internal sealed unsafe class ConvForwardLaunch(ConvParams[] p, TensorDesc* x, TensorDesc* w, TensorDesc* bias, UnaryOp activation, TensorDesc* residual, TensorDesc* y)
    : KernelLaunch
{
    /// <inheritdoc/>
    public override void Launch(DeviceHandle device)
    {
        fixed (ConvParams* parameters = p) NativeMethods.Check(NativeMethods.ConvForward(device, parameters, x, w, bias, activation, residual, y));
    }
}

/// <summary>One <c>mln_conv_forward_prepared</c> call: <see cref="ConvForwardLaunch"/> with filters prepared when the plan was built.</summary>
internal sealed unsafe class ConvForwardPreparedLaunch(ConvWeightsHandle weights, TensorDesc* x, TensorDesc* bias, UnaryOp activation, TensorDesc* residual, TensorDesc* y)
    : KernelLaunch
{
    /// <inheritdoc/>
    public override void Launch(DeviceHandle device) =>
        NativeMethods.Check(NativeMethods.ConvForwardPrepared(device, weights, x, bias, activation, residual, y));
}

/// <summary>
/// Myelin's fused convolution: Y = activation(Conv(X, W) + bias + residual), one <c>mln_conv_forward</c> call whose
/// epilogue adds the bias and residual and applies the activation to each output block while it is in cache. Inputs X,
/// W, then an optional bias (one per output channel), then the residual (Y's exact shape) when <c>with_residual</c> is
/// 1; Conv's attributes. The fusion pass (<see cref="Passes.EpilogueFusion"/>) makes it from Conv + Add + Add + activation.
/// </summary>
public sealed unsafe class FusedConvOp : ConvFamilyOp
{
    /// <inheritdoc/>
    public override string Name => "FusedConv";

    /// <inheritdoc/>
    public override string Domain => "ai.myelin";

    /// <inheritdoc/>
    public override int SinceVersion => 1;

    /// <inheritdoc/>
    public override int MinInputs => 2;

    /// <inheritdoc/>
    public override int MaxInputs => 4;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [.. ConvAttributes, .. FusedEpilogue.Attributes];

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        context.RequireSameFloat();
        TensorType y = ConvOutput(context, context.Input(0), context.Input(1));
        FusedEpilogue.Check(context, y);
        if (FusedEpilogue.BiasIndex(context.Node) is >= 0 and int bias && (context.Input(bias).Rank != 1 || context.Input(bias)[0] != context.Input(1)[0]))
        {
            context.Fail($"bias must have shape {context.Input(1)[0]} but has {context.Input(bias).ShapeText}");
        }

        return [y];
    }

    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c)
    {
        // Conv's rule applied to dz, the gradient before the activation; bias and residual receive dz as Conv + Add would.
        Value dz = FusedEpilogue.PreActivationGradient(c);
        Dictionary<string, object> conv = WithoutEpilogue(c.Node);
        Value dx = c.Graph.Apply("ConvGradData", [dz, c.X(1), c.X(0)], conv)[0];
        Value dw = c.Graph.Apply("ConvGradFilter", [c.X(0), dz, c.X(1)], conv)[0];
        long[] axes = Enumerable.Range(0, c.X(0).Rank).Where(a => a != 1).Select(a => (long)a).ToArray();
        return FusedEpilogue.WithEpilogueGradients(c, dz, [dx, dw], g => g.Sum(axes));
    }

    /// <summary>The node's Conv attributes, without the epilogue's, for the Conv family ops its gradient uses.</summary>
    private static Dictionary<string, object> WithoutEpilogue(Node node) =>
        node.Attributes.Where(a => a.Key is not (FusedEpilogue.ActivationAttribute or FusedEpilogue.ResidualAttribute)).ToDictionary(a => a.Key, a => a.Value);

    /// <inheritdoc/>
    /// <remarks>Gelu: its derivative needs the pre-activation, so this checks the recomputing path (FusedGemm's checks the one from y).</remarks>
    public override GradCheckCase? GradCheckCase => new([[2, 2, 5, 5], [4, 1, 3, 3], [4], [2, 4, 3, 4]],
        Attributes: new(ConvOp.CheckAttributes()) { [FusedEpilogue.ActivationAttribute] = "Gelu", [FusedEpilogue.ResidualAttribute] = 1L });

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context)
    {
        int bias = FusedEpilogue.BiasIndex(context.Node), residual = FusedEpilogue.ResidualIndex(context.Node);
        return ForwardLaunch(context, bias >= 0 ? context.Input(bias) : null, FusedEpilogue.Activation(context.Node),
            residual >= 0 ? context.Input(residual) : null);
    }
}

/// <summary>Myelin's ConvGradData(dy, w, x): the gradient of Conv with respect to x (x gives only the shape), <c>mln_conv_backward_data</c>.</summary>
public sealed unsafe class ConvGradDataOp : ConvFamilyOp
{
    /// <inheritdoc/>
    public override string Name => "ConvGradData";

    /// <inheritdoc/>
    public override string Domain => "ai.myelin";

    /// <inheritdoc/>
    public override int SinceVersion => 1;

    /// <inheritdoc/>
    public override int MinInputs => 3;

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context) => [context.Input(2).WithDType(context.Input(0).DType)];

    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c)
    {
        // dx = Conv^T(dy; w) is bilinear: <g, dx> = <Conv(g; w), dy>, so d/d(dy) = Conv(g; w) and d/dw = ConvGradFilter(g, dy).
        // x gives only the shape.
        Value g = c.Dy()!, dy = c.X(0), w = c.X(1);
        return
        [
            c.Graph.Apply("Conv", [g, w], CopyAttributes(c.Node))[0],
            c.Graph.Apply("ConvGradFilter", [g, dy, w], CopyAttributes(c.Node))[0],
            null,
        ];
    }

    /// <inheritdoc/>
    /// <remarks>The inputs are dy, w and x of <see cref="ConvOp"/>'s check (x [2, 2, 5, 5] by w [4, 1, 3, 3] gives dy [2, 4, 3, 4]).</remarks>
    public override GradCheckCase? GradCheckCase => new([[2, 4, 3, 4], [4, 1, 3, 3], [2, 2, 5, 5]], Attributes: ConvOp.CheckAttributes());

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context) =>
        new DataLaunch(Pinned(context.Node, context.InputShape(2).Length - 2), context.Input(0), context.Input(1), context.Output(0));

    private sealed class DataLaunch(ConvParams[] p, TensorDesc* dy, TensorDesc* w, TensorDesc* dx) : KernelLaunch
    {
        public override void Launch(DeviceHandle device)
        {
            fixed (ConvParams* parameters = p) NativeMethods.Check(NativeMethods.ConvBackwardData(device, parameters, dy, w, dx));
        }
    }
}

/// <summary>Myelin's ConvGradFilter(x, dy, w): the gradient of Conv with respect to w (w gives only the shape), <c>mln_conv_backward_filter</c>.</summary>
public sealed unsafe class ConvGradFilterOp : ConvFamilyOp
{
    /// <inheritdoc/>
    public override string Name => "ConvGradFilter";

    /// <inheritdoc/>
    public override string Domain => "ai.myelin";

    /// <inheritdoc/>
    public override int SinceVersion => 1;

    /// <inheritdoc/>
    public override int MinInputs => 3;

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context) => [context.Input(2).WithDType(context.Input(0).DType)];

    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c)
    {
        // dw is bilinear in x and dy: <g, dw> = <Conv(x; g), dy>, so d/d(dy) = Conv(x; g) and d/dx = ConvGradData(dy, g).
        // w gives only the shape.
        Value g = c.Dy()!, x = c.X(0), dy = c.X(1);
        return
        [
            c.Graph.Apply("ConvGradData", [dy, g, x], CopyAttributes(c.Node))[0],
            c.Graph.Apply("Conv", [x, g], CopyAttributes(c.Node))[0],
            null,
        ];
    }

    /// <inheritdoc/>
    /// <remarks>The inputs are x, dy and w of <see cref="ConvOp"/>'s check.</remarks>
    public override GradCheckCase? GradCheckCase => new([[2, 2, 5, 5], [2, 4, 3, 4], [4, 1, 3, 3]], Attributes: ConvOp.CheckAttributes());

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context) =>
        new FilterLaunch(Pinned(context.Node, context.InputShape(0).Length - 2), context.Input(0), context.Input(1), context.Output(0));

    private sealed class FilterLaunch(ConvParams[] p, TensorDesc* x, TensorDesc* dy, TensorDesc* dw) : KernelLaunch
    {
        public override void Launch(DeviceHandle device)
        {
            fixed (ConvParams* parameters = p) NativeMethods.Check(NativeMethods.ConvBackwardFilter(device, parameters, x, dy, dw, null));
        }
    }
}

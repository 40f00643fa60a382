using Myelin.Autodiff;
using Myelin.Graphs;
using Myelin.Native;

namespace Myelin.Ops;

/// <summary>ONNX LayerNormalization (opset 17): outputs Y, Mean and InvStdDev; the statistics feed the backward.</summary>
public sealed unsafe class LayerNormalizationOp : OpDef
{
    /// <inheritdoc/>
    public override string Name => "LayerNormalization";

    /// <inheritdoc/>
    public override int SinceVersion => 17;

    /// <inheritdoc/>
    public override int MinInputs => 3;

    /// <inheritdoc/>
    public override bool RequiresContiguousInput(int index) => true;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("axis", AttrKind.Int, -1L), new("epsilon", AttrKind.Float, 1e-5), new("stash_type", AttrKind.Int, 1L)];

    internal static int NormalizedRank(Node node, int rank)
    {
        long axis = node.GetInt("axis");
        long normalized = axis < 0 ? axis + rank : axis;
        if (normalized < 0 || normalized >= rank) throw new GraphValidationException($"{node}: axis {axis} is out of range for rank {rank}.", node.Name);
        return rank - (int)normalized;
    }

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        DType dtype = context.RequireSameFloat();
        TensorType x = context.Input(0);
        int r = NormalizedRank(context.Node, x.Rank);
        Dim[] trailing = x.Dims[^r..].ToArray();
        for (int i = 1; i < 3; i++)
        {
            if (!context.Input(i).Dims.SequenceEqual(trailing)) context.Fail($"input {i} is {context.Input(i).ShapeText} but the normalized dims are {new TensorType(dtype, trailing).ShapeText}");
        }

        var stats = new TensorType(dtype, [.. x.Dims[..^r].ToArray(), .. Enumerable.Repeat(Dim.Of(1), r)]);
        return [x, stats, stats];
    }

    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c)
    {
        int normalizedRank = NormalizedRank(c.Node, c.X(0).Rank);
        return NormLayout.Layer(normalizedRank).ForwardGradient(c, dy => c.Graph.Apply("NormGrad", [c.X(0), dy, c.X(1), c.Y(1), c.Y(2)], new Dictionary<string, object>
        {
            ["kind"] = 0L, ["normalized_rank"] = (long)normalizedRank,
        }));
    }

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context) => new NormLaunch(NormalizedRank(context.Node, context.InputShape(0).Length), context.Node.GetFloat("epsilon"),
        context.Input(0), context.Input(1), context.Input(2), context.Output(0), context.Output(1), context.Output(2));

    /// <inheritdoc/>
    /// <remarks>All three outputs are checked: Mean and InvStdDev have gradients too (second derivatives reach them through NormGrad).</remarks>
    public override GradCheckCase? GradCheckCase => new([[3, 2, 4], [2, 4], [2, 4]], -2, 2, Attributes: new() { ["axis"] = 1L },
        Build: (g, x) => g.Apply("LayerNormalization", x, new Dictionary<string, object> { ["axis"] = 1L }));

    private sealed class NormLaunch(int normalizedRank, double epsilon, TensorDesc* x, TensorDesc* scale, TensorDesc* bias, TensorDesc* y, TensorDesc* mean, TensorDesc* invstd) : KernelLaunch
    {
        public override void Launch(DeviceHandle device) =>
            NativeMethods.Check(NativeMethods.LayerNormForward(device, x, normalizedRank, scale, bias, epsilon, y, mean, invstd));
    }
}

/// <summary>ONNX GroupNormalization (opset 21, per-channel scale and bias); extra outputs hold the N x groups statistics.</summary>
public sealed unsafe class GroupNormalizationOp : OpDef
{
    /// <inheritdoc/>
    public override string Name => "GroupNormalization";

    /// <inheritdoc/>
    public override int SinceVersion => 21;

    /// <inheritdoc/>
    public override int MinInputs => 3;

    /// <inheritdoc/>
    public override bool RequiresContiguousInput(int index) => true;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("num_groups", AttrKind.Int), new("epsilon", AttrKind.Float, 1e-5)];

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        DType dtype = context.RequireSameFloat();
        TensorType x = context.Input(0);
        long groups = context.Node.GetInt("num_groups");
        if (x.Rank < 2) context.Fail($"x is {x.ShapeText}; it needs N x C");
        if (groups < 1 || (x[1].IsKnown && x[1].Value % groups != 0)) context.Fail($"num_groups {groups} does not divide the {x[1]} channels");
        for (int i = 1; i < 3; i++)
        {
            if (context.Input(i).Rank != 1 || context.Input(i)[0] != x[1]) context.Fail($"input {i} is {context.Input(i).ShapeText}; it must be {x[1]}");
        }

        var stats = new TensorType(dtype, x[0], groups);
        return [x, stats, stats];
    }

    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c)
    {
        long groups = c.Node.GetInt("num_groups");
        return NormLayout.Group(groups).ForwardGradient(c, dy => c.Graph.Apply("NormGrad", [c.X(0), dy, c.X(1), c.Y(1), c.Y(2)], new Dictionary<string, object>
        {
            ["kind"] = 1L, ["groups"] = groups,
        }));
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Before opset 21 (opset 18's GroupNormalization scales per group, not per channel), the definition: x reshaped
    /// to [N, groups, -1], normalized over the last axis with ReduceMean, reshaped back, then scale * x + bias per channel.
    /// </remarks>
    public override void ExportOnnx(OnnxExportContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.IsOutputUsed(1) || context.IsOutputUsed(2)) throw context.Unsupported("its mean or inverse standard deviation is read; ONNX's GroupNormalization gives neither");
        if (context.Opset >= SinceVersion)
        {
            context.Same();
            return;
        }

        TensorType type = context.Node.Inputs[0].Type;
        DType dtype = type.DType;
        long groups = context.Node.GetInt("num_groups");
        string grouped = context.Step("Reshape", context.Input(0), context.Int64s("grouped_shape", 0, groups, -1));
        string centered = context.Step("Sub", grouped, context.Reduce("ReduceMean", grouped, [2], keepDims: true));
        string variance = context.Reduce("ReduceMean", context.Step("Mul", centered, centered), [2], keepDims: true);
        string deviation = context.Step("Sqrt", context.Step("Add", variance, context.Scalar(context.Node.GetFloat("epsilon"), dtype, "epsilon")));
        string normalized = context.Step("Div", centered, deviation);
        // Back to x's shape: its known dims, 0 for the batch (the same axis of the grouped tensor), -1 for another symbolic dim.
        long[] shape = Enumerable.Range(0, type.Rank).Select(a => type[a].IsKnown ? type[a].Value : a == 0 ? 0L : -1L).ToArray();
        if (shape.Count(d => d == -1) > 1) throw context.Unsupported($"x is {type.ShapeText}; a constant ONNX shape can restore at most one symbolic dim after the batch");
        string restored = context.Step("Reshape", normalized, context.Int64s("shape", shape));
        string scale = context.Input(1), bias = context.Input(2);
        if (type.Rank > 2)
        {
            // Scale and bias [C] broadcast per channel as [C, 1, ..., 1].
            string axes = context.Int64s("spatial_axes", Enumerable.Range(1, type.Rank - 2).Select(a => (long)a).ToArray());
            scale = context.Step("Unsqueeze", scale, axes);
            bias = context.Step("Unsqueeze", bias, axes);
        }

        context.Final("Add", [context.Step("Mul", restored, scale), bias]);
    }

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context) => new NormLaunch(context.Node.GetInt("num_groups"), context.Node.GetFloat("epsilon"),
        context.Input(0), context.Input(1), context.Input(2), context.Output(0), context.Output(1), context.Output(2));

    /// <inheritdoc/>
    /// <remarks>All three outputs are checked, as for <see cref="LayerNormalizationOp"/>.</remarks>
    public override GradCheckCase? GradCheckCase => new([[2, 4, 3], [4], [4]], -2, 2, Attributes: new() { ["num_groups"] = 2L },
        Build: (g, x) => g.Apply("GroupNormalization", x, new Dictionary<string, object> { ["num_groups"] = 2L }));

    private sealed class NormLaunch(long groups, double epsilon, TensorDesc* x, TensorDesc* scale, TensorDesc* bias, TensorDesc* y, TensorDesc* mean, TensorDesc* invstd) : KernelLaunch
    {
        public override void Launch(DeviceHandle device) =>
            NativeMethods.Check(NativeMethods.GroupNormForward(device, x, groups, scale, bias, epsilon, y, mean, invstd));
    }
}

/// <summary>
/// Myelin's NormGrad(x, dy, scale, mean, invstd) → (dx, dscale, dbias) for layer norm (kind 0) or group norm (kind 1):
/// dx = invstd (g - mean(g) - xhat mean(g xhat)) with g = scale dy and xhat = (x - mean) invstd over each set, as a
/// function of all five inputs (mean and invstd are taken as given, so their gradients flow back to the forward node
/// that saved them).
/// </summary>
public sealed unsafe class NormGradOp : OpDef
{
    /// <inheritdoc/>
    public override string Name => "NormGrad";

    /// <inheritdoc/>
    public override string Domain => "ai.myelin";

    /// <inheritdoc/>
    public override int SinceVersion => 1;

    /// <inheritdoc/>
    public override int MinInputs => 5;

    /// <inheritdoc/>
    public override bool RequiresContiguousInput(int index) => true;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("kind", AttrKind.Int), new("normalized_rank", AttrKind.Int, 0L), new("groups", AttrKind.Int, 1L)];

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context) => [context.Input(0), context.Input(2), context.Input(2)];

    private static NormLayout Layout(Node node) =>
        node.GetInt("kind") == 0 ? NormLayout.Layer((int)node.GetInt("normalized_rank")) : NormLayout.Group(node.GetInt("groups"));

    /// <inheritdoc/>
    /// <remarks>The kernel's formula written with registered ops and differentiated by autodiff, so it is exact at every order.</remarks>
    public override Value?[] Gradient(GradientContext c) =>
        Gradients.OfExpression(c.Node.Inputs, v => Layout(c.Node).Backward(v[0], v[1], v[2], v[3], v[4]), c.OutputGradients);

    /// <inheritdoc/>
    /// <remarks>All five inputs are free (invstd of either sign is fine: the formula is a polynomial); one layer-norm and one group-norm node.</remarks>
    public override GradCheckCase? GradCheckCase => new([[3, 2, 4], [3, 2, 4], [2, 4], [3, 1, 1], [3, 1, 1], [2, 4, 3], [2, 4, 3], [4], [2, 2], [2, 2]], Build: (g, x) =>
    [
        .. g.Apply("NormGrad", x[..5], new Dictionary<string, object> { ["kind"] = 0L, ["normalized_rank"] = 2L }),
        .. g.Apply("NormGrad", x[5..], new Dictionary<string, object> { ["kind"] = 1L, ["groups"] = 2L }),
    ]);

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext c) => new NormLaunch(c.Node.GetInt("kind") == 0, (int)c.Node.GetInt("normalized_rank"), c.Node.GetInt("groups"),
        c.Input(0), c.Input(1), c.Input(2), c.Input(3), c.Input(4), c.Output(0), c.Output(1), c.Output(2));

    private sealed class NormLaunch(bool layer, int normalizedRank, long groups, TensorDesc* x, TensorDesc* dy, TensorDesc* scale, TensorDesc* mean, TensorDesc* invstd,
        TensorDesc* dx, TensorDesc* dscale, TensorDesc* dbias) : KernelLaunch
    {
        public override void Launch(DeviceHandle device) => NativeMethods.Check(layer
            ? NativeMethods.LayerNormBackward(device, x, dy, normalizedRank, scale, mean, invstd, dx, dscale, dbias)
            : NativeMethods.GroupNormBackward(device, x, dy, groups, scale, mean, invstd, dx, dscale, dbias));
    }
}

/// <summary>
/// ONNX BatchNormalization (opset 15) over N and space. With training_mode = 1 it normalizes by the batch statistics and
/// updates input_mean and input_var (parameters) in place, running = momentum * running + (1 - momentum) * batch; its
/// outputs are then Y and the saved mean and inverse standard deviation the backward reads (ONNX lists the running
/// statistics as outputs instead: an exporter maps them to the updated parameters). With training_mode = 0 it is the
/// affine map (x - mean) / sqrt(var + epsilon) * scale + bias, differentiable in all five inputs.
/// </summary>
public sealed unsafe class BatchNormalizationOp : OpDef
{
    /// <inheritdoc/>
    public override string Name => "BatchNormalization";

    /// <inheritdoc/>
    public override int SinceVersion => 15;

    /// <inheritdoc/>
    public override int MinInputs => 5;

    /// <inheritdoc/>
    public override bool RequiresContiguousInput(int index) => true;

    /// <inheritdoc/>
    public override bool IsDeterministic => false;

    /// <inheritdoc/>
    public override IReadOnlyList<int> MutatedInputs { get; } = [3, 4];

    /// <inheritdoc/>
    public override IReadOnlyList<int> MutatedInputsOf(Node node) => Training(node) ? MutatedInputs : [];

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } =
        [new("epsilon", AttrKind.Float, 1e-5), new("momentum", AttrKind.Float, 0.9), new("training_mode", AttrKind.Int, 0L)];

    private static bool Training(Node node) => node.GetInt("training_mode") != 0;

    /// <inheritdoc/>
    /// <remarks>
    /// In training mode with running statistics that are not parameters (an imported ONNX node on graph inputs, say),
    /// nothing can be updated in place: <see cref="BatchNormalizationBatchStatisticsOp"/> computes the new statistics as outputs.
    /// </remarks>
    public override OpDef? DefinitionFor(Value[] inputs, IReadOnlyDictionary<string, object> attributes)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(attributes);
        bool statisticsAreParameters = inputs.Length == 5 && inputs[3..].All(v => Scheduling.Scheduler.Root(v).Kind == ValueKind.Parameter);
        return (long)attributes["training_mode"] != 0 && inputs.Length == 5 && !statisticsAreParameters ? OpRegistry.Get("BatchNormalizationBatchStatistics") : null;
    }

    /// <inheritdoc/>
    /// <remarks>
    /// A training-mode node (all three outputs; its running statistics are parameters it updates, not checked inputs) and an
    /// inference-mode node on x, scale, bias, mean and exp(v) as the variance, which must be positive.
    /// </remarks>
    public override GradCheckCase? GradCheckCase => new([[2, 3, 2, 1], [3], [3], [3], [3]], -2, 2, Build: (g, x) =>
    [
        .. g.Apply("BatchNormalization", [x[0], x[1], x[2],
            g.Parameter(g.Fresh("mean"), Tensor.Zeros([3], x[0].DType).MoveToOuterScope()), g.Parameter(g.Fresh("var"), Tensor.Ones([3], x[0].DType).MoveToOuterScope())],
            new Dictionary<string, object> { ["training_mode"] = 1L }),
        g.Apply("BatchNormalization", [x[0], x[1], x[2], x[3], x[4].Exp()])[0],
    ]);

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        DType dtype = context.RequireSameFloat();
        TensorType x = context.Input(0);
        if (x.Rank < 2) context.Fail($"x is {x.ShapeText}; it needs N x C");
        for (int i = 1; i < 5; i++)
        {
            if (context.Input(i).Rank != 1 || context.Input(i)[0] != x[1]) context.Fail($"input {i} is {context.Input(i).ShapeText}; it must be {x[1]}");
        }

        if (!Training(context.Node)) return [x];
        for (int i = 3; i < 5; i++)
        {
            if (Scheduling.Scheduler.Root(context.Node.Inputs[i]).Kind != ValueKind.Parameter) context.Fail($"in training mode input {i} ('{context.Node.Inputs[i].Name}') must be a parameter: it is updated in place");
        }

        var stats = new TensorType(dtype, x[1]);
        return [x, stats, stats];
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Training mode: the fused BatchNormGrad, plus what reaches the saved statistics (second derivatives); the running
    /// statistics do not affect the outputs, so they get none. Inference mode: autodiff of the affine map.
    /// </remarks>
    public override Value?[] Gradient(GradientContext c)
    {
        double epsilon = c.Node.GetFloat("epsilon");
        if (!Training(c.Node))
        {
            return Gradients.OfExpression(c.Node.Inputs, v => [NormLayout.Batch.Normalize(v[0], v[1], v[2], v[3], v[4], epsilon)], c.OutputGradients);
        }

        Value?[] grads = NormLayout.Batch.ForwardGradient(c, dy => c.Graph.Apply("BatchNormGrad", [c.X(0), dy, c.X(1), c.Y(1), c.Y(2)]));
        return [.. grads, null, null];
    }

    /// <inheritdoc/>
    /// <remarks>A training-mode node updates statistics an inference model does not keep: it is refused, not silently switched to the running statistics.</remarks>
    public override void ExportOnnx(OnnxExportContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (Training(context.Node))
        {
            throw context.Unsupported("it is in training mode (batch statistics); build the graph to export with the network in eval mode (Module.Eval())");
        }

        context.Same();
    }

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext c) => Training(c.Node)
        ? new TrainingLaunch(c.Node.GetFloat("epsilon"), c.Node.GetFloat("momentum"), c.Input(0), c.Input(1), c.Input(2), c.Input(3), c.Input(4), c.Output(0), c.Output(1), c.Output(2))
        : new InferenceLaunch(c.Node.GetFloat("epsilon"), c.Input(0), c.Input(1), c.Input(2), c.Input(3), c.Input(4), c.Output(0));

    private sealed class TrainingLaunch(double epsilon, double momentum, TensorDesc* x, TensorDesc* scale, TensorDesc* bias, TensorDesc* mean, TensorDesc* variance,
        TensorDesc* y, TensorDesc* savedMean, TensorDesc* savedInvstd) : KernelLaunch
    {
        public override void Launch(DeviceHandle device) => NativeMethods.Check(
            NativeMethods.BatchNormForwardTraining(device, x, scale, bias, epsilon, momentum, mean, variance, y, savedMean, savedInvstd));
    }

    private sealed class InferenceLaunch(double epsilon, TensorDesc* x, TensorDesc* scale, TensorDesc* bias, TensorDesc* mean, TensorDesc* variance, TensorDesc* y) : KernelLaunch
    {
        public override void Launch(DeviceHandle device) => NativeMethods.Check(NativeMethods.BatchNormForwardInference(device, x, scale, bias, mean, variance, epsilon, y));
    }
}

/// <summary>
/// ONNX BatchNormalization in training mode (opset 14 on) as a pure function: y normalized with the batch mean and
/// (biased) variance per channel, and the new running statistics mean momentum + batch mean (1 - momentum) and
/// var momentum + batch variance (1 - momentum) as outputs. <see cref="BatchNormalizationOp"/> defers to it when the
/// running statistics are not parameters it could update in place.
/// </summary>
public sealed class BatchNormalizationBatchStatisticsOp : CompositeOp
{
    /// <inheritdoc/>
    public override string Name => "BatchNormalizationBatchStatistics";

    /// <inheritdoc/>
    public override string Domain => "ai.myelin";

    /// <inheritdoc/>
    public override int SinceVersion => 1;

    /// <inheritdoc/>
    public override int MinInputs => 5;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } =
        [new("epsilon", AttrKind.Float, 1e-5), new("momentum", AttrKind.Float, 0.9), new("training_mode", AttrKind.Int, 1L)];

    /// <inheritdoc/>
    public override Value[] Expand(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(attributes);
        ArgumentNullException.ThrowIfNull(context);
        context.RequireSameFloat();
        Value x = inputs[0];
        if (x.Rank < 2) context.Fail($"x is {x.Type.ShapeText}; it needs N x C");
        for (int i = 1; i < 5; i++)
        {
            if (inputs[i].Rank != 1 || inputs[i].Type[0] != x.Type[1]) context.Fail($"input {i} is {inputs[i].Type.ShapeText}; it must be [{x.Type[1]}]");
        }

        long[] axes = [0, .. Enumerable.Range(2, x.Rank - 2).Select(a => (long)a)];
        Value mean = x.Mean(axes, keepDims: true);
        Value centered = x - mean;
        Value batchMean = SquashChannels(mean);
        Value batchVariance = SquashChannels((centered * centered).Mean(axes, keepDims: true));
        double momentum = (double)attributes["momentum"];
        Value y = graph.Apply("BatchNormalization", [x, inputs[1], inputs[2], batchMean, batchVariance], new Dictionary<string, object> { ["epsilon"] = attributes["epsilon"] })[0];
        return [y, inputs[3] * momentum + batchMean * (1 - momentum), inputs[4] * momentum + batchVariance * (1 - momentum)];
    }

    private static Value SquashChannels(Value statistic) =>
        statistic.Graph.Apply("Reshape", [statistic, statistic.Graph.Constant(Tensor.FromArray(new long[] { -1 }).MoveToOuterScope())])[0];

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 3, 2, 1], [3], [3], [3], [3]], -2, 2, new() { ["momentum"] = 0.8 });
}

/// <summary>Myelin's BatchNormGrad(x, dy, scale, saved_mean, saved_invstd) → (dx, dscale, dbias): <see cref="NormGradOp"/>'s formula with one set per channel.</summary>
public sealed unsafe class BatchNormGradOp : OpDef
{
    /// <inheritdoc/>
    public override string Name => "BatchNormGrad";

    /// <inheritdoc/>
    public override string Domain => "ai.myelin";

    /// <inheritdoc/>
    public override int SinceVersion => 1;

    /// <inheritdoc/>
    public override int MinInputs => 5;

    /// <inheritdoc/>
    public override bool RequiresContiguousInput(int index) => true;

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context) => [context.Input(0), context.Input(2), context.Input(2)];

    /// <inheritdoc/>
    /// <remarks>As <see cref="NormGradOp"/>: the kernel's formula differentiated by autodiff.</remarks>
    public override Value?[] Gradient(GradientContext c) =>
        Gradients.OfExpression(c.Node.Inputs, v => NormLayout.Batch.Backward(v[0], v[1], v[2], v[3], v[4]), c.OutputGradients);

    /// <inheritdoc/>
    /// <remarks>All five inputs are free, as for <see cref="NormGradOp"/>.</remarks>
    public override GradCheckCase? GradCheckCase => new([[2, 3, 2, 1], [2, 3, 2, 1], [3], [3], [3]]);

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext c) => new GradLaunch(c.Input(0), c.Input(1), c.Input(2), c.Input(3), c.Input(4), c.Output(0), c.Output(1), c.Output(2));

    private sealed class GradLaunch(TensorDesc* x, TensorDesc* dy, TensorDesc* scale, TensorDesc* mean, TensorDesc* invstd, TensorDesc* dx, TensorDesc* dscale, TensorDesc* dbias) : KernelLaunch
    {
        public override void Launch(DeviceHandle device) => NativeMethods.Check(NativeMethods.BatchNormBackward(device, x, dy, scale, mean, invstd, dx, dscale, dbias));
    }
}

/// <summary>
/// How a normalization groups x, in registered ops, so each fused norm kernel has an equivalent expression for autodiff
/// to differentiate (its second derivatives). Two reshaped views of x: the statistics view, whose reduced axes hold one
/// set sharing a mean and invstd, and the channel view, where scale and bias broadcast and their gradients reduce.
/// Layer norm: both [rows, normalized elements]. Group norm: [N, groups, set] and [N, C, space]. Batch norm: both
/// [N, C, space], with the sets across N and space.
/// </summary>
internal sealed class NormLayout
{
    private enum NormKind { Layer, Group, Batch }

    private readonly NormKind _kind;
    private readonly long _parameter;

    private NormLayout(NormKind kind, long parameter)
    {
        _kind = kind;
        _parameter = parameter;
    }

    /// <summary>Layer norm over the trailing <paramref name="normalizedRank"/> axes.</summary>
    public static NormLayout Layer(int normalizedRank) => new(NormKind.Layer, normalizedRank);

    /// <summary>Group norm with <paramref name="groups"/> groups of channels.</summary>
    public static NormLayout Group(long groups) => new(NormKind.Group, groups);

    /// <summary>Batch norm (statistics per channel).</summary>
    public static NormLayout Batch { get; } = new(NormKind.Batch, 0);

    private long[] StatisticsAxes => _kind switch { NormKind.Layer => [1], NormKind.Group => [2], _ => [0, 2] };

    private long[] ParameterAxes => _kind == NormKind.Layer ? [0] : [0, 2];

    private Value ChannelView(Value x) => _kind == NormKind.Layer
        ? x.Graph.Apply("Flatten", [x], new Dictionary<string, object> { ["axis"] = (long)(x.Rank - _parameter) })[0]
        : Reshape(x, 0, 0, -1);

    private Value ParameterView(Value parameter) => _kind == NormKind.Layer ? Reshape(parameter, -1) : Reshape(parameter, -1, 1);

    private Value StatisticsView(Value x) => _kind == NormKind.Group ? Reshape(x, 0, _parameter, -1) : ChannelView(x);

    private Value StatisticView(Value statistic) => _kind == NormKind.Group ? Reshape(statistic, -1, _parameter, 1) : Reshape(statistic, -1, 1);

    private static Value Reshape(Value x, params long[] shape) =>
        x.Graph.Apply("Reshape", [x, x.Graph.Constant(Tensor.FromArray(shape).MoveToOuterScope())])[0];

    /// <summary><paramref name="x"/> with <paramref name="like"/>'s shape (no node when it already has it).</summary>
    private static Value As(Value x, Value like) =>
        x.Type.Dims.SequenceEqual(like.Type.Dims) ? x : x.Graph.Apply("ReshapeLike", [x, like])[0];

    /// <summary>The backward kernels' formula: dx, dscale and dbias from x, dy, scale and the saved mean and invstd.</summary>
    public Value[] Backward(Value x, Value dy, Value scale, Value mean, Value invstd)
    {
        Value dyChannels = ChannelView(dy);
        Value xs = StatisticsView(x);
        Value r = StatisticView(invstd);
        Value xhat = (xs - StatisticView(mean)) * r;
        Value g = As(dyChannels * ParameterView(scale), xs);
        long[] axes = StatisticsAxes;
        Value dx = r * (g - g.Mean(axes, keepDims: true) - xhat * (g * xhat).Mean(axes, keepDims: true));
        long[] parameterAxes = ParameterAxes;
        return
        [
            As(dx, x),
            As((dyChannels * As(xhat, dyChannels)).Sum(parameterAxes), scale),
            As(dyChannels.Sum(parameterAxes), scale),
        ];
    }

    /// <summary>The forward kernels' statistics of x (biased variance), shaped like the forward node's Mean and InvStdDev outputs.</summary>
    public Value[] Statistics(Value x, double epsilon, Value meanLike, Value invstdLike)
    {
        Value xs = StatisticsView(x);
        long[] axes = StatisticsAxes;
        Value mean = xs.Mean(axes, keepDims: true);
        Value variance = (xs - mean).Apply("Square").Mean(axes, keepDims: true);
        return [As(mean, meanLike), As((variance + epsilon).Sqrt().Apply("Reciprocal"), invstdLike)];
    }

    /// <summary>Batch norm with given statistics (inference mode): (x - mean) / sqrt(variance + epsilon) * scale + bias.</summary>
    public Value Normalize(Value x, Value scale, Value bias, Value mean, Value variance, double epsilon)
    {
        Value invstd = (ParameterView(variance) + epsilon).Sqrt().Apply("Reciprocal");
        return As((ChannelView(x) - ParameterView(mean)) * invstd * ParameterView(scale) + ParameterView(bias), x);
    }

    /// <summary>
    /// The gradient of a norm forward node (x, scale, bias, ...) → (y, mean, invstd): the fused backward
    /// <paramref name="fusedBackward"/>(dy) for y, plus, where gradients reach the saved statistics (as second derivatives
    /// do through the backward op), their derivative with respect to x. One entry per input among x, scale and bias.
    /// </summary>
    public Value?[] ForwardGradient(GradientContext c, Func<Value, Value[]> fusedBackward)
    {
        Value? dx = null, dscale = null, dbias = null;
        if (c.Dy(0) is { } dy)
        {
            Value[] grads = fusedBackward(dy);
            (dx, dscale, dbias) = (grads[0], grads[1], grads[2]);
        }

        if (c.Dy(1) is not null || c.Dy(2) is not null)
        {
            double epsilon = c.Node.GetFloat("epsilon");
            Value fromStatistics = Gradients.OfExpression([c.X(0)], v => Statistics(v[0], epsilon, c.Y(1), c.Y(2)), [c.Dy(1), c.Dy(2)])[0]!;
            dx = dx is null ? fromStatistics : dx + fromStatistics;
        }

        return [dx, dscale, dbias];
    }
}

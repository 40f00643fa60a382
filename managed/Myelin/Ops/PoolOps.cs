using Myelin.Graphs;
using Myelin.Native;

namespace Myelin.Ops;

/// <summary>
/// ONNX MaxPool / AveragePool (NCHW, 1 to 3 spatial axes), bound to <c>mln_pool_forward</c>. MaxPool has a third,
/// Myelin-only output: the workspace its gradient (PoolGrad) reads, each maximum's tap within its window (u8 for windows
/// of up to 255 taps, else i32), an eighth of the bytes of the i64 Indices.
/// </summary>
public abstract unsafe class PoolKernelOp(string name, PoolMode mode) : OpDef
{
    /// <inheritdoc/>
    public override string Name => name;

    /// <inheritdoc/>
    public override int SinceVersion => mode == PoolMode.Max ? 12 : 19;

    /// <inheritdoc/>
    public override int MinInputs => 1;

    /// <inheritdoc/>
    public override bool RequiresContiguousInput(int index) => true;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } =
    [
        new("kernel_shape", AttrKind.Ints), new("strides", AttrKind.Ints, Optional: true), new("pads", AttrKind.Ints, Optional: true),
        new("dilations", AttrKind.Ints, Optional: true), new("ceil_mode", AttrKind.Int, 0L), new("count_include_pad", AttrKind.Int, 0L),
        .. StorageOrderAttribute(mode),
    ];

    /// <inheritdoc/>
    /// <remarks>
    /// MaxPool has no count_include_pad; AveragePool before opset 19 has no dilations, so only unit dilations are
    /// written as its older form.
    /// </remarks>
    public override void ExportOnnx(OnnxExportContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (mode == PoolMode.Max)
        {
            if (context.IsOutputUsed(2)) throw context.Unsupported("its workspace is read; ONNX's MaxPool gives only Y and Indices");
            context.Same(context.AttributesWithout("count_include_pad"));
            return;
        }

        if (context.SameSince(SinceVersion)) return;

        if (context.Node.GetInts("dilations") is { } dilations && dilations.Any(d => d != 1))
        {
            throw context.Unsupported($"dilations [{string.Join(", ", dilations)}] need AveragePool from opset {SinceVersion}, after the exported opset {context.Opset}");
        }

        context.Same(context.AttributesWithout("dilations"));
    }

    // MaxPool's Indices may be column-major within each plane (storage_order 1).
    private static AttrSpec[] StorageOrderAttribute(PoolMode mode) => mode == PoolMode.Max ? [new("storage_order", AttrKind.Int, 0L)] : [];

    /// <summary>The native parameters of a pooling node (its attributes, or those copied onto its backward node).</summary>
    internal static PoolParams Parameters(Node node)
    {
        long[] kernel = node.GetInts("kernel_shape")!;
        int r = kernel.Length;
        if (r is < 1 or > 3) throw new GraphValidationException($"{node}: pooling needs 1 to 3 spatial axes, not {r}.", node.Name);
        long[] strides = node.GetInts("strides") ?? Enumerable.Repeat(1L, r).ToArray();
        long[] dilations = node.GetInts("dilations") ?? Enumerable.Repeat(1L, r).ToArray();
        long[] pads = node.GetInts("pads") ?? new long[2 * r];
        if (strides.Length != r || dilations.Length != r || pads.Length != 2 * r)
        {
            throw new GraphValidationException($"{node}: strides, dilations and pads must have {r}, {r} and {2 * r} entries.", node.Name);
        }

        if (kernel.Any(k => k < 1)) throw new GraphValidationException($"{node}: kernel_shape [{string.Join(", ", kernel)}] must be at least 1 on every axis.", node.Name);
        ConvFamilyOp.CheckWindow(node, strides, dilations, pads);
        long storageOrder = node.Attributes.TryGetValue("storage_order", out object? order) ? Convert.ToInt64(order) : 0;
        if (storageOrder is not (0 or 1)) throw new GraphValidationException($"{node}: storage_order is {storageOrder} but must be 0 (row-major) or 1 (column-major).", node.Name);
        var p = new PoolParams
        {
            SpatialRank = r, CeilMode = (int)node.GetInt("ceil_mode"), CountIncludePad = (int)node.GetInt("count_include_pad"), StorageOrder = (int)storageOrder,
        };
        for (int i = 0; i < r; i++)
        {
            p.Kernel[i] = kernel[i];
            p.Strides[i] = strides[i];
            p.Dilations[i] = dilations[i];
            p.PadsBegin[i] = pads[i];
            p.PadsEnd[i] = pads[r + i];
        }

        return p;
    }

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        context.RequireSameFloat();
        TensorType x = context.Input(0);
        PoolParams p = Parameters(context.Node);
        if (x.Rank != p.SpatialRank + 2) context.Fail($"x is {x.ShapeText} but kernel_shape has {p.SpatialRank} axes");
        var dims = x.ToArray();
        for (int i = 0; i < p.SpatialRank; i++)
        {
            Dim input = x[2 + i];
            if (!input.IsKnown) context.Fail($"spatial axis {i} must have a known size");
            // Checked: attributes and dims come from a model file and may be anything up to 2^63 - 1.
            long span = checked(p.Dilations[i] * (p.Kernel[i] - 1) + 1), padded = checked(input.Value + p.PadsBegin[i] + p.PadsEnd[i]);
            if (padded < span) context.Fail($"spatial axis {i}: padded size {padded} is smaller than the window {span}");
            long output = p.CeilMode != 0 ? checked(padded - span + p.Strides[i] - 1) / p.Strides[i] + 1 : (padded - span) / p.Strides[i] + 1;
            // A last window starting in the end padding is dropped (ceil mode), as ONNX and PyTorch do.
            if (p.CeilMode != 0 && (output - 1) * p.Strides[i] >= input.Value + p.PadsBegin[i]) output--;
            dims[2 + i] = output;
        }

        var y = new TensorType(x.DType, dims);
        return mode == PoolMode.Max ? [y, y.WithDType(DType.I64), y.WithDType(WorkspaceDType(p))] : [y];
    }

    /// <summary>The dtype of MaxPool's workspace: u8 where it holds every tap of the window and the empty window's 255.</summary>
    private static DType WorkspaceDType(PoolParams p)
    {
        long taps = 1;
        for (int i = 0; i < p.SpatialRank; i++) taps = checked(taps * p.Kernel[i]);
        return taps <= 255 ? DType.U8 : DType.I32;
    }

    /// <inheritdoc/>
    /// <remarks>Max: PoolGrad reads the workspace (its taps do not depend on storage_order).</remarks>
    public override Value?[] Gradient(GradientContext c)
    {
        var attributes = new Dictionary<string, object>(c.Node.Attributes) { ["mode"] = (long)mode };
        attributes.Remove("storage_order");
        Value[] inputs = mode == PoolMode.Max ? [c.Dy()!, c.Y(2), c.X(0)] : [c.Dy()!, c.X(0)];
        return [c.Graph.Apply("PoolGrad", inputs, attributes)[0]];
    }

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context)
    {
        PoolParams[] p = GC.AllocateArray<PoolParams>(1, pinned: true);
        p[0] = Parameters(context.Node);
        // Indices and workspace only where something reads them (a requested output; training's PoolGrad): writing
        // the i64 indices took a third of max pooling's time (ResNet-18's 3x3/2 at batch 32, Zen 5: 12.5 ms with,
        // 9.1 ms without). A plan reading both (Indices asked for in training) pools twice.
        bool max = mode == PoolMode.Max;
        return new PoolLaunch(mode, p, context.Input(0), context.Output(0), max && context.IsOutputRead(1) ? context.Output(1) : null,
            max && context.IsOutputRead(2) ? context.Output(2) : null);
    }

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[1, 2, 5, 5]], DistinctInputs: true, Attributes: new()
    {
        ["kernel_shape"] = new long[] { 3, 2 }, ["strides"] = new long[] { 2, 1 }, ["pads"] = new long[] { 1, 0, 1, 1 },
    });

    private sealed class PoolLaunch(PoolMode mode, PoolParams[] p, TensorDesc* x, TensorDesc* y, TensorDesc* indices, TensorDesc* workspace) : KernelLaunch
    {
        public override void Launch(DeviceHandle device)
        {
            fixed (PoolParams* parameters = p)
            {
                if (indices != null || workspace == null) NativeMethods.Check(NativeMethods.PoolForward(device, mode, parameters, x, y, indices));
                if (workspace != null) NativeMethods.Check(NativeMethods.PoolForward(device, mode, parameters, x, y, workspace));
            }
        }
    }
}

/// <summary>ONNX MaxPool; its second output is ONNX's Indices (row-major flat positions in x), its third the workspace.</summary>
public sealed class MaxPoolOp() : PoolKernelOp("MaxPool", PoolMode.Max);

/// <summary>ONNX AveragePool.</summary>
public sealed class AveragePoolOp() : PoolKernelOp("AveragePool", PoolMode.Average);

/// <summary>
/// Myelin's PoolGrad(dy, [indices,] x): the pooling backward (x gives the shape), <c>mln_pool_backward</c>. Max reads
/// MaxPool's i64 Indices or its workspace.
/// </summary>
public sealed unsafe class PoolGradOp : OpDef
{
    /// <inheritdoc/>
    public override string Name => "PoolGrad";

    /// <inheritdoc/>
    public override string Domain => "ai.myelin";

    /// <inheritdoc/>
    public override int SinceVersion => 1;

    /// <inheritdoc/>
    public override int MinInputs => 2;

    /// <inheritdoc/>
    public override bool RequiresContiguousInput(int index) => true;

    /// <inheritdoc/>
    public override int MaxInputs => 3;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } =
    [
        new("mode", AttrKind.Int), new("kernel_shape", AttrKind.Ints), new("strides", AttrKind.Ints, Optional: true), new("pads", AttrKind.Ints, Optional: true),
        new("dilations", AttrKind.Ints, Optional: true), new("ceil_mode", AttrKind.Int, 0L), new("count_include_pad", AttrKind.Int, 0L),
    ];

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context) => [context.Inputs[^1].WithDType(context.Input(0).DType)];

    /// <inheritdoc/>
    /// <remarks>
    /// dx is linear in dy, so the gradient with respect to dy is the adjoint applied to g. Average: average pooling of g
    /// with the same attributes (each window's divisor is the one the backward used). Max: the forward's selection,
    /// g gathered at each window's flat index in x, and 0 where the window held no element of x (index -1); from a
    /// workspace, the flat indices are those of the MaxPool that wrote it. x gives only the shape and the indices are
    /// integers, so neither gets a gradient.
    /// </remarks>
    public override Value?[] Gradient(GradientContext c)
    {
        Value g = c.Dy()!;
        var poolAttributes = c.Node.Attributes.Where(a => a.Key != "mode").ToDictionary(a => a.Key, a => a.Value);
        if ((PoolMode)c.Node.GetInt("mode") == PoolMode.Average)
        {
            return [c.Graph.Apply("AveragePool", [g], poolAttributes)[0], null];
        }

        Value indices = c.X(1);
        if (indices.DType != DType.I64)
        {
            if (indices.Producer is not { Op: MaxPoolOp } pool) throw new GraphValidationException($"{c.Node}: its workspace does not come from a MaxPool, so its second derivative has no flat indices.", c.Node.Name);
            // Row-major indices: those of the MaxPool, or of its row-major twin where it writes them column-major.
            indices = pool.Attributes.TryGetValue("storage_order", out object? order) && Convert.ToInt64(order) != 0
                ? c.Graph.Apply("MaxPool", [pool.Inputs[0]], pool.Attributes.Where(a => a.Key != "storage_order").ToDictionary())[1]
                : pool.Outputs[1];
        }

        Value flat = c.Graph.Apply("Reshape", [g, c.Graph.Constant(Tensor.FromArray(new long[] { -1 }).MoveToOuterScope())])[0];
        Value selected = c.Graph.Apply("Gather", [flat, indices], new Dictionary<string, object> { ["axis"] = 0L })[0];
        Value empty = c.Graph.Apply("Less", [indices, c.Graph.Scalar(0, indices.DType)])[0];
        return [c.Graph.Apply("Where", [empty, c.Graph.Scalar(0, g.DType), selected])[0], null, null];
    }

    /// <inheritdoc/>
    /// <remarks>
    /// dy is free; the indices come from MaxPool of the x input (distinct values, so they hold still under the finite
    /// differences, and x's gradient is 0 both ways). Three nodes: max and average mode on MaxPool's check (x [1, 2, 5, 5]
    /// gives dy [1, 2, 3, 5]), and a dilated 1-d max pool on x [1, 1, 2] whose middle window lies wholly in the padding.
    /// </remarks>
    public override GradCheckCase? GradCheckCase => new([[1, 2, 3, 5], [1, 2, 5, 5], [1, 1, 3], [1, 1, 2]], DistinctInputs: true, Build: (g, x) =>
    {
        var pool = new Dictionary<string, object> { ["kernel_shape"] = new long[] { 3, 2 }, ["strides"] = new long[] { 2, 1 }, ["pads"] = new long[] { 1, 0, 1, 1 } };
        var dilated = new Dictionary<string, object> { ["kernel_shape"] = new long[] { 2 }, ["dilations"] = new long[] { 3 }, ["pads"] = new long[] { 2, 2 } };
        Value[] Grad(Value dy, Value input, Dictionary<string, object> attributes, PoolMode mode, bool withIndices) =>
            g.Apply("PoolGrad", withIndices ? [dy, g.Apply("MaxPool", [input], attributes)[1], input] : [dy, input],
                new Dictionary<string, object>(attributes) { ["mode"] = (long)mode });
        return
        [
            .. Grad(x[0], x[1], pool, PoolMode.Max, true),
            .. Grad(x[0], x[1], pool, PoolMode.Average, false),
            .. Grad(x[2], x[3], dilated, PoolMode.Max, true),
        ];
    });

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context)
    {
        PoolParams[] p = GC.AllocateArray<PoolParams>(1, pinned: true);
        p[0] = PoolKernelOp.Parameters(context.Node);
        var mode = (PoolMode)context.Node.GetInt("mode");
        return new BackwardLaunch(mode, p, context.Input(0), mode == PoolMode.Max ? context.Input(1) : null, context.Output(0));
    }

    private sealed class BackwardLaunch(PoolMode mode, PoolParams[] p, TensorDesc* dy, TensorDesc* indices, TensorDesc* dx) : KernelLaunch
    {
        public override void Launch(DeviceHandle device)
        {
            fixed (PoolParams* parameters = p) NativeMethods.Check(NativeMethods.PoolBackward(device, mode, parameters, dy, indices, dx));
        }
    }
}

/// <summary>ONNX GlobalAveragePool / GlobalMaxPool: the mean or max over every spatial axis, kept with size 1.</summary>
public abstract class GlobalPoolOp(string name, string reduction) : CompositeOp
{
    /// <inheritdoc/>
    public override string Name => name;

    /// <inheritdoc/>
    public override int SinceVersion => 1;

    /// <inheritdoc/>
    public override int MinInputs => 1;

    /// <inheritdoc/>
    public override Value[] Expand(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        if (inputs[0].Rank < 3) context.Fail($"x is {inputs[0].Type.ShapeText}; it needs N x C and at least one spatial axis");
        long[] axes = Enumerable.Range(2, inputs[0].Rank - 2).Select(a => (long)a).ToArray();
        return graph.Apply(reduction, inputs, new Dictionary<string, object> { ["axes"] = axes, ["keepdims"] = 1L });
    }

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 3, 2, 2]], DistinctInputs: true);
}

#pragma warning disable CS1591
public sealed class GlobalAveragePoolOp() : GlobalPoolOp("GlobalAveragePool", "ReduceMean");
public sealed class GlobalMaxPoolOp() : GlobalPoolOp("GlobalMaxPool", "ReduceMax");
#pragma warning restore CS1591

/// <summary>
/// ONNX MaxUnpool: zeros of the unpooled shape, (in - 1) stride - pads + kernel per spatial axis, with each X value at
/// its index I (MaxPool's indices into the whole tensor, flattened): ScatterElements of the flattened X into flattened
/// zeros. Given output_shape (a constant), pads are ignored and the result is padded with zeros at the end of each
/// axis to that shape, as the ONNX reference and test data do (onnx/onnx#2398; ONNX Runtime indexes the larger shape instead).
/// </summary>
public sealed class MaxUnpoolOp : CompositeOp
{
    /// <inheritdoc/>
    public override string Name => "MaxUnpool";

    /// <inheritdoc/>
    public override int SinceVersion => 9;

    /// <inheritdoc/>
    public override int MinInputs => 2;

    /// <inheritdoc/>
    public override int MaxInputs => 3;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } =
        [new("kernel_shape", AttrKind.Ints), new("pads", AttrKind.Ints, Optional: true), new("strides", AttrKind.Ints, Optional: true)];

    /// <inheritdoc/>
    public override Value[] Expand(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(attributes);
        ArgumentNullException.ThrowIfNull(context);
        Value x = inputs[0], indices = inputs[1];
        if (!x.DType.IsFloatingPoint()) context.Fail($"x is {x.Type}; the op needs floating point");
        if (x.Rank < 3) context.Fail($"x is {x.Type.ShapeText}; it needs N x C and at least one spatial axis");
        if (indices.DType != DType.I64 || !indices.Type.Dims.SequenceEqual(x.Type.Dims)) context.Fail($"I is {indices.Type}; it must be i64 of x's shape {x.Type.ShapeText}");
        long[] dims = SpatialComposite.KnownDims(context, x.Type, 0);
        int r = x.Rank - 2;
        long[] kernel = (long[])attributes["kernel_shape"];
        long[] strides = attributes.TryGetValue("strides", out object? s) ? (long[])s : [.. Enumerable.Repeat(1L, r)];
        long[] pads = attributes.TryGetValue("pads", out object? p) ? (long[])p : new long[2 * r];
        if (kernel.Length != r || strides.Length != r || pads.Length != 2 * r)
        {
            context.Fail($"kernel_shape, strides and pads have {kernel.Length}, {strides.Length} and {pads.Length} entries; x of rank {x.Rank} needs {r}, {r} and {2 * r}");
        }

        if (kernel.Any(k => k < 1) || strides.Any(k => k < 1) || pads.Any(k => k < 0)) context.Fail("kernel_shape and strides must be positive and pads not negative");
        long[]? given = null;
        if (inputs.Length == 3)
        {
            if (inputs[2] is not { Kind: ValueKind.Constant, DType: DType.I64, Rank: 1 }) context.Fail("output_shape must be a constant 1-d i64 tensor");
            given = inputs[2].Data!.ToArray<long>();
            pads = new long[2 * r];
        }

        long[] inferred = [dims[0], dims[1], .. Enumerable.Range(0, r).Select(i => (dims[2 + i] - 1) * strides[i] - pads[i] - pads[r + i] + kernel[i])];
        if (inferred.Skip(2).Any(d => d < 1)) context.Fail($"the output shape [{string.Join(", ", inferred)}] has an empty spatial axis");
        if (given is not null && (given.Length != x.Rank || given.Where((d, i) => d < inferred[i] || (i < 2 && d != inferred[i])).Any()))
        {
            context.Fail($"output_shape [{string.Join(", ", given)}] must have rank {x.Rank}, x's N and C, and spatial sizes at least the unpooled [{string.Join(", ", inferred.Skip(2))}]");
        }

        long total = inferred.Aggregate(1L, (a, d) => a * d);
        Value zeros = graph.Constant(Tensor.Zeros([total], x.DType).MoveToOuterScope());
        Value scattered = graph.Apply("ScatterElements", [zeros, SpatialComposite.Reshape(graph, indices, -1), SpatialComposite.Reshape(graph, x, -1)])[0];
        Value unpooled = SpatialComposite.Reshape(graph, scattered, inferred);
        if (given is null || given.SequenceEqual(inferred)) return [unpooled];
        long[] padding = [.. new long[x.Rank], .. given.Select((d, i) => d - inferred[i])];
        return graph.Apply("Pad", [unpooled, graph.Constant(Tensor.FromArray(padding, padding.Length).MoveToOuterScope())]);
    }

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[1, 2, 2, 2]], Build: (g, x) =>
        g.Apply("MaxUnpool", [x[0], g.Constant(Tensor.FromArray(new long[] { 0, 3, 10, 14, 16, 21, 27, 30 }, new Shape(1, 2, 2, 2)).MoveToOuterScope())],
            new Dictionary<string, object> { ["kernel_shape"] = new long[] { 2, 2 }, ["strides"] = new long[] { 2, 2 } }));
}

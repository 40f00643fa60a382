using Myelin.Graphs;
using Myelin.Native;

namespace Myelin.Ops;

/// <summary>The ONNX <c>reduction</c> attribute of the scatter ops as the native enum.</summary>
internal static class ScatterReductions
{
    /// <summary>The reduction a scatter node asks for ("none" when the op has no such attribute).</summary>
    public static ScatterReduction Of(Node node) =>
        (node.Attributes.TryGetValue("reduction", out object? value) ? (string)value : "none") switch
        {
            "none" => ScatterReduction.None,
            "add" => ScatterReduction.Add,
            "mul" => ScatterReduction.Mul,
            "max" => ScatterReduction.Max,
            "min" => ScatterReduction.Min,
            string other => throw new GraphValidationException($"{node}: reduction \"{other}\" is not none, add, mul, max or min.", node.Name),
        };

    /// <summary>Fails unless indices are i32 or i64.</summary>
    public static void RequireIndices(InferContext context, TensorType indices)
    {
        if (indices.DType is not (DType.I64 or DType.I32)) context.Fail($"indices are {indices.DType.ShortName()}; they must be i32 or i64");
    }

    /// <summary>A constant of zeros of <paramref name="like"/>'s (concrete) type: the gradient of values a scatter overwrites.</summary>
    public static Value Zeros(Graph graph, Value like, Node node)
    {
        if (!like.Type.IsConcrete) throw new GraphValidationException($"{node}: the gradient needs a concrete shape but input '{like.Name}' is {like.Type.ShapeText}.", node.Name);
        return graph.Constant(Tensor.Zeros(like.Type.ToShape(), like.DType).MoveToOuterScope());
    }

    /// <summary>The gradients (data, indices, updates) of a scatter: overwritten data gets none, added data all of dy; each update its target's dy.</summary>
    public static Value?[] Gradient(GradientContext c, string scatter, string gather, Dictionary<string, object> gatherAttributes)
    {
        ScatterReduction reduction = Of(c.Node);
        Value dy = c.Dy()!;
        Value dUpdates = c.Op(gather, [dy, c.X(1)], gatherAttributes);
        return reduction switch
        {
            // With repeated indices only the last update lands; each still receives its target's gradient.
            ScatterReduction.None => [c.Op(scatter, [dy, c.X(1), Zeros(c.Graph, c.X(2), c.Node)], new Dictionary<string, object>(c.Node.Attributes)), null, dUpdates],
            ScatterReduction.Add => [dy, null, dUpdates],
            _ => throw new GraphValidationException($"{c.Node}: only reductions none and add have a gradient.", c.Node.Name),
        };
    }
}

/// <summary>
/// ONNX GatherElements (opset 11 onwards, one semantics): y[i] = data[i with i[axis] replaced by indices[i]]; y has
/// indices' shape, which has data's rank and is no larger off the axis. Bound to <c>mln_gather_elements</c>; its
/// gradient scatter-adds.
/// </summary>
public sealed unsafe class GatherElementsOp : OpDef
{
    /// <inheritdoc/>
    public override string Name => "GatherElements";

    /// <inheritdoc/>
    public override int MinInputs => 2;

    /// <inheritdoc/>
    public override bool RequiresContiguousInput(int index) => true;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("axis", AttrKind.Int, 0L)];

    /// <summary>Checks (data, indices) of a GatherElements-shaped access; returns the non-negative axis.</summary>
    internal static int CheckShapes(InferContext context, TensorType data, TensorType indices, long axisAttribute)
    {
        ScatterReductions.RequireIndices(context, indices);
        if (indices.Rank != data.Rank) context.Fail($"indices {indices.ShapeText} must have the data's rank {data.Rank} ({data.ShapeText})");
        int axis = context.Axis(axisAttribute, data.Rank);
        for (int d = 0; d < data.Rank; d++)
        {
            if (d != axis && data[d].IsKnown && indices[d].IsKnown && indices[d].Value > data[d].Value)
            {
                context.Fail($"indices {indices.ShapeText} exceed the data {data.ShapeText} on axis {d}");
            }
        }

        return axis;
    }

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        CheckShapes(context, context.Input(0), context.Input(1), context.Node.GetInt("axis"));
        return [context.Input(1).WithDType(context.Input(0).DType)];
    }

    internal static int Axis(Node node, int rank) => (int)(node.GetInt("axis") < 0 ? node.GetInt("axis") + rank : node.GetInt("axis"));

    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c) =>
        [c.Op("GatherElementsGrad", [c.Dy()!, c.X(1), c.X(0)], new Dictionary<string, object> { ["axis"] = (long)Axis(c.Node, c.X(0).Rank) }), null];

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context) =>
        new GatherElementsLaunch(Axis(context.Node, context.InputShape(0).Length), context.Input(0), context.Input(1), context.Output(0));

    /// <inheritdoc/>
    /// <remarks>Index 3 repeats and -1 counts from the end, so the gradient must add.</remarks>
    public override GradCheckCase? GradCheckCase => new([[3, 4]], Build: (g, x) =>
        [g.Apply("GatherElements", [x[0], g.Constant(Tensor.FromArray(new long[] { 3, 0, 3, 1, -1, 2 }, [2, 3]).MoveToOuterScope())],
            new Dictionary<string, object> { ["axis"] = 1L })[0]]);

    private sealed class GatherElementsLaunch(int axis, TensorDesc* x, TensorDesc* indices, TensorDesc* y) : KernelLaunch
    {
        public override void Launch(DeviceHandle device) => NativeMethods.Check(NativeMethods.GatherElements(device, x, axis, indices, y));
    }
}

/// <summary>Myelin's GatherElementsGrad(dy, indices, x): zeros shaped like x with dy scatter-added at the indices.</summary>
public sealed unsafe class GatherElementsGradOp() : ScatterAddGradOp("GatherElementsGrad", "GatherElements", "axis")
{
    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        GatherElementsOp.CheckShapes(context, context.Input(2), context.Input(1), context.Node.GetInt("axis"));
        if (!context.Input(0).Dims.SequenceEqual(context.Input(1).Dims)) context.Fail($"dy {context.Input(0).ShapeText} and indices {context.Input(1).ShapeText} differ");
        return [context.Input(2).WithDType(context.Input(0).DType)];
    }

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 3], [3, 4]], Build: (g, x) =>
        [g.Apply("GatherElementsGrad", [x[0], g.Constant(Tensor.FromArray(new long[] { 3, 0, 3, 1, -1, 2 }, [2, 3]).MoveToOuterScope()), x[1]],
            new Dictionary<string, object> { ["axis"] = 1L })[0]]);

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context) =>
        new SequenceLaunch(new FillLaunch(context.Output(0), 0),
            new ScatterElementsLaunch(ScatterReduction.Add, GatherElementsOp.Axis(context.Node, context.OutputShape(0).Length), context.Input(0), context.Input(1), context.Output(0)));
}

/// <summary>mln_scatter_elements on y in place.</summary>
internal sealed unsafe class ScatterElementsLaunch(ScatterReduction reduction, int axis, TensorDesc* updates, TensorDesc* indices, TensorDesc* y) : KernelLaunch
{
    public override void Launch(DeviceHandle device) => NativeMethods.Check(NativeMethods.ScatterElements(device, reduction, updates, axis, indices, y));
}

/// <summary>
/// ONNX ScatterElements (data, indices, updates): a copy of data with each update written (or combined, by the
/// <c>reduction</c> none/add/mul/max/min of opsets 16 and 18) at its position with the axis coordinate replaced by
/// its index. Opset 11's form is the same op without reduction, which the default reproduces.
/// </summary>
public unsafe class ScatterElementsOp : OpDef
{
    /// <inheritdoc/>
    public override string Name => "ScatterElements";

    /// <inheritdoc/>
    public override int SinceVersion => 11;

    /// <inheritdoc/>
    public override int MinInputs => 3;

    /// <inheritdoc/>
    public override bool RequiresContiguousInput(int index) => true;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("axis", AttrKind.Int, 0L), new("reduction", AttrKind.String, "none")];

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        TensorType data = context.Input(0), indices = context.Input(1), updates = context.Input(2);
        GatherElementsOp.CheckShapes(context, data, indices, context.Node.GetInt("axis"));
        if (!updates.Dims.SequenceEqual(indices.Dims)) context.Fail($"updates {updates.ShapeText} and indices {indices.ShapeText} differ");
        if (updates.DType != data.DType) context.Fail($"updates are {updates.DType.ShortName()} but the data is {data.DType.ShortName()}");
        ScatterReductions.Of(context.Node);
        return [data];
    }

    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c) =>
        ScatterReductions.Gradient(c, Name, "GatherElements", new Dictionary<string, object> { ["axis"] = c.Node.GetInt("axis") });

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context) =>
        new SequenceLaunch(new CopyLaunch(context.Input(0), context.Output(0)),
            new ScatterElementsLaunch(ScatterReductions.Of(context.Node), GatherElementsOp.Axis(context.Node, context.InputShape(0).Length), context.Input(2), context.Input(1), context.Output(0)));

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[3, 4], [2, 3]], Build: (g, x) =>
        [g.Apply(Name, [x[0], g.Constant(Tensor.FromArray(new long[] { 3, 0, 2, 1, -1, 2 }, [2, 3]).MoveToOuterScope()), x[1]],
            new Dictionary<string, object> { ["axis"] = 1L })[0]]);
}

/// <summary>ONNX Scatter (opsets 9 and 10, deprecated by ScatterElements, which it equals without a reduction).</summary>
public sealed class ScatterOp : ScatterElementsOp
{
    /// <inheritdoc/>
    public override string Name => "Scatter";

    /// <inheritdoc/>
    public override int SinceVersion => 9;

    /// <inheritdoc/>
    public override int? UntilVersion => 10;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("axis", AttrKind.Int, 0L)];
}

/// <summary>
/// ONNX GatherND (opset 12: batch_dims; opset 11 is the same op with batch_dims 0): indices' last dimension holds
/// k-tuples addressing data after its first batch_dims dimensions; y is indices.shape[:-1] + data.shape[batch_dims + k:].
/// Bound to <c>mln_gather_nd</c>; its gradient scatter-adds.
/// </summary>
public sealed unsafe class GatherNDOp : OpDef
{
    /// <inheritdoc/>
    public override string Name => "GatherND";

    /// <inheritdoc/>
    public override int SinceVersion => 12;

    /// <inheritdoc/>
    public override int MinInputs => 2;

    /// <inheritdoc/>
    public override bool RequiresContiguousInput(int index) => true;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("batch_dims", AttrKind.Int, 0L)];

    /// <summary>The shape GatherND gives for (data, indices, batch_dims); fails naming the problem.</summary>
    internal static Dim[] RowsDims(InferContext context, TensorType data, TensorType indices, long batchDims)
    {
        ScatterReductions.RequireIndices(context, indices);
        if (indices.Rank < 1) context.Fail("indices must have rank >= 1 (their last dimension holds the index tuples)");
        if (batchDims < 0 || batchDims >= Math.Min(indices.Rank, data.Rank)) context.Fail($"batch_dims {batchDims} must be at least 0 and less than the ranks of data ({data.Rank}) and indices ({indices.Rank})");
        Dim last = indices[indices.Rank - 1];
        if (!last.IsKnown) context.Fail($"the last dimension of indices {indices.ShapeText} must be known");
        long depth = last.Value;
        if (depth < 1 || batchDims + depth > data.Rank) context.Fail($"indices {indices.ShapeText} hold tuples of {depth} but data {data.ShapeText} has {data.Rank - batchDims} dimensions after {batchDims} batch dimensions");
        for (int d = 0; d < batchDims; d++)
        {
            if (data[d] != indices[d]) context.Fail($"data {data.ShapeText} and indices {indices.ShapeText} differ on batch dimension {d}");
        }

        return [.. indices.Dims[..^1].ToArray(), .. data.Dims[(int)(batchDims + depth)..].ToArray()];
    }

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context) =>
        [new TensorType(context.Input(0).DType, RowsDims(context, context.Input(0), context.Input(1), context.Node.GetInt("batch_dims")))];

    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c) =>
        [c.Op("GatherNDGrad", [c.Dy()!, c.X(1), c.X(0)], new Dictionary<string, object> { ["batch_dims"] = c.Node.GetInt("batch_dims") }), null];

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context) =>
        new GatherNdLaunch((int)context.Node.GetInt("batch_dims"), context.Input(0), context.Input(1), context.Output(0));

    /// <inheritdoc/>
    /// <remarks>Batch 0 reads row 2 twice, so the gradient must add.</remarks>
    public override GradCheckCase? GradCheckCase => new([[2, 3, 4]], Build: (g, x) =>
        [g.Apply("GatherND", [x[0], g.Constant(Tensor.FromArray(new long[] { 2, -1, 0, 1, 1, 2 }, [2, 3, 1]).MoveToOuterScope())],
            new Dictionary<string, object> { ["batch_dims"] = 1L })[0]]);

    private sealed class GatherNdLaunch(int batchDims, TensorDesc* x, TensorDesc* indices, TensorDesc* y) : KernelLaunch
    {
        public override void Launch(DeviceHandle device) => NativeMethods.Check(NativeMethods.GatherNd(device, x, batchDims, indices, y));
    }
}

/// <summary>Myelin's GatherNDGrad(dy, indices, x): zeros shaped like x with dy scatter-added at the addressed slices.</summary>
public sealed unsafe class GatherNDGradOp() : ScatterAddGradOp("GatherNDGrad", "GatherND", "batch_dims")
{
    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        Dim[] rows = GatherNDOp.RowsDims(context, context.Input(2), context.Input(1), context.Node.GetInt("batch_dims"));
        if (!context.Input(0).Dims.SequenceEqual(rows)) context.Fail($"dy is {context.Input(0).ShapeText} but the gather gives {new TensorType(DType.F32, rows).ShapeText}");
        return [context.Input(2).WithDType(context.Input(0).DType)];
    }

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 3, 4], [2, 3, 4]], Build: (g, x) =>
        [g.Apply("GatherNDGrad", [x[0], g.Constant(Tensor.FromArray(new long[] { 2, -1, 0, 1, 1, 2 }, [2, 3, 1]).MoveToOuterScope()), x[1]],
            new Dictionary<string, object> { ["batch_dims"] = 1L })[0]]);

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context) =>
        new SequenceLaunch(new FillLaunch(context.Output(0), 0),
            new ScatterNdLaunch(ScatterReduction.Add, (int)context.Node.GetInt("batch_dims"), context.Input(0), context.Input(1), context.Output(0)));
}

/// <summary>mln_scatter_nd on y in place.</summary>
internal sealed unsafe class ScatterNdLaunch(ScatterReduction reduction, int batchDims, TensorDesc* updates, TensorDesc* indices, TensorDesc* y) : KernelLaunch
{
    public override void Launch(DeviceHandle device) => NativeMethods.Check(NativeMethods.ScatterNd(device, reduction, updates, batchDims, indices, y));
}

/// <summary>
/// ONNX ScatterND (data, indices, updates): a copy of data with the slice addressed by each index tuple replaced by
/// (or combined, by the <c>reduction</c> of opsets 16 and 18, with) the matching slice of updates, whose shape is
/// indices.shape[:-1] + data.shape[k:]. Opset 11's form is the same op without reduction.
/// </summary>
public sealed unsafe class ScatterNDOp : OpDef
{
    /// <inheritdoc/>
    public override string Name => "ScatterND";

    /// <inheritdoc/>
    public override int SinceVersion => 11;

    /// <inheritdoc/>
    public override int MinInputs => 3;

    /// <inheritdoc/>
    public override bool RequiresContiguousInput(int index) => true;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("reduction", AttrKind.String, "none")];

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        TensorType data = context.Input(0), updates = context.Input(2);
        Dim[] expected = GatherNDOp.RowsDims(context, data, context.Input(1), 0);
        if (!updates.Dims.SequenceEqual(expected)) context.Fail($"updates are {updates.ShapeText} but indices {context.Input(1).ShapeText} address slices {new TensorType(data.DType, expected).ShapeText} of the data {data.ShapeText}");
        if (updates.DType != data.DType) context.Fail($"updates are {updates.DType.ShortName()} but the data is {data.DType.ShortName()}");
        ScatterReductions.Of(context.Node);
        return [data];
    }

    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c) => ScatterReductions.Gradient(c, Name, "GatherND", []);

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context) =>
        new SequenceLaunch(new CopyLaunch(context.Input(0), context.Output(0)),
            new ScatterNdLaunch(ScatterReductions.Of(context.Node), 0, context.Input(2), context.Input(1), context.Output(0)));

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[3, 4], [2, 4]], Build: (g, x) =>
        [g.Apply("ScatterND", [x[0], g.Constant(Tensor.FromArray(new long[] { 2, 0 }, [2, 1]).MoveToOuterScope()), x[1]])[0]]);
}

/// <summary>
/// ONNX Trilu (opset 14): x with the elements on one side of diagonal k of its last two dimensions set to 0; upper = 1
/// keeps j - i &gt;= k, upper = 0 keeps j - i &lt;= k. The optional k is a constant 0-d (or one-element) i64 input.
/// </summary>
public sealed unsafe class TriluOp : OpDef
{
    /// <inheritdoc/>
    public override string Name => "Trilu";

    /// <inheritdoc/>
    public override int SinceVersion => 14;

    /// <inheritdoc/>
    public override int MinInputs => 1;

    /// <inheritdoc/>
    public override int MaxInputs => 2;

    /// <inheritdoc/>
    public override bool RequiresContiguousInput(int index) => true;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("upper", AttrKind.Int, 1L)];

    private static long Diagonal(Node node)
    {
        if (node.Inputs.Length < 2) return 0;
        Value k = node.Inputs[1];
        if (k.Kind != ValueKind.Constant || k.DType != DType.I64 || k.Data!.ElementCount != 1)
        {
            throw new GraphValidationException($"{node}: k must be a constant i64 tensor of one element.", node.Name);
        }

        return k.Data.ToArray<long>()[0];
    }

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        if (context.Input(0).Rank < 2) context.Fail($"input {context.Input(0).ShapeText} must have rank >= 2");
        Diagonal(context.Node);
        return [context.Input(0)];
    }

    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c) =>
        [c.Op("Trilu", [c.Dy()!, .. c.Node.Inputs[1..]], new Dictionary<string, object>(c.Node.Attributes)), .. new Value?[c.Node.Inputs.Length - 1]];

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context) =>
        new TriluLaunch(context.Node.GetInt("upper") != 0 ? 1 : 0, Diagonal(context.Node), context.Input(0), context.Output(0));

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 3, 4]], Build: (g, x) =>
        [g.Apply("Trilu", [x[0], g.Constant(Tensor.Scalar(1L).MoveToOuterScope())], new Dictionary<string, object> { ["upper"] = 0L })[0]]);

    private sealed class TriluLaunch(int upper, long k, TensorDesc* x, TensorDesc* y) : KernelLaunch
    {
        public override void Launch(DeviceHandle device) => NativeMethods.Check(NativeMethods.Trilu(device, upper, k, x, y));
    }
}

/// <summary>
/// ONNX ReverseSequence: along time_axis, the first sequence_lens[b] elements of each batch entry b are reversed and
/// the rest kept. Expanded as GatherElements along the time axis with indices Where(t &lt; len, len - 1 - t, t), built
/// from the lengths at run time (x's dims must be known).
/// </summary>
public sealed class ReverseSequenceOp : CompositeOp
{
    /// <inheritdoc/>
    public override string Name => "ReverseSequence";

    /// <inheritdoc/>
    public override int SinceVersion => 10;

    /// <inheritdoc/>
    public override int MinInputs => 2;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("batch_axis", AttrKind.Int, 1L), new("time_axis", AttrKind.Int, 0L)];

    /// <inheritdoc/>
    public override Value[] Expand(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(attributes);
        ArgumentNullException.ThrowIfNull(context);
        Value x = inputs[0], lengths = inputs[1];
        if (x.Rank < 2) context.Fail($"x is {x.Type.ShapeText}; it needs at least a batch and a time axis");
        long batchAxis = (long)attributes["batch_axis"], timeAxis = (long)attributes["time_axis"];
        if (batchAxis is not (0 or 1) || timeAxis is not (0 or 1) || batchAxis == timeAxis)
        {
            context.Fail($"batch_axis ({batchAxis}) and time_axis ({timeAxis}) must be 0 and 1, one each");
        }

        long[] dims = SpatialComposite.KnownDims(context, x.Type, 0);
        if (lengths.DType != DType.I64 || lengths.Rank != 1 || lengths.Type[0] != Dim.Of(dims[batchAxis]))
        {
            context.Fail($"sequence_lens is {lengths.Type}; it must be i64 of the batch size [{dims[batchAxis]}]");
        }

        long[] timeShape = [.. dims.Select((_, axis) => axis == timeAxis ? dims[axis] : 1L)];
        long[] batchShape = [.. dims.Select((_, axis) => axis == batchAxis ? dims[axis] : 1L)];
        long[] steps = [.. Enumerable.Range(0, (int)dims[timeAxis]).Select(t => (long)t)];
        Value time = graph.Constant(Tensor.FromArray(steps, new Shape(timeShape)).MoveToOuterScope());
        Value length = SpatialComposite.Reshape(graph, lengths, batchShape);
        Value index = graph.Apply("Where", [time.Apply("Less", length), length - 1 - time, time])[0];
        Value full = graph.Apply("Expand", [index, graph.Constant(Tensor.FromArray(dims, dims.Length).MoveToOuterScope())])[0];
        return graph.Apply("GatherElements", [x, full], new Dictionary<string, object> { ["axis"] = timeAxis });
    }

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[3, 4, 2]], Build: (g, x) =>
        g.Apply("ReverseSequence", [x[0], g.Constant(Tensor.FromArray(new long[] { 4, 1, 3 }, 3).MoveToOuterScope())], new Dictionary<string, object> { ["batch_axis"] = 0L, ["time_axis"] = 1L }));
}

using Myelin.Graphs;
using Myelin.Native;

namespace Myelin.Ops;

/// <summary>Helpers of the ops that work along one axis (ArgMax, ArgMin, TopK, CumSum, Hardmax).</summary>
internal static class AxisOps
{
    /// <summary>The dtypes the native axis calls take (those of ReduceMax).</summary>
    public static void RequireAxisDType(InferContext context, TensorType x)
    {
        if (x.DType is not (DType.F32 or DType.F64 or DType.I32 or DType.I64)) context.Fail($"input 0 is {x.DType.ShortName()}; the op takes f32, f64, i32 or i64");
    }

    /// <summary>The node's <c>axis</c> attribute normalized against <paramref name="rank"/> (already checked by inference).</summary>
    public static int Axis(Node node, int rank) => (int)(node.GetInt("axis") < 0 ? node.GetInt("axis") + rank : node.GetInt("axis"));

    /// <summary>
    /// The positions 0 .. size-1 along <paramref name="axis"/> of a rank-<paramref name="rank"/> tensor as an i64 constant
    /// of shape [size, 1, ...] that broadcasts against it; fails when that size is symbolic.
    /// </summary>
    public static Value Positions(Graph graph, Node node, Dim size, int axis, int rank)
    {
        if (!size.IsKnown) throw new GraphValidationException($"{node}: axis {axis} has symbolic size {size}; the op needs it known.", node.Name);
        long[] shape = [size.Value, .. Enumerable.Repeat(1L, rank - axis - 1)];
        long[] positions = Enumerable.Range(0, checked((int)size.Value)).Select(i => (long)i).ToArray();
        return graph.Constant(Tensor.FromArray(positions, shape).MoveToOuterScope());
    }
}

/// <summary>
/// ONNX ArgMax / ArgMin (every opset: axis, keepdims, select_last_index from 12): the i64 position of the extreme
/// along <c>axis</c>, the first of equal ones unless <c>select_last_index</c>; NaN counts as the extreme.
/// </summary>
public abstract unsafe class ArgReduceOp(string name, ReduceOp kernel) : OpDef
{
    /// <inheritdoc/>
    public override string Name => name;

    /// <inheritdoc/>
    public override int SinceVersion => 1;

    /// <inheritdoc/>
    public override int MinInputs => 1;

    /// <inheritdoc/>
    public override bool IsDifferentiable => false;

    /// <inheritdoc/>
    public override bool RequiresContiguousInput(int index) => true;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } =
        [new("axis", AttrKind.Int, 0L), new("keepdims", AttrKind.Int, 1L), new("select_last_index", AttrKind.Int, 0L)];

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        TensorType x = context.Input(0);
        AxisOps.RequireAxisDType(context, x);
        int axis = context.Axis(context.Node.GetInt("axis"), x.Rank);
        if (x[axis].IsKnown && x[axis].Value == 0) context.Fail($"axis {axis} of {x.ShapeText} is empty, so there is no position to return");
        List<Dim> dims = [.. x.ToArray()];
        if (context.Node.GetInt("keepdims") != 0) dims[axis] = 1;
        else dims.RemoveAt(axis);
        return [new TensorType(DType.I64, [.. dims])];
    }

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context) =>
        new ArgReduceLaunch(kernel, AxisOps.Axis(context.Node, context.InputShape(0).Length), context.Node.GetInt("keepdims") != 0,
            context.Node.GetInt("select_last_index") != 0, context.Input(0), context.Output(0));

    private sealed class ArgReduceLaunch(ReduceOp op, int axis, bool keepDims, bool selectLast, TensorDesc* x, TensorDesc* y) : KernelLaunch
    {
        public override void Launch(DeviceHandle device) =>
            NativeMethods.Check(NativeMethods.ArgReduce(device, op, x, axis, keepDims ? 1 : 0, selectLast ? 1 : 0, y));
    }
}

/// <summary>ONNX ArgMax.</summary>
public sealed class ArgMaxOp() : ArgReduceOp("ArgMax", ReduceOp.Max);

/// <summary>ONNX ArgMin.</summary>
public sealed class ArgMinOp() : ArgReduceOp("ArgMin", ReduceOp.Min);

/// <summary>
/// ONNX Hardmax (opset 13: per axis, default -1): 1 at the first maximum along <c>axis</c>, 0 elsewhere. Composite:
/// the ArgMax position compared with each position along the axis. Piecewise constant, so no gradient flows.
/// </summary>
public sealed class HardmaxOp : CompositeOp
{
    /// <inheritdoc/>
    public override string Name => "Hardmax";

    /// <inheritdoc/>
    public override int MinInputs => 1;

    /// <inheritdoc/>
    public override bool IsDifferentiable => false;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("axis", AttrKind.Int, -1L)];

    /// <inheritdoc/>
    public override Value[] Expand(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        Value x = inputs[0];
        if (!x.DType.IsFloatingPoint()) context.Fail($"input 0 is {x.DType.ShortName()}; the op needs floating point");
        int axis = context.Axis((long)attributes["axis"], x.Rank);
        Value position = graph.Apply("ArgMax", [x], new Dictionary<string, object> { ["axis"] = (long)axis, ["keepdims"] = 1L })[0];
        Value positions = AxisOps.Positions(graph, context.Node, x.Type[axis], axis, x.Rank);
        return [position.Apply("Equal", positions).Cast(x.DType)];
    }
}

/// <summary>
/// ONNX TopK (opset 10 on; opset 1's k attribute is adapted to the input): the k largest (or, with
/// <c>largest</c> = 0, smallest) elements along <c>axis</c> and their i64 positions, from the most extreme, equal
/// values in their order in x. The k input must be a constant 1-element i64 tensor. Always sorted, which
/// <c>sorted</c> = 0 (any order) allows. The gradient of the values scatter-adds dy to the positions they came from.
/// </summary>
public sealed unsafe class TopKOp : OpDef
{
    /// <inheritdoc/>
    public override string Name => "TopK";

    /// <inheritdoc/>
    public override int SinceVersion => 10;

    /// <inheritdoc/>
    public override int MinInputs => 2;

    /// <inheritdoc/>
    public override bool RequiresContiguousInput(int index) => true;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } =
        [new("axis", AttrKind.Int, -1L), new("largest", AttrKind.Int, 1L), new("sorted", AttrKind.Int, 1L)];

    private static long K(Node node)
    {
        long[] k = node.ConstantInt64Input(1, "k");
        if (k.Length != 1) throw new GraphValidationException($"{node}: the k input holds {k.Length} values; it must hold one.", node.Name);
        return k[0];
    }

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        TensorType x = context.Input(0);
        AxisOps.RequireAxisDType(context, x);
        int axis = context.Axis(context.Node.GetInt("axis"), x.Rank);
        long k = K(context.Node);
        if (k < 0 || (x[axis].IsKnown && k > x[axis].Value)) context.Fail($"k is {k} but axis {axis} of {x.ShapeText} has {x[axis]} elements");
        Dim[] dims = x.ToArray();
        dims[axis] = k;
        return [new TensorType(x.DType, dims), new TensorType(DType.I64, dims)];
    }

    /// <inheritdoc/>
    /// <remarks>
    /// dx is zero but for dy at each value's source. The flat source of a value at (outer o, position p, inner j) is
    /// (o * size + p) * inner + j; its index arithmetic runs in f64, exact below 2^53 elements, and GatherGrad
    /// scatter-adds into x flattened.
    /// </remarks>
    public override Value?[] Gradient(GradientContext c)
    {
        Value x = c.X(0), indices = c.Y(1);
        int axis = AxisOps.Axis(c.Node, x.Rank);
        if (!x.Type.ToArray().All(d => d.IsKnown))
        {
            throw new GraphValidationException($"{c.Node}: the gradient needs x's shape known, but it is {x.Type.ShapeText}.", c.Node.Name);
        }

        long[] dims = x.Type.ToArray().Select(d => d.Value).ToArray();
        long outer = dims[..axis].Aggregate(1L, (a, b) => a * b), size = dims[axis], inner = dims[(axis + 1)..].Aggregate(1L, (a, b) => a * b);
        var rowStarts = new double[outer * inner];
        for (long o = 0; o < outer; o++)
        {
            for (long j = 0; j < inner; j++) rowStarts[o * inner + j] = o * size * inner + j;
        }

        Value rowStart = c.Graph.Constant(Tensor.FromArray(rowStarts, [.. dims[..axis], 1, .. dims[(axis + 1)..]]).MoveToOuterScope());
        Value flatIndices = (indices.Cast(DType.F64) * inner + rowStart).Cast(DType.I64);
        Value flatDx = c.Graph.Apply("GatherGrad", [Flat(c.Graph, c.Dy(0)!), Flat(c.Graph, flatIndices), Flat(c.Graph, x)],
            new Dictionary<string, object> { ["axis"] = 0L })[0];
        return [c.Op("ReshapeLike", flatDx, x), null];
    }

    private static Value Flat(Graph graph, Value value) => graph.Apply("Reshape", [value, graph.Constant(Tensor.FromArray(new long[] { -1 }).MoveToOuterScope())])[0];

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[3, 5, 2]], DistinctInputs: true, Build: (g, x) =>
        [g.Apply("TopK", [x[0], g.Constant(Tensor.FromArray(new long[] { 3 }).MoveToOuterScope())], new Dictionary<string, object> { ["axis"] = 1L })[0]]);

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context) =>
        new TopKLaunch(AxisOps.Axis(context.Node, context.InputShape(0).Length), K(context.Node), context.Node.GetInt("largest") != 0,
            context.Input(0), context.Output(0), context.Output(1));

    private sealed class TopKLaunch(int axis, long k, bool largest, TensorDesc* x, TensorDesc* values, TensorDesc* indices) : KernelLaunch
    {
        public override void Launch(DeviceHandle device) => NativeMethods.Check(NativeMethods.TopK(device, x, axis, k, largest ? 1 : 0, values, indices));
    }
}

/// <summary>
/// ONNX CumSum (opset 11 on): the running sum along the axis given as a constant 0-d or 1-element i32/i64 input,
/// <c>exclusive</c> leaving out the element itself and <c>reverse</c> summing from the end. Its gradient is the
/// cumulative sum of dy in the other direction.
/// </summary>
public sealed unsafe class CumSumOp : OpDef
{
    /// <inheritdoc/>
    public override string Name => "CumSum";

    /// <inheritdoc/>
    public override int SinceVersion => 11;

    /// <inheritdoc/>
    public override int MinInputs => 2;

    /// <inheritdoc/>
    public override bool RequiresContiguousInput(int index) => true;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("exclusive", AttrKind.Int, 0L), new("reverse", AttrKind.Int, 0L)];

    private static long RawAxis(Node node)
    {
        Value input = node.Inputs[1];
        if (input is not { Kind: ValueKind.Constant, DType: DType.I32 or DType.I64 } || input.Data!.ElementCount != 1 || input.Rank > 1)
        {
            throw new GraphValidationException($"{node}: the axis input must be a constant 0-d or 1-element i32 or i64 tensor.", node.Name);
        }

        return input.DType == DType.I32 ? input.Data.ToArray<int>()[0] : input.Data.ToArray<long>()[0];
    }

    private static int Axis(Node node, int rank) => (int)(RawAxis(node) < 0 ? RawAxis(node) + rank : RawAxis(node));

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        TensorType x = context.Input(0);
        AxisOps.RequireAxisDType(context, x);
        context.Axis(RawAxis(context.Node), x.Rank);
        return [x];
    }

    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c) =>
        [c.Op("CumSum", [c.Dy()!, c.X(1)], new Dictionary<string, object>
        {
            ["exclusive"] = c.Node.GetInt("exclusive"), ["reverse"] = c.Node.GetInt("reverse") != 0 ? 0L : 1L,
        }), null];

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[3, 4]], Build: (g, x) =>
        [g.Apply("CumSum", [x[0], g.Constant(Tensor.Scalar(-1).MoveToOuterScope())], new Dictionary<string, object> { ["exclusive"] = 1L })[0]]);

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context) =>
        new CumSumLaunch(Axis(context.Node, context.InputShape(0).Length), context.Node.GetInt("exclusive") != 0, context.Node.GetInt("reverse") != 0,
            context.Input(0), context.Output(0));

    private sealed class CumSumLaunch(int axis, bool exclusive, bool reverse, TensorDesc* x, TensorDesc* y) : KernelLaunch
    {
        public override void Launch(DeviceHandle device) =>
            NativeMethods.Check(NativeMethods.Cumsum(device, x, axis, exclusive ? 1 : 0, reverse ? 1 : 0, y));
    }
}

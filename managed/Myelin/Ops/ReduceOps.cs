using Myelin.Graphs;

namespace Myelin.Ops;

/// <summary>
/// An ONNX reduction bound to <c>mln_reduce</c>, in both of its forms: the reduced axes as the <c>axes</c> attribute
/// (ReduceSum opsets 1 to 12, the others 1 to 17) or as an optional constant 1-d i64 input (ReduceSum from opset 13,
/// the others from 18), never both. No axes reduces every axis, unless <c>noop_with_empty_axes</c> (from the same
/// newer opsets) is set, which makes it the identity. <c>keepdims</c> keeps reduced axes as size 1.
/// </summary>
public abstract unsafe class ReduceKernelOp(string name, ReduceOp kernel) : OpDef
{
    /// <inheritdoc/>
    public override string Name => name;

    /// <inheritdoc/>
    public override int MinInputs => 1;

    /// <inheritdoc/>
    public override int MaxInputs => 2;

    /// <inheritdoc/>
    public override int SinceVersion => 1;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } =
        [new("axes", AttrKind.Ints, Optional: true), new("keepdims", AttrKind.Int, 1L), new("noop_with_empty_axes", AttrKind.Int, 0L)];

    /// <summary>The axes named by a node's <c>axes</c> attribute, normalized; all axes when it is absent or empty.</summary>
    internal static bool[] ReducedAxes(Node node, int rank, InferContext? context = null) => Reduced(node, node.GetInts("axes"), false, rank, context);

    /// <summary>The axes a reduction node reduces, from its axes input or attribute and noop_with_empty_axes.</summary>
    internal static bool[] ReductionAxes(Node node, int rank, InferContext? context = null)
    {
        long[]? axes = node.GetInts("axes");
        if (node.Inputs.Length == 2)
        {
            if (axes is not null) throw new GraphValidationException($"{node}: axes are given both as the attribute and as the input; use one.", node.Name);
            axes = node.ConstantInt64Input(1, "axes");
        }

        return Reduced(node, axes, node.GetInt("noop_with_empty_axes") != 0, rank, context);
    }

    private static bool[] Reduced(Node node, long[]? axes, bool noopWhenEmpty, int rank, InferContext? context)
    {
        var reduced = new bool[rank];
        if (axes is null || axes.Length == 0)
        {
            Array.Fill(reduced, !noopWhenEmpty);
            return reduced;
        }

        foreach (long axis in axes)
        {
            long normalized = axis < 0 ? axis + rank : axis;
            if (normalized < 0 || normalized >= rank)
            {
                throw new GraphValidationException($"{node}: axis {axis} is out of range for rank {rank}", node.Name);
            }

            if (reduced[normalized]) context?.Fail($"axis {axis} appears twice");
            reduced[normalized] = true;
        }

        return reduced;
    }

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        TensorType x = context.Input(0);
        if (!x.DType.IsFloatingPoint()) context.Fail($"input 0 is {x.DType.ShortName()}; the op needs floating point");
        bool[] reduced = ReductionAxes(context.Node, x.Rank, context);
        bool keep = context.Node.GetInt("keepdims") != 0;
        var dims = new List<Dim>();
        for (int axis = 0; axis < x.Rank; axis++)
        {
            if (!reduced[axis]) dims.Add(x[axis]);
            else if (keep) dims.Add(1);
        }

        return [new TensorType(x.DType, [.. dims])];
    }

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context)
    {
        bool[] reduced = ReductionAxes(context.Node, context.InputShape(0).Length);
        int[] axes = Enumerable.Range(0, reduced.Length).Where(a => reduced[a]).ToArray();
        if (axes.Length == 0) return new CopyLaunch(context.Input(0), context.Output(0));
        return new ReduceLaunch(kernel, context.Input(0), context.Pin(axes), axes.Length, context.Node.GetInt("keepdims") != 0, context.Output(0));
    }

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 3, 4]], Attributes: new() { ["axes"] = new long[] { 1 }, ["keepdims"] = 0L });

    /// <inheritdoc/>
    /// <remarks>The reduced axes written in the form the opset uses; a node that reduces nothing is the identity.</remarks>
    public override void ExportOnnx(OnnxExportContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        bool[] reduced = ReductionAxes(context.Node, context.Node.Inputs[0].Rank);
        long[] axes = Enumerable.Range(0, reduced.Length).Where(a => reduced[a]).Select(a => (long)a).ToArray();
        if (axes.Length == 0)
        {
            context.Final("Identity", [context.Input(0)]);
            return;
        }

        context.Reduce(OpType, context.Input(0), axes, context.Node.GetInt("keepdims") != 0, context.Output(0));
    }

    /// <summary>The gradient of x (and none for the axes input); dy itself when the node reduces nothing (noop_with_empty_axes makes it the identity).</summary>
    public sealed override Value?[] Gradient(GradientContext c) =>
        [ReductionAxes(c.Node, c.X(0).Rank).Contains(true) ? ReducedGradient(c) : c.Dy()!, .. new Value?[c.Node.Inputs.Length - 1]];

    /// <summary>The gradient of x when at least one axis is reduced.</summary>
    protected abstract Value ReducedGradient(GradientContext c);

    /// <summary><paramref name="value"/> (x's shape) reduced by <paramref name="op"/> over the node's axes, with its keepdims.</summary>
    internal static Value ReduceAsNode(GradientContext c, string op, Value value)
    {
        bool[] reduced = ReductionAxes(c.Node, c.X(0).Rank);
        return c.Op(op, [value], new Dictionary<string, object>
        {
            ["axes"] = Enumerable.Range(0, reduced.Length).Where(a => reduced[a]).Select(a => (long)a).ToArray(),
            ["keepdims"] = c.Node.GetInt("keepdims"),
        });
    }

    /// <summary><paramref name="reducedValue"/> (dy or y) broadcast back over the reduced axes to x's shape (a view); itself when nothing is reduced.</summary>
    internal static Value Unreduce(GradientContext c, Value reducedValue)
    {
        bool[] reduced = ReductionAxes(c.Node, c.X(0).Rank);
        if (!reduced.Contains(true)) return reducedValue;
        var attributes = new Dictionary<string, object>
        {
            ["axes"] = Enumerable.Range(0, reduced.Length).Where(a => reduced[a]).Select(a => (long)a).ToArray(),
            ["keepdims"] = c.Node.GetInt("keepdims"),
        };
        return c.Graph.Apply("BroadcastReduced", [reducedValue, c.X(0)], attributes)[0];
    }

    /// <summary>dy broadcast back over the reduced axes to x's shape.</summary>
    internal static Value Unreduce(GradientContext c) => Unreduce(c, c.Dy()!);

    /// <summary>The gradient of ReduceMax and ReduceMin: dy where x equals its set's result, 0 elsewhere.</summary>
    private protected static Value AtExtremes(GradientContext c) => Unreduce(c) * c.X(0).Apply("Equal", Unreduce(c, c.Y())).Cast(c.X(0).DType);
}

/// <summary>ONNX ReduceSum; its GradCheckCase uses the opset-13 form (axes as an input, a negative one, keepdims).</summary>
public sealed class ReduceSumOp() : ReduceKernelOp("ReduceSum", ReduceOp.Sum)
{
    /// <inheritdoc/>
    protected override Value ReducedGradient(GradientContext c) => Unreduce(c);

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 3, 4]], Build: (g, x) =>
        [g.Apply("ReduceSum", [x[0], g.Constant(Tensor.FromArray(new long[] { -1, 0 }).MoveToOuterScope())])[0]]);
}

/// <summary>ONNX ReduceMean.</summary>
public sealed class ReduceMeanOp() : ReduceKernelOp("ReduceMean", ReduceOp.Mean)
{
    /// <inheritdoc/>
    protected override Value ReducedGradient(GradientContext c) => Unreduce(c) / c.Op("CountRatio", c.X(0), c.Y());
}

/// <summary>ONNX ReduceMax.</summary>
public sealed class ReduceMaxOp() : ReduceKernelOp("ReduceMax", ReduceOp.Max)
{
    /// <inheritdoc/>
    protected override Value ReducedGradient(GradientContext c) => AtExtremes(c);

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 3, 4]], Attributes: new() { ["axes"] = new long[] { 1 }, ["keepdims"] = 0L }, DistinctInputs: true);
}

/// <summary>ONNX ReduceMin.</summary>
public sealed class ReduceMinOp() : ReduceKernelOp("ReduceMin", ReduceOp.Min)
{
    /// <inheritdoc/>
    protected override Value ReducedGradient(GradientContext c) => AtExtremes(c);

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 3, 4]], Attributes: new() { ["axes"] = new long[] { 1 }, ["keepdims"] = 0L }, DistinctInputs: true);
}

/// <summary>
/// ONNX ReduceProd. The gradient, the product of the other elements of each set, is built without dividing by a
/// zero: with p the product of the set's nonzero elements, an element gets p / x when the set has no zero, p when it
/// is the set's only zero, and 0 otherwise.
/// </summary>
public sealed class ReduceProdOp() : ReduceKernelOp("ReduceProd", ReduceOp.Prod)
{
    /// <inheritdoc/>
    protected override Value ReducedGradient(GradientContext c)
    {
        Value x = c.X(0);
        Value zero = c.Graph.Scalar(0, x.DType), one = c.Graph.Scalar(1, x.DType);
        Value isZero = x.Apply("Equal", zero);
        Value nonzero = c.Op("Where", isZero, one, x);
        Value product = Unreduce(c, ReduceAsNode(c, "ReduceProd", nonzero));
        Value zeros = Unreduce(c, ReduceAsNode(c, "ReduceSum", isZero.Cast(x.DType)));
        Value onlyZero = isZero.Apply("And", zeros.Apply("Equal", one));
        Value others = c.Op("Where", zeros.Apply("Equal", zero), product / nonzero, c.Op("Where", onlyZero, product, zero));
        return Unreduce(c) * others;
    }

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 3, 4]], 0.5, 1.5, Attributes: new() { ["axes"] = new long[] { 1 }, ["keepdims"] = 0L });
}

/// <summary>ONNX ReduceL1: the sum of |x|.</summary>
public sealed class ReduceL1Op() : ReduceKernelOp("ReduceL1", ReduceOp.L1)
{
    /// <inheritdoc/>
    protected override Value ReducedGradient(GradientContext c) => Unreduce(c) * c.X(0).Apply("Sign");

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 3, 4]], Attributes: new() { ["axes"] = new long[] { 1 }, ["keepdims"] = 0L }, AwayFromZero: 0.1);
}

/// <summary>ONNX ReduceL2: the square root of the sum of x²; its gradient x / y is 0 for an all-zero set (as in PyTorch).</summary>
public sealed class ReduceL2Op() : ReduceKernelOp("ReduceL2", ReduceOp.L2)
{
    /// <inheritdoc/>
    protected override Value ReducedGradient(GradientContext c)
    {
        Value x = c.X(0), y = Unreduce(c, c.Y());
        // y is 0 only where every x of the set is 0, so dividing those by 1 gives the 0 gradient.
        Value safe = c.Op("Where", y.Apply("Equal", c.Graph.Scalar(0, x.DType)), c.Graph.Scalar(1, x.DType), y);
        return Unreduce(c) * x / safe;
    }
}

/// <summary>ONNX ReduceSumSquare: the sum of x².</summary>
public sealed class ReduceSumSquareOp() : ReduceKernelOp("ReduceSumSquare", ReduceOp.SumSquare)
{
    /// <inheritdoc/>
    protected override Value ReducedGradient(GradientContext c) => Unreduce(c) * c.X(0) * 2;
}

/// <summary>ONNX ReduceLogSumExp: log of the sum of eˣ, computed shifted by the maximum so it does not overflow.</summary>
public sealed class ReduceLogSumExpOp() : ReduceKernelOp("ReduceLogSumExp", ReduceOp.LogSumExp)
{
    /// <inheritdoc/>
    protected override Value ReducedGradient(GradientContext c) => Unreduce(c) * (c.X(0) - Unreduce(c, c.Y())).Exp();
}

/// <summary>
/// ONNX ReduceLogSum: log of ReduceSum, with ReduceSum's forms and attributes; with noop_with_empty_axes and no axes
/// it is the identity, as every ONNX reduction then is.
/// </summary>
public sealed class ReduceLogSumOp : CompositeOp
{
    /// <inheritdoc/>
    public override string Name => "ReduceLogSum";

    /// <inheritdoc/>
    public override int SinceVersion => 1;

    /// <inheritdoc/>
    public override int MinInputs => 1;

    /// <inheritdoc/>
    public override int MaxInputs => 2;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } =
        [new("axes", AttrKind.Ints, Optional: true), new("keepdims", AttrKind.Int, 1L), new("noop_with_empty_axes", AttrKind.Int, 0L)];

    /// <inheritdoc/>
    public override Value[] Expand(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        if (!inputs[0].DType.IsFloatingPoint()) context.Fail($"input 0 is {inputs[0].DType.ShortName()}; the op needs floating point");
        if (!ReduceKernelOp.ReductionAxes(context.Node, inputs[0].Rank, context).Contains(true)) return [graph.Apply("Identity", [inputs[0]])[0]];
        return [graph.Apply("ReduceSum", inputs, attributes)[0].Log()];
    }

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 3, 4]], 0.5, 1.5, Attributes: new() { ["axes"] = new long[] { 0, 2 }, ["keepdims"] = 1L });
}

using Myelin.Graphs;

namespace Myelin.Ops;

/// <summary>An ONNX reduction with <c>axes</c> (all when absent) and <c>keepdims</c> attributes, bound to <c>mln_reduce</c>.</summary>
public abstract unsafe class ReduceKernelOp(string name, ReduceOp kernel) : OpDef
{
    /// <inheritdoc/>
    public override string Name => name;

    /// <inheritdoc/>
    public override int MinInputs => 1;

    /// <inheritdoc/>
    public override int SinceVersion => 1;

    /// <inheritdoc/>
    public override int? UntilVersion => 17;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } =
        [new("axes", AttrKind.Ints, Optional: true), new("keepdims", AttrKind.Int, 1L)];

    /// <summary>The reduced axes, normalized; all axes when the attribute is absent.</summary>
    internal static bool[] ReducedAxes(Node node, int rank, InferContext? context = null)
    {
        var reduced = new bool[rank];
        long[]? axes = node.GetInts("axes");
        if (axes is null || axes.Length == 0)
        {
            Array.Fill(reduced, true);
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
        DType dtype = context.RequireSameFloat();
        bool[] reduced = ReducedAxes(context.Node, x.Rank, context);
        bool keep = context.Node.GetInt("keepdims") != 0;
        var dims = new List<Dim>();
        for (int axis = 0; axis < x.Rank; axis++)
        {
            if (!reduced[axis]) dims.Add(x[axis]);
            else if (keep) dims.Add(1);
        }

        return [new TensorType(dtype, [.. dims])];
    }

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context)
    {
        bool[] reduced = ReducedAxes(context.Node, context.InputShape(0).Length);
        int[] axes = Enumerable.Range(0, reduced.Length).Where(a => reduced[a]).ToArray();
        return new ReduceLaunch(kernel, context.Input(0), context.Pin(axes), axes.Length, context.Node.GetInt("keepdims") != 0, context.Output(0));
    }

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 3, 4]], Attributes: new() { ["axes"] = new long[] { 1 }, ["keepdims"] = 0L });

    /// <summary>dy broadcast back over the reduced axes to x's shape (a view).</summary>
    internal static Value Unreduce(GradientContext c) =>
        c.Graph.Apply("BroadcastReduced", [c.Dy()!, c.X(0)], new Dictionary<string, object>(c.Node.Attributes))[0];
}

/// <summary>ONNX ReduceSum (axes as an attribute, opsets 1 to 12).</summary>
public sealed class ReduceSumOp() : ReduceKernelOp("ReduceSum", ReduceOp.Sum)
{
    /// <inheritdoc/>
    public override int? UntilVersion => 12;

    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c) => [Unreduce(c)];
}

/// <summary>ONNX ReduceMean.</summary>
public sealed class ReduceMeanOp() : ReduceKernelOp("ReduceMean", ReduceOp.Mean)
{
    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c) => [Unreduce(c) / c.Op("CountRatio", c.X(0), c.Y())];
}

/// <summary>ONNX ReduceMax.</summary>
public sealed class ReduceMaxOp() : ReduceKernelOp("ReduceMax", ReduceOp.Max)
{
    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c)
    {
        Value yb = c.Graph.Apply("BroadcastReduced", [c.Y(), c.X(0)], new Dictionary<string, object>(c.Node.Attributes))[0];
        return [Unreduce(c) * c.X(0).Apply("Equal", yb).Cast(c.X(0).DType)];
    }

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 3, 4]], Attributes: new() { ["axes"] = new long[] { 1 }, ["keepdims"] = 0L }, DistinctInputs: true);
}

/// <summary>ONNX ReduceMin.</summary>
public sealed class ReduceMinOp() : ReduceKernelOp("ReduceMin", ReduceOp.Min)
{
    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c)
    {
        Value yb = c.Graph.Apply("BroadcastReduced", [c.Y(), c.X(0)], new Dictionary<string, object>(c.Node.Attributes))[0];
        return [Unreduce(c) * c.X(0).Apply("Equal", yb).Cast(c.X(0).DType)];
    }

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 3, 4]], Attributes: new() { ["axes"] = new long[] { 1 }, ["keepdims"] = 0L }, DistinctInputs: true);
}

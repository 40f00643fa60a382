using Myelin.Graphs;

namespace Myelin.Ops;

/// <summary>
/// ONNX Expand (opsets 8 and 13, one semantics): x broadcast bidirectionally with a constant 1-d i64 shape input,
/// as a view (stride 0 on stretched axes) like <see cref="ExpandLikeOp"/>. The output shape is the NumPy broadcast
/// of x's shape and the given one, so a 1 in the shape keeps x's dim and the shape may have fewer axes than x.
/// </summary>
public sealed class ExpandOp : ViewOp
{
    /// <inheritdoc/>
    public override string Name => "Expand";

    /// <inheritdoc/>
    public override int SinceVersion => 8;

    /// <inheritdoc/>
    public override int MinInputs => 2;

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        TensorType x = context.Input(0);
        long[] shape = context.Node.ConstantInt64Input(1, "shape");
        foreach (long dim in shape)
        {
            if (dim < 0) context.Fail($"shape entry {dim} is negative");
        }

        return [new TensorType(x.DType, context.Broadcast(x, new TensorType(x.DType, shape.Select(Dim.Of).ToArray())))];
    }

    /// <inheritdoc/>
    public override Layout? View(Node node, Layout input, Shape output) => Views.Broadcast(input, output);

    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c) => [c.SumTo(c.Dy()!, c.X(0)), null];

    /// <inheritdoc/>
    /// <remarks>x [3, 1] expanded by [2, 1, 4] gives [2, 3, 4]: both a new leading axis and a stretched one; the shape is a constant input.</remarks>
    public override GradCheckCase? GradCheckCase => new([[3, 1]], Build: (g, x) =>
        [g.Apply("Expand", [x[0], g.Constant(Tensor.FromArray(new long[] { 2, 1, 4 }).MoveToOuterScope())])[0]]);
}

/// <summary>
/// ONNX Split (opset 13 and 18): input 0 cut along <c>axis</c> into parts, each a strided view of it (no copy).
/// The sizes come from the optional constant 1-d i64 <c>split</c> input, or else from <c>num_outputs</c> (opset 18:
/// parts of ceil(dim / num_outputs), the last one smaller). Opsets 13 to 17 split equally into as many parts as
/// the node has outputs; a graph has no declared output count, so an importer of those opsets passes the
/// output count as <c>num_outputs</c> (the same sizes whenever the dim divides evenly, which they require).
/// </summary>
public sealed class SplitOp : ViewOp
{
    /// <inheritdoc/>
    public override string Name => "Split";

    /// <inheritdoc/>
    public override int MinInputs => 1;

    /// <inheritdoc/>
    public override int MaxInputs => 2;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("axis", AttrKind.Int, 0L), new("num_outputs", AttrKind.Int, Optional: true)];

    /// <summary>The normalized axis of a Split node over an input of rank <paramref name="rank"/>.</summary>
    private static int Axis(Node node, int rank)
    {
        long axis = node.GetInt("axis");
        long normalized = axis < 0 ? axis + rank : axis;
        if (normalized < 0 || normalized >= rank) throw new GraphValidationException($"{node}: axis {axis} is out of range for rank {rank}.", node.Name);
        return (int)normalized;
    }

    /// <inheritdoc/>
    /// <remarks>Before opset 18 there is no num_outputs: the sizes become the split input, and every part is written, read or not.</remarks>
    public override void ExportOnnx(OnnxExportContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Opset >= 18 || context.Node.Inputs.Length == 2)
        {
            context.AddNode(OpType, context.Inputs(), context.AttributesWithout(context.Opset >= 18 ? [] : ["num_outputs"]), context.Outputs());
            return;
        }

        TensorType x = context.Node.Inputs[0].Type;
        int axis = Axis(context.Node, x.Rank);
        if (!x[axis].IsKnown) throw context.Unsupported($"the split axis {axis} of {x.ShapeText} is symbolic, so num_outputs has no opset-{context.Opset} form");
        long[] sizes = Sizes(context.Node, x[axis].Value);
        context.AddNode(OpType, [context.Input(0), context.Int64s("split", sizes)], new Dictionary<string, object> { ["axis"] = (long)axis }, context.Outputs());
    }

    /// <summary>The sizes of the parts when the split axis has <paramref name="dim"/> elements.</summary>
    internal static long[] Sizes(Node node, long dim)
    {
        bool hasSplit = node.Inputs.Length == 2;
        long? count = node.Attributes.TryGetValue("num_outputs", out object? n) ? (long)n : null;
        if (hasSplit == count.HasValue)
        {
            throw new GraphValidationException($"{node}: give either the split input or the num_outputs attribute, not {(hasSplit ? "both" : "neither")}.", node.Name);
        }

        if (hasSplit)
        {
            long[] sizes = node.ConstantInt64Input(1, "split");
            if (sizes.Length == 0 || sizes.Any(s => s < 0) || sizes.Sum() != dim)
            {
                throw new GraphValidationException($"{node}: split sizes [{string.Join(", ", sizes)}] must be non-negative and add up to the axis size {dim}.", node.Name);
            }

            return sizes;
        }

        long parts = count!.Value;
        if (parts < 1) throw new GraphValidationException($"{node}: num_outputs is {parts}; it must be at least 1.", node.Name);
        long chunk = (dim + parts - 1) / parts, last = dim - chunk * (parts - 1);
        if (last < 0) throw new GraphValidationException($"{node}: an axis of size {dim} cannot be split into {parts} parts of {chunk} with a smaller last part.", node.Name);
        var result = Enumerable.Repeat(chunk, (int)parts).ToArray();
        result[^1] = last;
        return result;
    }

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        TensorType x = context.Input(0);
        int axis = Axis(context.Node, x.Rank);
        if (!x[axis].IsKnown) context.Fail($"the split axis {axis} of {x.ShapeText} must have a known size");
        return Sizes(context.Node, x[axis].Value).Select(size =>
        {
            Dim[] dims = x.ToArray();
            dims[axis] = size;
            return new TensorType(x.DType, dims);
        }).ToArray();
    }

    /// <inheritdoc/>
    public override Layout? View(Node node, Layout input, Shape output) => ViewOutput(node, input, output, 0);

    /// <inheritdoc/>
    public override Layout? ViewOutput(Node node, Layout input, Shape output, int outputIndex)
    {
        int axis = Axis(node, input.Shape.Length);
        long start = Sizes(node, input.Shape[axis]).Take(outputIndex).Sum();
        return new Layout(output.ToArray(), input.Strides, input.Offset + start * input.Strides[axis]);
    }

    /// <inheritdoc/>
    /// <remarks>The output gradients concatenated along the axis, with zeros for an output that no gradient reaches.</remarks>
    public override Value?[] Gradient(GradientContext c)
    {
        var parts = new Value[c.Node.Outputs.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            parts[i] = c.Dy(i) ?? c.Op("ExpandLike", c.Graph.Scalar(0, c.Y(i).DType), c.Y(i));
        }

        Value dx = c.Op("Concat", parts, new Dictionary<string, object> { ["axis"] = (long)Axis(c.Node, c.X(0).Rank) });
        return [dx, .. new Value?[c.Node.Inputs.Length - 1]];
    }

    /// <inheritdoc/>
    /// <remarks>Columns of a [2, 7] x split 2, 4, 1; only parts 0 and 2 are used, so part 1's gradient is the zero filler.</remarks>
    public override GradCheckCase? GradCheckCase => new([[2, 7]], Build: (g, x) =>
    {
        Value[] parts = g.Apply("Split", [x[0], g.Constant(Tensor.FromArray(new long[] { 2, 4, 1 }).MoveToOuterScope())], new Dictionary<string, object> { ["axis"] = -1L });
        return [parts[0], parts[2]];
    });
}

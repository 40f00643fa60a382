using Myelin.Graphs;

namespace Myelin.Ops;

/// <summary>
/// Ops whose output shape depends on input values (ConstantOfShape, Range, NonZero, Compress, OneHot's depth) or
/// whose output is fixed by input shapes (Size, EyeLike). Myelin fixes every shape when a graph is built, so these
/// are composites that read the deciding inputs as constants (an ONNX model's integer or 0-d graph inputs are bound
/// to their fed values by the inference session) and fail naming the input otherwise.
/// </summary>
internal static class BuildTimeValues
{
    /// <summary>Input <paramref name="index"/>'s values as doubles, or a failure saying why they must be constant.</summary>
    public static double[] Constant(InferContext context, Value[] inputs, int index, string what)
    {
        Value input = inputs[index];
        if (input.Kind != ValueKind.Constant)
        {
            context.Fail($"{what} (input {index}) must be a constant: the output's shape depends on its values, which Myelin needs when the graph is built");
        }

        using Tensor f64 = input.Data!.Cast(DType.F64);
        return f64.ToArray<double>();
    }

    /// <summary>Input <paramref name="index"/>'s values as longs (integer inputs exactly; floats truncated).</summary>
    public static long[] ConstantLongs(InferContext context, Value[] inputs, int index, string what)
    {
        double[] values = Constant(context, inputs, index, what);
        Value input = inputs[index];
        if (input.DType is DType.I64)
        {
            return input.Data!.ToArray<long>();
        }

        return values.Select(v => (long)v).ToArray();
    }

    /// <summary>A graph constant of <paramref name="values"/> (exact as longs) converted to <paramref name="dtype"/>.</summary>
    public static Value Tensor(Graph graph, long[] values, Shape shape, DType dtype)
    {
        using Tensor longs = Myelin.Tensor.FromArray(values, shape);
        return graph.Constant(longs.Cast(dtype).MoveToOuterScope());
    }

    /// <summary>A graph constant of <paramref name="values"/> converted to <paramref name="dtype"/>.</summary>
    public static Value Tensor(Graph graph, double[] values, Shape shape, DType dtype)
    {
        using Tensor doubles = Myelin.Tensor.FromArray(values, shape);
        return graph.Constant(doubles.Cast(dtype).MoveToOuterScope());
    }

    /// <summary>Whether <paramref name="type"/> holds exactly one element (a scalar, or dims all 1).</summary>
    public static bool IsOneElement(TensorType type) => type.ToArray().All(d => d.IsKnown && d.Value == 1);

    /// <summary>Fails unless <paramref name="value"/>'s shape is concrete; returns it.</summary>
    public static Shape ConcreteShape(InferContext context, Value value, string what)
    {
        if (!value.Type.IsConcrete) context.Fail($"{what} {value.Type.ShapeText} must have a concrete shape: the output is a constant fixed by it");
        return value.Type.ToShape();
    }
}

/// <summary>
/// ONNX ConstantOfShape (opset 9; 20 added types): a tensor of the shape given by the 1-d i64 input, every element
/// the one-element <c>value</c> tensor attribute (default f32 0). The shape input must be a constant.
/// </summary>
public sealed class ConstantOfShapeOp() : SimpleCompositeOp("ConstantOfShape", 9, 1, differentiable: false)
{
    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("value", AttrKind.Tensor, Optional: true)];

    /// <inheritdoc/>
    protected override Value[] Build(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        if (inputs[0].DType != DType.I64 || inputs[0].Rank != 1) context.Fail($"the shape input is {inputs[0].Type}; it must be a 1-d i64 tensor");
        long[] dims = BuildTimeValues.ConstantLongs(context, inputs, 0, "the shape");
        if (dims.Any(d => d < 0)) context.Fail($"the shape [{string.Join(", ", dims)}] has a negative dimension");
        Tensor? value = attributes.TryGetValue("value", out object? v) ? (Tensor)v : null;
        if (value is not null && value.ElementCount != 1) context.Fail($"the value attribute has {value.ElementCount} elements; it must have one");
        DType dtype = value?.DType ?? DType.F32;
        Tensor filled = Tensor.Zeros(new Shape(dims), dtype).MoveToOuterScope();
        if (value is not null && filled.ElementCount > 0)
        {
            // Broadcasting the one element keeps every dtype's value exact (no round trip through double).
            using Tensor element = value.Reshape(Enumerable.Repeat(1L, dims.Length).ToArray());
            filled.Dispose();
            filled = element.Expand(new Shape(dims)).Contiguous().MoveToOuterScope();
        }

        return [graph.Constant(filled)];
    }
}

/// <summary>ONNX Size (opsets 1 to 21, one semantics): the element count of the input as a 0-d i64 constant; the input's shape must be concrete.</summary>
public sealed class SizeOp() : SimpleCompositeOp("Size", 1, 1, differentiable: false)
{
    /// <inheritdoc/>
    protected override Value[] Build(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        Shape shape = BuildTimeValues.ConcreteShape(context, inputs[0], "the input");
        return [graph.Constant(Tensor.Scalar(shape.ElementCount).MoveToOuterScope())];
    }
}

/// <summary>
/// ONNX EyeLike (opset 9): a 2-d constant of the input's (concrete) shape with ones where column - row = <c>k</c>
/// and zeros elsewhere, of dtype <c>dtype</c> (an ONNX TensorProto number; the input's dtype when absent).
/// </summary>
public sealed class EyeLikeOp() : SimpleCompositeOp("EyeLike", 9, 1, differentiable: false)
{
    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("dtype", AttrKind.Int, Optional: true), new("k", AttrKind.Int, 0L)];

    /// <inheritdoc/>
    protected override Value[] Build(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        if (inputs[0].Rank != 2) context.Fail($"the input {inputs[0].Type.ShapeText} must be 2-d");
        Shape shape = BuildTimeValues.ConcreteShape(context, inputs[0], "the input");
        DType dtype = inputs[0].DType;
        if (attributes.TryGetValue("dtype", out object? code))
        {
            dtype = (DType)(long)code;
            if (!Enum.IsDefined(dtype)) context.Fail($"dtype {code} is not a dtype Myelin knows");
        }

        long k = (long)attributes["k"], rows = shape[0], columns = shape[1];
        var ones = new long[rows * columns];
        for (long i = 0; i < rows; i++)
        {
            long j = i + k;
            if (j >= 0 && j < columns) ones[i * columns + j] = 1;
        }

        return [BuildTimeValues.Tensor(graph, ones, shape, dtype)];
    }
}

/// <summary>
/// ONNX Range (opset 11): start, start + delta, ... up to (excluding) limit, in the inputs' dtype; the count is
/// max(ceil((limit - start) / delta), 0). The three 0-d inputs must be constants; delta must not be 0.
/// </summary>
public sealed class RangeOp() : SimpleCompositeOp("Range", 11, 3, differentiable: false)
{
    /// <inheritdoc/>
    protected override Value[] Build(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        DType dtype = inputs[0].DType;
        string[] names = ["start", "limit", "delta"];
        for (int i = 0; i < 3; i++)
        {
            if (inputs[i].DType != dtype) context.Fail($"{names[i]} is {inputs[i].DType.ShortName()} but start is {dtype.ShortName()}");
            if (!BuildTimeValues.IsOneElement(inputs[i].Type)) context.Fail($"{names[i]} {inputs[i].Type.ShapeText} must be a scalar");
        }

        if (dtype.IsInteger())
        {
            long start = BuildTimeValues.ConstantLongs(context, inputs, 0, "start")[0];
            long limit = BuildTimeValues.ConstantLongs(context, inputs, 1, "limit")[0];
            long delta = BuildTimeValues.ConstantLongs(context, inputs, 2, "delta")[0];
            if (delta == 0) context.Fail("delta is 0");
            long count = Count((double)(limit - start) / delta, context);
            long[] values = Enumerable.Range(0, (int)count).Select(i => start + i * delta).ToArray();
            return [BuildTimeValues.Tensor(graph, values, new Shape(count), dtype)];
        }
        else
        {
            double start = BuildTimeValues.Constant(context, inputs, 0, "start")[0];
            double limit = BuildTimeValues.Constant(context, inputs, 1, "limit")[0];
            double delta = BuildTimeValues.Constant(context, inputs, 2, "delta")[0];
            if (delta == 0) context.Fail("delta is 0");
            long count = Count((limit - start) / delta, context);
            double[] values = Enumerable.Range(0, (int)count).Select(i => start + i * delta).ToArray();
            return [BuildTimeValues.Tensor(graph, values, new Shape(count), dtype)];
        }
    }

    /// <summary>max(ceil(steps), 0), failing when the range would not fit in one tensor.</summary>
    private static long Count(double steps, InferContext context)
    {
        double count = Math.Max(Math.Ceiling(steps), 0);
        if (!(count <= int.MaxValue)) context.Fail($"the range has {count} elements; at most {int.MaxValue} are supported");
        return (long)count;
    }
}

/// <summary>ONNX NonZero (opset 9; 13 added types): the [rank, count] i64 indices of the nonzero elements, in row-major order. The input must be a constant.</summary>
public sealed class NonZeroOp() : SimpleCompositeOp("NonZero", 9, 1, differentiable: false)
{
    /// <inheritdoc/>
    protected override Value[] Build(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        double[] values = BuildTimeValues.Constant(context, inputs, 0, "the input");
        long[] dims = inputs[0].Type.ToShape().ToArray();
        long[] nonzero = Enumerable.Range(0, values.Length).Where(i => values[i] != 0).Select(i => (long)i).ToArray();
        int rank = dims.Length;
        var indices = new long[rank * nonzero.Length];
        for (int j = 0; j < nonzero.Length; j++)
        {
            long flat = nonzero[j];
            for (int d = rank - 1; d >= 0; d--)
            {
                indices[d * nonzero.Length + j] = flat % dims[d];
                flat /= dims[d];
            }
        }

        return [BuildTimeValues.Tensor(graph, indices, new Shape(rank, nonzero.Length), DType.I64)];
    }
}

/// <summary>
/// ONNX Compress (opset 11: negative axis; 9 the same without): the slices of the input along <c>axis</c> (of the
/// flattened input when absent) whose entry in the 1-d bool condition is true; a condition shorter than the axis
/// drops the rest. The condition must be a constant; the selection is a Gather, so the input's gradient flows.
/// </summary>
public sealed class CompressOp() : SimpleCompositeOp("Compress", 9, 2)
{
    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("axis", AttrKind.Int, Optional: true)];

    /// <inheritdoc/>
    protected override Value[] Build(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        if (inputs[1].Rank != 1) context.Fail($"the condition {inputs[1].Type.ShapeText} must be 1-d");
        Value input = inputs[0];
        int axis = 0;
        if (attributes.TryGetValue("axis", out object? a))
        {
            axis = context.Axis((long)a, input.Rank);
        }
        else
        {
            input = graph.Apply("Reshape", [input, graph.Constant(Tensor.FromArray(new long[] { -1 }).MoveToOuterScope())])[0];
        }

        double[] condition = BuildTimeValues.Constant(context, inputs, 1, "the condition");
        if (input.Type[axis].IsKnown && condition.Length > input.Type[axis].Value)
        {
            context.Fail($"the condition has {condition.Length} entries but the axis has {input.Type[axis]}");
        }

        long[] kept = Enumerable.Range(0, condition.Length).Where(i => condition[i] != 0).Select(i => (long)i).ToArray();
        Value indices = graph.Constant(Tensor.FromArray(kept, new Shape(kept.Length)).MoveToOuterScope());
        return graph.Apply("Gather", [input, indices], new Dictionary<string, object> { ["axis"] = (long)axis });
    }

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[3, 4]], Build: (g, x) =>
        g.Apply("Compress", [x[0], g.Constant(Tensor.FromArray(new bool[] { true, false, true }).MoveToOuterScope())], new Dictionary<string, object> { ["axis"] = 0L }));
}

/// <summary>
/// ONNX OneHot (opset 11; 9 without negative indices): indices (any numeric dtype, truncated to integers; negative
/// ones count from depth) become a new axis <c>axis</c> of size depth holding values[1] at the index and values[0]
/// elsewhere (everywhere for an index outside -depth..depth-1). depth must be a constant; indices and values may be
/// computed. A composite of Cast, Where, Equal and Gather, so the gradient reaches values.
/// </summary>
public sealed class OneHotOp() : SimpleCompositeOp("OneHot", 9, 3)
{
    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("axis", AttrKind.Int, -1L)];

    /// <inheritdoc/>
    protected override Value[] Build(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        Value indices = inputs[0], values = inputs[2];
        if (!BuildTimeValues.IsOneElement(inputs[1].Type)) context.Fail($"depth {inputs[1].Type.ShapeText} must have one element");
        if (values.Rank != 1 || values.Type[0] != Dim.Of(2)) context.Fail($"values {values.Type.ShapeText} must be [off, on]: 1-d of 2 elements");
        long depth = (long)BuildTimeValues.Constant(context, inputs, 1, "depth")[0];
        if (depth < 1) context.Fail($"depth {depth} must be positive");
        int outRank = indices.Rank + 1;
        int axis = context.Axis((long)attributes["axis"], outRank);

        // Indices as exact small integers in f64 (truncated first, as ONNX casts them to int64), negatives wrapped.
        Value index = indices.DType.IsInteger() ? indices.Cast(DType.F64) : indices.Cast(DType.I64).Cast(DType.F64);
        Value negative = index.Apply("Less", graph.Scalar(0, DType.F64));
        index = graph.Apply("Where", [negative, index + (double)depth, index])[0];
        Value axisValue = graph.Constant(Tensor.FromArray(new long[] { axis }).MoveToOuterScope());
        Value expanded = graph.Apply("Unsqueeze", [index, axisValue])[0];
        long[] classShape = Enumerable.Repeat(1L, outRank).ToArray();
        classShape[axis] = depth;
        Value classes = BuildTimeValues.Tensor(graph, Enumerable.Range(0, (int)depth).Select(i => (long)i).ToArray(), new Shape(classShape), DType.F64);
        Value hot = expanded.Apply("Equal", classes);
        Value off = graph.Apply("Gather", [values, graph.Constant(Tensor.Scalar(0L).MoveToOuterScope())])[0];
        Value on = graph.Apply("Gather", [values, graph.Constant(Tensor.Scalar(1L).MoveToOuterScope())])[0];
        return graph.Apply("Where", [hot, on, off]);
    }

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2]], Build: (g, x) =>
        g.Apply("OneHot", [g.Constant(Tensor.FromArray(new long[] { 1, -1, 0, 5 }, [2, 2]).MoveToOuterScope()), g.Constant(Tensor.Scalar(3L).MoveToOuterScope()), x[0]],
            new Dictionary<string, object> { ["axis"] = 1L }));
}

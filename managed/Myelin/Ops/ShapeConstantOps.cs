using Myelin.Graphs;
using Myelin.Native;

namespace Myelin.Ops;

/// <summary>
/// ONNX Shape: a 1-d i64 tensor of input 0's dims from <c>start</c> to <c>end</c> (opset 15; negative values count
/// from the back and both are clamped to [0, rank]). Opsets 1 to 14 are the same op without the two attributes,
/// which their defaults reproduce. The dims are known once a plan fixes the input shapes, so the kernel writes them
/// with one device fill per element (no tensor is read from C# during a run); constant folding replaces the node
/// with a constant whenever the input's shape is concrete at compile time.
/// </summary>
public sealed unsafe class ShapeOp : OpDef
{
    /// <inheritdoc/>
    public override string Name => "Shape";

    /// <inheritdoc/>
    public override int SinceVersion => 1;

    /// <inheritdoc/>
    public override int MinInputs => 1;

    /// <inheritdoc/>
    public override bool IsDifferentiable => false;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("start", AttrKind.Int, 0L), new("end", AttrKind.Int, Optional: true)];

    /// <summary>The [start, end) range of axes a Shape node reports for an input of rank <paramref name="rank"/>.</summary>
    private static (int Start, int End) Range(Node node, int rank)
    {
        static int Clamp(long axis, int rank) => (int)Math.Clamp(axis < 0 ? axis + rank : axis, 0, rank);
        int start = Clamp(node.GetInt("start"), rank);
        int end = node.Attributes.ContainsKey("end") ? Clamp(node.GetInt("end"), rank) : rank;
        return (start, Math.Max(start, end));
    }

    /// <summary>What a Shape node outputs for an input of shape <paramref name="inputShape"/>.</summary>
    public static long[] Evaluate(Node node, long[] inputShape)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(inputShape);
        (int start, int end) = Range(node, inputShape.Length);
        return inputShape[start..end];
    }

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        (int start, int end) = Range(context.Node, context.Input(0).Rank);
        return [new TensorType(DType.I64, end - start)];
    }

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context)
    {
        long[] dims = Evaluate(context.Node, context.InputShape(0));
        TensorDesc output = *context.Output(0);
        var fills = new KernelLaunch[dims.Length];
        for (int i = 0; i < dims.Length; i++)
        {
            var element = new TensorDesc { Data = (byte*)output.Data + i * output.Strides[0] * sizeof(long), DType = DType.I64, Rank = 1 };
            element.Shape[0] = 1;
            element.Strides[0] = 1;
            fills[i] = new FillLaunch(context.NewDesc(element), dims[i]);
        }

        return new SequenceLaunch(fills);
    }
}

/// <summary>
/// ONNX Constant: exactly one of <c>value</c> (a tensor; opset 1), <c>value_float</c>, <c>value_floats</c>,
/// <c>value_int</c> or <c>value_ints</c> (opset 12; f32 and i64, 0-d or 1-d). A composite: applying it adds a graph
/// constant named after the node, so no Constant node ever runs and constant folding sees a plain constant, which a
/// kernel op could not offer. sparse_value and value_string(s) are not supported (no sparse or string tensors), so
/// they fail as unknown attributes. The graph keeps a reference to a <c>value</c> tensor, which must outlive it.
/// </summary>
public sealed class ConstantOp : CompositeOp
{
    /// <inheritdoc/>
    public override string Name => "Constant";

    /// <inheritdoc/>
    public override int SinceVersion => 1;

    /// <inheritdoc/>
    public override int MinInputs => 0;

    /// <inheritdoc/>
    public override bool IsDifferentiable => false;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } =
    [
        new("value", AttrKind.Tensor, Optional: true), new("value_float", AttrKind.Float, Optional: true), new("value_floats", AttrKind.Floats, Optional: true),
        new("value_int", AttrKind.Int, Optional: true), new("value_ints", AttrKind.Ints, Optional: true),
    ];

    /// <inheritdoc/>
    public override Value[] Expand(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(attributes);
        ArgumentNullException.ThrowIfNull(context);
        if (attributes.Count != 1)
        {
            context.Fail($"needs exactly one of value, value_float, value_floats, value_int and value_ints but got {(attributes.Count == 0 ? "none" : string.Join(", ", attributes.Keys))}");
        }

        (string key, object value) = attributes.Single();
        Tensor data = key switch
        {
            "value" => (Tensor)value,
            "value_float" => Tensor.Scalar((float)(double)value).MoveToOuterScope(),
            "value_floats" => Tensor.FromArray(((double[])value).Select(v => (float)v).ToArray()).MoveToOuterScope(),
            "value_int" => Tensor.Scalar((long)value).MoveToOuterScope(),
            _ => Tensor.FromArray((long[])value).MoveToOuterScope(),
        };
        return [graph.Constant(data, context.Node.Name)];
    }
}

using Myelin.Graphs;

namespace Myelin.Ops;

/// <summary>ONNX CastLike (opset 15): Cast of input 0 to the dtype of input 1, whose values are not read.</summary>
public sealed class CastLikeOp : CompositeOp
{
    /// <inheritdoc/>
    public override string Name => "CastLike";

    /// <inheritdoc/>
    public override int SinceVersion => 15;

    /// <inheritdoc/>
    public override int MinInputs => 2;

    /// <inheritdoc/>
    public override Value[] Expand(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        return [inputs[0].Cast(inputs[1].DType)];
    }

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 3], [1]]);
}

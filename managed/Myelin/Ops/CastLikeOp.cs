using Myelin.Graphs;

namespace Myelin.Ops;

/// <summary>ONNX CastLike (opset 15): Cast of input 0 to the dtype of input 1, whose values are not read.</summary>
public sealed class CastLikeOp() : SimpleCompositeOp("CastLike", 15, 2)
{
    /// <inheritdoc/>
    protected override Value[] Build(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        return [inputs[0].Cast(inputs[1].DType)];
    }

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 3], [1]]);
}

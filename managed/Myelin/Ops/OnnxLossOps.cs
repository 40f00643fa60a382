using Myelin.Graphs;

namespace Myelin.Ops;

/// <summary>
/// The ONNX class-index losses of opset 12 (NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss): input, target and
/// optional per-class weight, with the same <c>reduction</c> and <c>ignore_index</c> attributes.
/// </summary>
/// <param name="name">The ONNX op type.</param>
public abstract class OnnxClassLossOp(string name) : SimpleCompositeOp(name, 12, 2, 3)
{
    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("reduction", AttrKind.String, "mean"), new("ignore_index", AttrKind.Int, Optional: true)];

    /// <summary>The per-class weight (input 2), or null when the node gives none.</summary>
    protected static Value? Weight(Value[] inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        return inputs.Length > 2 ? inputs[2] : null;
    }
}

/// <summary>
/// ONNX NegativeLogLikelihoodLoss (opsets 12 and 13, which added only types): input [N, C, d1, ...] of
/// log-probabilities, target [N, d1, ...] of class indices (i32 or i64), optional weight [C]. Per element
/// loss = -weight[t] * input[n, t, d...] with t = target[n, d...], and 0 where t equals <c>ignore_index</c>.
/// Reduction none keeps [N, d1, ...]; sum adds; mean divides the sum by the sum of the weights of the elements
/// not ignored (their count without weights). A composite of GatherElements, Gather, Where and reductions.
/// </summary>
public sealed class NegativeLogLikelihoodLossOp() : OnnxClassLossOp("NegativeLogLikelihoodLoss")
{
    /// <inheritdoc/>
    protected override Value[] Build(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context) =>
        [Loss(graph, inputs[0], inputs[1], Weight(inputs), attributes, context)];

    /// <summary>Targets of the gradient checks for inputs [3, 4, 2], where class 2 is ignored.</summary>
    internal static Value CheckTarget(Graph graph) => graph.Constant(Tensor.FromArray(new long[] { 0, 2, 3, 1, 2, 3 }, [3, 2]).MoveToOuterScope());

    /// <inheritdoc/>
    /// <remarks>Weighted mean with an ignored class: the weights' gradient includes the division by their sum (kept positive).</remarks>
    public override GradCheckCase? GradCheckCase => new([[3, 4, 2], [4]], 0.5, 1.5, Build: (g, x) =>
        [g.Apply(Name, [x[0], CheckTarget(g), x[1]], new Dictionary<string, object> { ["ignore_index"] = 2L })[0]]);

    /// <summary>The loss of log-probabilities <paramref name="logProbabilities"/> against class indices <paramref name="target"/>.</summary>
    internal static Value Loss(Graph graph, Value logProbabilities, Value target, Value? weight, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        TensorType input = logProbabilities.Type;
        if (!input.DType.IsFloatingPoint()) context.Fail($"input 0 is {input.DType.ShortName()}; it must be floating point");
        if (input.Rank < 2) context.Fail($"input 0 {input.ShapeText} must be N x C x d1 x ...");
        if (target.DType is not (DType.I64 or DType.I32)) context.Fail($"the target is {target.DType.ShortName()}; it must be i32 or i64");
        Dim[] expected = [input[0], .. input.Dims[2..].ToArray()];
        if (!target.Type.Dims.SequenceEqual(expected)) context.Fail($"the target {target.Type.ShapeText} must be the input {input.ShapeText} without its class axis");
        if (weight is not null && (weight.DType != input.DType || weight.Rank != 1 || weight.Type[0] != input[1]))
        {
            context.Fail($"the weight {weight.Type} must be a 1-d {input.DType.ShortName()} tensor of the {input[1]} classes");
        }

        string reduction = (string)attributes["reduction"];
        if (reduction is not ("none" or "sum" or "mean")) context.Fail($"reduction \"{reduction}\" is not none, sum or mean");

        // Ignored targets may lie outside 0..C-1 (negative, or C): they read class 0, and the mask zeroes them.
        Value? kept = null;
        Value safeTarget = target;
        if (attributes.TryGetValue("ignore_index", out object? ignore))
        {
            Value ignored = target.Apply("Equal", graph.Scalar((long)ignore, target.DType));
            safeTarget = graph.Apply("Where", [ignored, graph.Scalar(0, target.DType), target])[0];
            kept = graph.Apply("Where", [ignored, graph.Scalar(0, input.DType), graph.Scalar(1, input.DType)])[0];
        }

        Value classAxis = graph.Constant(Tensor.FromArray(new long[] { 1 }).MoveToOuterScope());
        Value picked = graph.Apply("GatherElements", [logProbabilities, graph.Apply("Unsqueeze", [safeTarget, classAxis])[0]],
            new Dictionary<string, object> { ["axis"] = 1L })[0];
        Value loss = -graph.Apply("Squeeze", [picked, classAxis])[0];

        // The weight of each element: weight[t] (1 without weights), 0 where ignored.
        Value? elementWeight = weight is null ? null : graph.Apply("Gather", [weight, safeTarget])[0];
        if (kept is not null) elementWeight = elementWeight is null ? kept : elementWeight * kept;
        if (elementWeight is not null) loss = loss * elementWeight;
        return reduction switch
        {
            "none" => loss,
            "sum" => loss.Sum(),
            _ => elementWeight is null ? loss.Mean() : loss.Sum() / elementWeight.Sum(),
        };
    }
}

/// <summary>
/// ONNX SoftmaxCrossEntropyLoss (opsets 12 and 13): scores [N, C, d1, ...], labels [N, d1, ...], optional weights
/// [C]; the NegativeLogLikelihoodLoss of LogSoftmax(scores) over the class axis, with the same reduction and
/// <c>ignore_index</c>. The second output is that log-probability tensor.
/// </summary>
public sealed class SoftmaxCrossEntropyLossOp() : OnnxClassLossOp("SoftmaxCrossEntropyLoss")
{
    /// <inheritdoc/>
    protected override Value[] Build(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        if (inputs[0].Rank < 2) context.Fail($"the scores {inputs[0].Type.ShapeText} must be N x C x d1 x ...");
        Value logProbabilities = graph.Apply("LogSoftmax", [inputs[0]], new Dictionary<string, object> { ["axis"] = 1L })[0];
        Value loss = NegativeLogLikelihoodLossOp.Loss(graph, logProbabilities, inputs[1], Weight(inputs), attributes, context);
        return [loss, logProbabilities];
    }

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[3, 4, 2], [4]], 0.5, 1.5, Build: (g, x) =>
        [g.Apply(Name, [x[0], NegativeLogLikelihoodLossOp.CheckTarget(g), x[1]], new Dictionary<string, object> { ["ignore_index"] = 2L })[0]]);
}

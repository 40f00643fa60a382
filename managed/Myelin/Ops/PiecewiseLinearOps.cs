using Myelin.Graphs;

namespace Myelin.Ops;

/// <summary>
/// ONNX Clip from opset 11: min(max(x, min), max) with the bounds as optional 0-d inputs of x's dtype (an omitted
/// bound does not clip; when min &gt; max every element becomes max). A composite over Less, Greater and Where,
/// which also serve integer dtypes; the gradient flows to x where min &lt; x &lt; max and to the bound that clips.
/// </summary>
public sealed class ClipOp() : SimpleCompositeOp("Clip", 11, 1, 3, takesOmittedInputs: true)
{
    /// <inheritdoc/>
    protected override Value[] Build(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        Value? Bound(int index, string name)
        {
            if (index >= inputs.Length || IsOmitted(inputs[index])) return null;
            Value bound = inputs[index];
            if (bound.Rank != 0 || bound.DType != inputs[0].DType)
            {
                context.Fail($"{name} (input {index}) must be a 0-d {inputs[0].DType.ShortName()} tensor like x, not {bound.Type}");
            }

            return bound;
        }

        return [Clamp(inputs[0], Bound(1, "min"), Bound(2, "max"))];
    }

    /// <summary>min(max(x, min), max), skipping a null bound.</summary>
    internal static Value Clamp(Value x, Value? min, Value? max)
    {
        Graph graph = x.Graph;
        if (min is not null) x = graph.Apply("Where", [x.Apply("Less", min), min, x])[0];
        if (max is not null) x = graph.Apply("Where", [x.Apply("Greater", max), max, x])[0];
        return x;
    }

    /// <inheritdoc/>
    /// <remarks>Bounds ±0.5 inside inputs drawn from ±1, so every branch is checked.</remarks>
    public override GradCheckCase? GradCheckCase => new([[3, 4], [], []], Build: (g, x) =>
        g.Apply("Clip", [x[0], g.Scalar(-0.5, x[0].DType) + (x[1] * 0.1), g.Scalar(0.5, x[0].DType) + (x[2] * 0.1)]));
}

/// <summary>ONNX Clip opsets 6 to 10: the bounds are the float attributes min and max (default: unbounded).</summary>
public sealed class ClipAttributeBoundsOp() : SimpleCompositeOp("ClipAttributeBounds", 6, 1)
{
    /// <inheritdoc/>
    public override string OpType => "Clip";

    /// <inheritdoc/>
    public override int? UntilVersion => 10;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("min", AttrKind.Float, Optional: true), new("max", AttrKind.Float, Optional: true)];

    /// <inheritdoc/>
    protected override Value[] Build(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        if (!inputs[0].DType.IsFloatingPoint()) context.Fail($"x is {inputs[0].DType.ShortName()}; before opset 11 Clip takes floating point");
        Value? Bound(string name) => attributes.TryGetValue(name, out object? value) ? graph.Scalar((double)value, inputs[0].DType) : null;
        return [ClipOp.Clamp(inputs[0], Bound("min"), Bound("max"))];
    }

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[3, 4]], Attributes: new() { ["min"] = -0.5, ["max"] = 0.5 });
}

/// <summary>
/// ONNX PRelu: x where x &gt;= 0, else slope * x, with slope broadcasting to x's shape (unidirectionally). A
/// composite over Less, Mul and Where; gradients flow to x and, summed over the broadcast axes, to slope.
/// </summary>
public sealed class PReluOp() : SimpleCompositeOp("PRelu", 7, 2)
{
    /// <inheritdoc/>
    protected override Value[] Build(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        Value x = inputs[0], slope = inputs[1];
        if (x.DType != slope.DType) context.Fail($"x is {x.DType.ShortName()} but slope is {slope.DType.ShortName()}");
        if (!context.Broadcast(x.Type, slope.Type).AsSpan().SequenceEqual(x.Type.Dims))
        {
            context.Fail($"slope {slope.Type.ShapeText} does not broadcast to x {x.Type.ShapeText}");
        }

        return graph.Apply("Where", [x.Apply("Less", graph.Scalar(0, x.DType)), x * slope, x]);
    }

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 3, 4], [3, 1]], AwayFromZero: 0.1);
}

using Myelin.Graphs;

namespace Myelin.Ops;

/// <summary>A loss: mean over all elements (or batch rows) of a per-element or per-row loss; inputs (prediction, target).</summary>
public abstract class LossOp(string name) : CompositeOp
{
    /// <inheritdoc/>
    public override string Name => name;

    /// <inheritdoc/>
    public override string Domain => "ai.myelin";

    /// <inheritdoc/>
    public override int SinceVersion => 1;

    /// <inheritdoc/>
    public override int MinInputs => 2;

    /// <inheritdoc/>
    public override Value[] Expand(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        context.RequireSameFloat();
        if (!inputs[0].Type.Dims.SequenceEqual(inputs[1].Type.Dims)) context.Fail($"prediction {inputs[0].Type.ShapeText} and target {inputs[1].Type.ShapeText} differ");
        return [Loss(graph, inputs[0], inputs[1], attributes)];
    }

    /// <summary>The scalar loss.</summary>
    protected abstract Value Loss(Graph graph, Value prediction, Value target, IReadOnlyDictionary<string, object> attributes);

    /// <summary>Sum over the last axis, then mean over the rest (per-row losses averaged over the batch).</summary>
    protected static Value RowMean(Value perElement) => perElement.Sum([-1]).Mean();

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[3, 4], [3, 4]], 0.1, 0.9);
}

#pragma warning disable CS1591 // The formulas are in each Loss body.
public sealed class SoftmaxCrossEntropyOp() : LossOp("SoftmaxCrossEntropy")
{
    protected override Value Loss(Graph g, Value logits, Value target, IReadOnlyDictionary<string, object> a) =>
        -RowMean(target * logits.Apply("LogSoftmax"));

    public override GradCheckCase? GradCheckCase => new([[3, 4], [3, 4]], -2, 2);
}

public sealed class NllOp() : LossOp("NegativeLogLikelihood")
{
    protected override Value Loss(Graph g, Value logProbabilities, Value target, IReadOnlyDictionary<string, object> a) => -RowMean(target * logProbabilities);
}

public sealed class MseOp() : LossOp("MeanSquaredError")
{
    protected override Value Loss(Graph g, Value p, Value t, IReadOnlyDictionary<string, object> a) => (p - t).Apply("Square").Mean();
}

public sealed class MaeOp() : LossOp("MeanAbsoluteError")
{
    protected override Value Loss(Graph g, Value p, Value t, IReadOnlyDictionary<string, object> a) => (p - t).Apply("Abs").Mean();

    public override GradCheckCase? GradCheckCase => new([[3, 4], [3, 4]], -2, 2, DistinctInputs: true);
}

public sealed class HuberOp() : LossOp("HuberLoss")
{
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("delta", AttrKind.Float, 1.0)];

    protected override Value Loss(Graph g, Value p, Value t, IReadOnlyDictionary<string, object> a)
    {
        double delta = (double)a["delta"];
        Value d = p - t, abs = d.Apply("Abs");
        Value quadratic = 0.5 * d.Apply("Square"), linear = delta * (abs - 0.5 * delta);
        return g.Apply("Where", [abs.Apply("LessOrEqual", g.Scalar(delta, p.DType)), quadratic, linear])[0].Mean();
    }

    public override GradCheckCase? GradCheckCase => new([[3, 4], [3, 4]], -2, 2, DistinctInputs: true, Attributes: new() { ["delta"] = 0.5 });
}

public sealed class BceOp() : LossOp("BinaryCrossEntropy")
{
    protected override Value Loss(Graph g, Value p, Value t, IReadOnlyDictionary<string, object> a) =>
        -(t * p.Log() + (1.0 - t) * (1.0 - p).Log()).Mean();
}

public sealed class BceWithLogitsOp() : LossOp("BinaryCrossEntropyWithLogits")
{
    protected override Value Loss(Graph g, Value x, Value t, IReadOnlyDictionary<string, object> a) => (x.Apply("Softplus") - t * x).Mean();

    public override GradCheckCase? GradCheckCase => new([[3, 4], [3, 4]], -2, 2);
}

public sealed class KlDivOp() : LossOp("KLDivergence")
{
    // Inputs (log q, p): sum p (log p - log q) per row, averaged over rows.
    protected override Value Loss(Graph g, Value logQ, Value p, IReadOnlyDictionary<string, object> a) => RowMean(p * (p.Log() - logQ));
}
#pragma warning restore CS1591

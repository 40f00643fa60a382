using System.Diagnostics;
using Myelin.Graphs;

namespace Myelin.Ops;

/// <summary>
/// A loss of (prediction, target) of one shape, plus optional weight inputs: an unreduced loss (per element, or per
/// sample for the class-distribution losses) reduced by the <c>reduction</c> attribute as PyTorch names it:
/// "none" (unreduced), "sum", "mean" (over every unreduced element), and, where allowed, "batchmean" (the sum
/// divided by the size of axis 0).
/// </summary>
public abstract class LossOp(string name) : CompositeOp
{
    private IReadOnlyList<AttrSpec>? _attributes;

    /// <inheritdoc/>
    public override string Name => name;

    /// <inheritdoc/>
    public override string Domain => "ai.myelin";

    /// <inheritdoc/>
    public override int SinceVersion => 1;

    /// <inheritdoc/>
    public override int MinInputs => 2;

    /// <inheritdoc/>
    public sealed override IReadOnlyList<AttrSpec> Attributes => _attributes ??= [new("reduction", AttrKind.String, DefaultReduction), .. LossAttributes];

    /// <summary>The reduction when none is given.</summary>
    protected virtual string DefaultReduction => "mean";

    /// <summary>Whether "batchmean" is a valid reduction (KL divergence).</summary>
    protected virtual bool AllowsBatchMean => false;

    /// <summary>Attributes beyond <c>reduction</c>.</summary>
    protected virtual IReadOnlyList<AttrSpec> LossAttributes => [];

    /// <inheritdoc/>
    public override Value[] Expand(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        context.RequireSameFloat();
        if (!inputs[0].Type.Dims.SequenceEqual(inputs[1].Type.Dims)) context.Fail($"prediction {inputs[0].Type.ShapeText} and target {inputs[1].Type.ShapeText} differ");
        for (int i = 2; i < inputs.Length; i++)
        {
            if (!context.Broadcast(inputs[i].Type, inputs[0].Type).AsSpan().SequenceEqual(inputs[0].Type.Dims)) context.Fail($"input {i} {inputs[i].Type.ShapeText} does not broadcast to the prediction {inputs[0].Type.ShapeText}");
        }
        string reduction = (string)attributes["reduction"];
        if (reduction is not ("none" or "sum" or "mean") && !(AllowsBatchMean && reduction == "batchmean"))
        {
            context.Fail($"reduction \"{reduction}\" is not none, sum{(AllowsBatchMean ? ", mean or batchmean" : " or mean")}");
        }

        Value loss = Unreduced(graph, inputs, attributes, context);
        return [reduction switch
        {
            "none" => loss,
            "sum" => loss.Sum(),
            "mean" => loss.Mean(),
            "batchmean" => loss.Rank <= 1 ? loss.Mean() : loss.Sum([.. Enumerable.Range(1, loss.Rank - 1).Select(a => (long)a)]).Mean(),
            _ => throw new UnreachableException(),
        }];
    }

    /// <summary>The loss before reduction, from the validated inputs.</summary>
    protected abstract Value Unreduced(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context);

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[3, 4], [3, 4]], 0.1, 0.9);
}

/// <summary>
/// A loss of scores against a class distribution along the <c>axis</c> attribute (default -1): per sample
/// -sum over classes of target * log-probability, so the unreduced loss drops that axis.
/// </summary>
public abstract class ClassDistributionLossOp(string name) : LossOp(name)
{
    /// <inheritdoc/>
    protected override IReadOnlyList<AttrSpec> LossAttributes { get; } = [new("axis", AttrKind.Int, -1L)];

    /// <inheritdoc/>
    protected override Value Unreduced(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        long axis = context.Axis((long)attributes["axis"], inputs[0].Rank);
        return -(inputs[1] * LogProbabilities(inputs[0], axis)).Sum([axis]);
    }

    /// <summary>Log-probabilities from the scores input along <paramref name="axis"/>.</summary>
    protected abstract Value LogProbabilities(Value scores, long axis);
}

#pragma warning disable CS1591 // The formulas are in each Unreduced body.
public sealed class SoftmaxCrossEntropyOp() : ClassDistributionLossOp("SoftmaxCrossEntropy")
{
    // LogSoftmax subtracts the row maximum: stable for any logits.
    protected override Value LogProbabilities(Value logits, long axis) =>
        logits.Graph.Apply("LogSoftmax", [logits], new Dictionary<string, object> { ["axis"] = axis })[0];

    public override GradCheckCase? GradCheckCase => new([[3, 4], [3, 4]], -2, 2);
}

public sealed class NllOp() : ClassDistributionLossOp("NegativeLogLikelihood")
{
    protected override Value LogProbabilities(Value logProbabilities, long axis) => logProbabilities;
}

public sealed class MseOp() : LossOp("MeanSquaredError")
{
    protected override Value Unreduced(Graph g, Value[] x, IReadOnlyDictionary<string, object> a, InferContext c) => (x[0] - x[1]).Apply("Square");
}

public sealed class MaeOp() : LossOp("MeanAbsoluteError")
{
    protected override Value Unreduced(Graph g, Value[] x, IReadOnlyDictionary<string, object> a, InferContext c) => (x[0] - x[1]).Apply("Abs");

    public override GradCheckCase? GradCheckCase => new([[3, 4], [3, 4]], -2, 2, DistinctInputs: true);
}

/// <summary>Huber: 0.5 d^2 where |d| &lt;= delta, else delta (|d| - delta / 2); delta must be positive.</summary>
public sealed class HuberOp() : LossOp("HuberLoss")
{
    protected override IReadOnlyList<AttrSpec> LossAttributes { get; } = [new("delta", AttrKind.Float, 1.0)];

    protected override Value Unreduced(Graph g, Value[] x, IReadOnlyDictionary<string, object> a, InferContext c)
    {
        double delta = (double)a["delta"];
        if (!(delta > 0)) c.Fail($"delta {delta} must be positive");
        Value d = x[0] - x[1], abs = d.Apply("Abs");
        Value quadratic = 0.5 * d.Apply("Square"), linear = delta * (abs - 0.5 * delta);
        return g.Apply("Where", [abs.Apply("LessOrEqual", g.Scalar(delta, d.DType)), quadratic, linear])[0];
    }

    public override GradCheckCase? GradCheckCase => new([[3, 4], [3, 4]], -2, 2, DistinctInputs: true, Attributes: new() { ["delta"] = 0.5 });
}

/// <summary>
/// Inputs (probability, target, optional weight broadcasting to them): -weight (t log p + (1 - t) log(1 - p)), each
/// log clamped at -100 as PyTorch does, so p of exactly 0 or 1 gives a finite loss (its gradient there is not finite).
/// </summary>
public sealed class BceOp() : LossOp("BinaryCrossEntropy")
{
    public override int MaxInputs => 3;

    protected override Value Unreduced(Graph g, Value[] x, IReadOnlyDictionary<string, object> a, InferContext c)
    {
        Value p = x[0], t = x[1], floor = g.Scalar(-100, p.DType);
        Value loss = -(t * p.Log().Apply("Max", floor) + (1.0 - t) * (1.0 - p).Log().Apply("Max", floor));
        return x.Length > 2 ? loss * x[2] : loss;
    }
}

/// <summary>
/// Inputs (logits, target, optional weight, optional pos_weight; both broadcast to the logits):
/// weight ((1 + (pos_weight - 1) t) softplus(x) - pos_weight t x), which is
/// -weight (pos_weight t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))) computed stably through softplus.
/// </summary>
public sealed class BceWithLogitsOp() : LossOp("BinaryCrossEntropyWithLogits")
{
    public override int MaxInputs => 4;

    protected override Value Unreduced(Graph g, Value[] x, IReadOnlyDictionary<string, object> a, InferContext c)
    {
        Value logits = x[0], t = x[1], softplus = logits.Apply("Softplus");
        Value loss = x.Length > 3
            ? (1.0 + (x[3] - 1.0) * t) * softplus - x[3] * t * logits
            : softplus - t * logits;
        return x.Length > 2 ? loss * x[2] : loss;
    }

    public override GradCheckCase? GradCheckCase => new([[3, 4], [3, 4]], -2, 2);
}

/// <summary>
/// Inputs (log q, p), PyTorch's kl_div: p (log p - log q) pointwise, 0 where p is 0; with <c>log_target</c> the target
/// is log p and the pointwise loss exp(log p) (log p - log q). The default reduction is "batchmean", the KL divergence
/// per sample (PyTorch's "mean" averages over every element, which is not a divergence; pass it explicitly).
/// </summary>
public sealed class KlDivOp() : LossOp("KLDivergence")
{
    protected override string DefaultReduction => "batchmean";

    protected override bool AllowsBatchMean => true;

    protected override IReadOnlyList<AttrSpec> LossAttributes { get; } = [new("log_target", AttrKind.Int, 0L)];

    protected override Value Unreduced(Graph g, Value[] x, IReadOnlyDictionary<string, object> a, InferContext c)
    {
        Value logQ = x[0], target = x[1];
        if ((long)a["log_target"] != 0) return target.Exp() * (target - logQ);

        // xlogy(p, p): log of 1 where p is 0, so both the value and its gradient stay finite there.
        Value positive = target.Apply("Greater", g.Scalar(0, target.DType));
        Value safeLog = g.Apply("Where", [positive, target, g.Scalar(1, target.DType)])[0].Log();
        return target * safeLog - target * logQ;
    }
}
#pragma warning restore CS1591

using Myelin.Graphs;

namespace Myelin.Ops;

/// <summary>
/// An ONNX ai.onnx.preview.training optimizer step: inputs R (learning rate, a float scalar), T (update count, an i64
/// scalar), then n tensors X, n gradients G and n tensors of each optimizer state; outputs the n new X then the n new
/// tensors of each state. A pure function of its inputs, expanded per tensor by <see cref="Step"/>; R and T may be
/// computed at run time.
/// </summary>
/// <param name="name">The op type.</param>
/// <param name="states">How many state tensors each X has (Adagrad 1, Momentum 1, Adam 2).</param>
public abstract class TrainingOptimizerOp(string name, int states) : CompositeOp
{
    /// <inheritdoc/>
    public override string Name => name;

    /// <inheritdoc/>
    public override string Domain => "ai.onnx.preview.training";

    /// <inheritdoc/>
    public override int SinceVersion => 1;

    /// <inheritdoc/>
    public override int MinInputs => 2 + 2 + states;

    /// <inheritdoc/>
    public override int MaxInputs => int.MaxValue;

    /// <inheritdoc/>
    public override Value[] Expand(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(attributes);
        ArgumentNullException.ThrowIfNull(context);
        int groups = 2 + states;
        if ((inputs.Length - 2) % groups != 0)
        {
            context.Fail($"takes R, T and then {groups} tensors per optimized tensor (X, G and {states} state{(states == 1 ? "" : "s")}), but got {inputs.Length} inputs");
        }

        Value rate = inputs[0], count = inputs[1];
        if (rate.Rank != 0 || !rate.DType.IsFloatingPoint()) context.Fail($"input 0 (R) is {rate.Type}; it must be a floating-point scalar");
        if (count.Rank != 0 || count.DType != DType.I64) context.Fail($"input 1 (T) is {count.Type}; it must be an i64 scalar");
        int n = (inputs.Length - 2) / groups;
        var results = new Value[n * (1 + states)];
        for (int i = 0; i < n; i++)
        {
            Value x = inputs[2 + i];
            var tensors = new Value[groups];
            for (int k = 0; k < groups; k++)
            {
                int index = 2 + k * n + i;
                tensors[k] = inputs[index];
                if (!tensors[k].DType.IsFloatingPoint() || tensors[k].DType != x.DType)
                {
                    context.Fail($"input {index} is {tensors[k].Type}; it must be floating point of X{i + 1}'s dtype ({x.DType.ShortName()})");
                }

                if (!tensors[k].Type.Dims.SequenceEqual(x.Type.Dims)) context.Fail($"input {index} is {tensors[k].Type.ShapeText} but X{i + 1} (input {2 + i}) is {x.Type.ShapeText}");
            }

            Value typedRate = rate.DType == x.DType ? rate : rate.Cast(x.DType);
            Value[] updated = Step(graph, typedRate, count, tensors[0], tensors[1], tensors[2..], attributes, context);
            for (int k = 0; k < updated.Length; k++) results[k * n + i] = updated[k];
        }

        return results;
    }

    /// <summary>One tensor's update: the new <paramref name="x"/> and new states, from rate R (x's dtype), count T (i64 scalar), gradient and states; <paramref name="context"/> reports bad attributes.</summary>
    protected abstract Value[] Step(Graph graph, Value rate, Value count, Value x, Value gradient, Value[] states, IReadOnlyDictionary<string, object> attributes, InferContext context);

    /// <summary>Whether T &gt; 0 (bool scalar): the first step (T = 0) skips bias corrections.</summary>
    protected static Value Started(Graph graph, Value count)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(count);
        return count.Apply("Greater", graph.Scalar(0, DType.I64));
    }

    /// <summary>norm_coefficient * x + g: the gradient with the L2 regularization term's.</summary>
    protected static Value Regularized(Value x, Value gradient, IReadOnlyDictionary<string, object> attributes)
    {
        ArgumentNullException.ThrowIfNull(attributes);
        double coefficient = (double)attributes["norm_coefficient"];
        return coefficient == 0 ? gradient : x * coefficient + gradient;
    }

    /// <summary>A gradient check of the op on two tensors with T = <paramref name="count"/> and the given attributes.</summary>
    protected GradCheckCase Check(long count, Dictionary<string, object> attributes)
    {
        long[][] shapes = [[], .. Enumerable.Repeat(new long[] { 3 }, 2 * (2 + states))];
        return new GradCheckCase(shapes, 0.2, 1, attributes, Build: (g, v) =>
        [
            .. g.Apply(Name, [v[0], g.Constant(Tensor.Scalar(count).MoveToOuterScope()), .. v[1..]], attributes),
        ]);
    }
}

/// <summary>
/// ONNX Adagrad: r = R / (1 + T decay_factor); g = norm_coefficient X + G; H' = H + g²; X' = X - r g / (sqrt(H') + epsilon).
/// </summary>
public sealed class AdagradOp() : TrainingOptimizerOp("Adagrad", 1)
{
    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } =
        [new("decay_factor", AttrKind.Float, 0.0), new("epsilon", AttrKind.Float, 1e-6), new("norm_coefficient", AttrKind.Float, 0.0)];

    /// <inheritdoc/>
    protected override Value[] Step(Graph graph, Value rate, Value count, Value x, Value gradient, Value[] states, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        ArgumentNullException.ThrowIfNull(count);
        ArgumentNullException.ThrowIfNull(states);
        ArgumentNullException.ThrowIfNull(attributes);
        Value decayed = rate / (count.Cast(x.DType) * (double)attributes["decay_factor"] + 1);
        Value g = Regularized(x, gradient, attributes);
        Value accumulated = states[0] + g * g;
        return [x - decayed * g / (accumulated.Sqrt() + (double)attributes["epsilon"]), accumulated];
    }

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => Check(2, new() { ["decay_factor"] = 0.1, ["epsilon"] = 1e-3, ["norm_coefficient"] = 0.01 });
}

/// <summary>
/// ONNX Momentum: g = norm_coefficient X + G; V' = alpha V + (T &gt; 0 ? beta : 1) g; X' = X - R V' (mode "standard") or
/// X - R (g + alpha V') (mode "nesterov").
/// </summary>
public sealed class MomentumOp() : TrainingOptimizerOp("Momentum", 1)
{
    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } =
        [new("alpha", AttrKind.Float), new("beta", AttrKind.Float), new("mode", AttrKind.String), new("norm_coefficient", AttrKind.Float)];

    /// <inheritdoc/>
    protected override Value[] Step(Graph graph, Value rate, Value count, Value x, Value gradient, Value[] states, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(states);
        ArgumentNullException.ThrowIfNull(attributes);
        string mode = (string)attributes["mode"];
        ArgumentNullException.ThrowIfNull(context);
        if (mode is not ("standard" or "nesterov")) context.Fail($"attribute 'mode' is '{mode}'; it must be 'standard' or 'nesterov'");

        double alpha = (double)attributes["alpha"];
        Value g = Regularized(x, gradient, attributes);
        Value beta = graph.Apply("Where", [Started(graph, count), graph.Scalar((double)attributes["beta"], x.DType), graph.Scalar(1, x.DType)])[0];
        Value velocity = states[0] * alpha + beta * g;
        Value step = mode == "standard" ? velocity : g + velocity * alpha;
        return [x - rate * step, velocity];
    }

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => Check(2, new() { ["alpha"] = 0.9, ["beta"] = 0.5, ["mode"] = "nesterov", ["norm_coefficient"] = 0.01 });
}

/// <summary>
/// ONNX Adam: g = norm_coefficient X + G; V' = alpha V + (1 - alpha) g; H' = beta H + (1 - beta) g²; r = R sqrt(1 - beta^T) /
/// (1 - alpha^T) when T &gt; 0, else R; X' = (1 - norm_coefficient_post) (X - r V' / (sqrt(H') + epsilon)).
/// </summary>
public sealed class AdamOp() : TrainingOptimizerOp("Adam", 2)
{
    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } =
    [
        new("alpha", AttrKind.Float, 0.9), new("beta", AttrKind.Float, 0.999), new("epsilon", AttrKind.Float, 1e-6),
        new("norm_coefficient", AttrKind.Float, 0.0), new("norm_coefficient_post", AttrKind.Float, 0.0),
    ];

    /// <inheritdoc/>
    protected override Value[] Step(Graph graph, Value rate, Value count, Value x, Value gradient, Value[] states, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(count);
        ArgumentNullException.ThrowIfNull(states);
        ArgumentNullException.ThrowIfNull(attributes);
        double alpha = (double)attributes["alpha"], beta = (double)attributes["beta"];
        Value g = Regularized(x, gradient, attributes);
        Value velocity = states[0] * alpha + g * (1 - alpha);
        Value squares = states[1] * beta + g * g * (1 - beta);
        Value steps = count.Cast(x.DType);
        Value corrected = rate * (1 - graph.Scalar(beta, x.DType).Apply("Power", steps)).Sqrt() / (1 - graph.Scalar(alpha, x.DType).Apply("Power", steps));
        Value adjusted = graph.Apply("Where", [Started(graph, count), corrected, rate])[0];
        Value updated = x - adjusted * (velocity / (squares.Sqrt() + (double)attributes["epsilon"]));
        double post = (double)attributes["norm_coefficient_post"];
        return [post == 0 ? updated : updated * (1 - post), velocity, squares];
    }

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => Check(2, new() { ["alpha"] = 0.9, ["beta"] = 0.8, ["epsilon"] = 1e-2, ["norm_coefficient"] = 0.01, ["norm_coefficient_post"] = 0.1 });
}

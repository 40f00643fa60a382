using System.Globalization;
using Myelin.Graphs;

namespace Myelin.NN;

/// <summary>How a loss reduces its per-element (or per-sample) values, as PyTorch's <c>reduction</c> argument.</summary>
public enum Reduction
{
    /// <summary>The mean (for class-index losses with class weights or ignored samples, the weighted mean PyTorch takes).</summary>
    Mean,

    /// <summary>The sum.</summary>
    Sum,

    /// <summary>No reduction: the unreduced loss.</summary>
    None,

    /// <summary>The sum divided by the batch size (size of axis 0); only <see cref="KLDivLoss"/> takes it.</summary>
    BatchMean,
}

/// <summary>
/// A loss applied to graph values: <see cref="Apply"/> adds the nodes computing it from a prediction and a target.
/// Semantics and argument names follow PyTorch's loss modules (torch.nn.*Loss). Not a <see cref="Layer"/>: it takes
/// two inputs and owns no parameters. Errors name the loss ("CrossEntropyLoss: ...").
/// </summary>
public abstract class Loss
{
    /// <summary>Checks and stores the reduction; <see cref="Reduction.BatchMean"/> only where <paramref name="allowsBatchMean"/>.</summary>
    protected Loss(Reduction reduction, bool allowsBatchMean = false)
    {
        if (!Enum.IsDefined(reduction)) throw new ArgumentOutOfRangeException(nameof(reduction), reduction, $"{GetType().Name}: reduction {reduction} is not defined.");
        if (reduction == Reduction.BatchMean && !allowsBatchMean)
        {
            throw new ArgumentException($"{GetType().Name}: reduction BatchMean is only for KLDivLoss; use Mean, Sum or None.", nameof(reduction));
        }

        Reduction = reduction;
    }

    /// <summary>The reduction.</summary>
    public Reduction Reduction { get; }

    /// <summary>How messages name the loss: its type name.</summary>
    public string DisplayName => GetType().Name;

    /// <summary>Adds the loss of <paramref name="input"/> against <paramref name="target"/> to their graph.</summary>
    /// <exception cref="GraphValidationException">Mismatched shapes or dtypes; the message names the loss.</exception>
    public Value Apply(Value input, Value target)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(target);
        if (!ReferenceEquals(input.Graph, target.Graph)) throw new GraphValidationException($"{DisplayName}: input '{input.Name}' and target '{target.Name}' belong to different graphs.");
        try
        {
            return Build(input, target);
        }
        catch (GraphValidationException e) when (!e.Message.StartsWith(DisplayName + ": ", StringComparison.Ordinal))
        {
            throw new GraphValidationException($"{DisplayName}: {e.Message}", e.NodeName);
        }
    }

    /// <summary>Adds the loss's nodes; called by <see cref="Apply"/>.</summary>
    protected abstract Value Build(Value input, Value target);

    /// <summary>The op attribute value of <paramref name="reduction"/>.</summary>
    private protected static string ReductionName(Reduction reduction) => reduction switch
    {
        Reduction.Mean => "mean",
        Reduction.Sum => "sum",
        Reduction.None => "none",
        _ => "batchmean",
    };

    /// <summary>Applies the composite loss op <paramref name="op"/> with this loss's reduction and <paramref name="attributes"/>.</summary>
    private protected Value ApplyOp(string op, Value[] inputs, Dictionary<string, object>? attributes = null)
    {
        attributes ??= [];
        attributes["reduction"] = ReductionName(Reduction);
        return inputs[0].Graph.Apply(op, inputs, attributes)[0];
    }

    /// <summary>Throws unless <paramref name="input"/> and <paramref name="target"/> have one shape.</summary>
    private protected void RequireSameShape(Value input, Value target)
    {
        if (!input.Type.Dims.SequenceEqual(target.Type.Dims))
        {
            throw new GraphValidationException($"{DisplayName}: input {input.Type.ShapeText} and target {target.Type.ShapeText} must have the same shape.");
        }
    }

    /// <summary>A host copy of a weight tensor, checked to be floating point (and of rank 1 when <paramref name="classWeight"/>).</summary>
    private protected (double[] Values, long[] Shape)? CopyWeight(Tensor? weight, string argument, bool classWeight)
    {
        if (weight is null) return null;
        if (!weight.DType.IsFloatingPoint()) throw new ArgumentException($"{DisplayName}: {argument} is {weight.DType.ShortName()}; it must be floating point.", argument);
        if (classWeight && weight.Shape.Rank != 1) throw new ArgumentException($"{DisplayName}: {argument} must have one value per class (rank 1) but has shape {weight.Shape}.", argument);
        using Tensor f64 = weight.Cast(DType.F64);
        return (f64.ToArray<double>(), weight.Shape.ToArray());
    }

    /// <summary>A constant of <paramref name="like"/>'s dtype holding <paramref name="values"/> with <paramref name="shape"/>.</summary>
    private protected static Value Constant(Value like, double[] values, long[] shape)
    {
        using Tensor f64 = Tensor.FromArray(values, new Shape(shape));
        return like.Graph.Constant(f64.Cast(like.DType).MoveToOuterScope());
    }
}

/// <summary>Mean squared error, PyTorch's MSELoss: (input - target)^2, reduced. Shapes must match (PyTorch broadcasts with a warning; a mismatch here is an error).</summary>
public sealed class MseLoss(Reduction reduction = Reduction.Mean) : Loss(reduction)
{
    /// <inheritdoc/>
    protected override Value Build(Value input, Value target)
    {
        RequireSameShape(input, target);
        return ApplyOp("MeanSquaredError", [input, target]);
    }
}

/// <summary>Mean absolute error (MAE), PyTorch's L1Loss: |input - target|, reduced.</summary>
public sealed class L1Loss(Reduction reduction = Reduction.Mean) : Loss(reduction)
{
    /// <inheritdoc/>
    protected override Value Build(Value input, Value target)
    {
        RequireSameShape(input, target);
        return ApplyOp("MeanAbsoluteError", [input, target]);
    }
}

/// <summary>PyTorch's HuberLoss: 0.5 d^2 where |d| &lt;= delta, else delta (|d| - delta / 2), with d = input - target.</summary>
public sealed class HuberLoss : Loss
{
    /// <summary>Creates the loss; <paramref name="delta"/> must be positive.</summary>
    public HuberLoss(Reduction reduction = Reduction.Mean, double delta = 1.0)
        : base(reduction)
    {
        if (!(delta > 0) || double.IsInfinity(delta)) throw new ArgumentOutOfRangeException(nameof(delta), delta, $"{DisplayName}: delta {delta.ToString(CultureInfo.InvariantCulture)} must be positive and finite.");
        Delta = delta;
    }

    /// <summary>Where the loss turns from quadratic to linear.</summary>
    public double Delta { get; }

    /// <inheritdoc/>
    protected override Value Build(Value input, Value target)
    {
        RequireSameShape(input, target);
        return ApplyOp("HuberLoss", [input, target], new() { ["delta"] = Delta });
    }
}

/// <summary>
/// PyTorch's SmoothL1Loss: 0.5 d^2 / beta where |d| &lt; beta, else |d| - beta / 2; beta 0 is the L1 loss. It is the
/// Huber loss with delta = beta divided by beta, and is computed so (one definition of the piecewise formula).
/// </summary>
public sealed class SmoothL1Loss : Loss
{
    /// <summary>Creates the loss; <paramref name="beta"/> must not be negative.</summary>
    public SmoothL1Loss(Reduction reduction = Reduction.Mean, double beta = 1.0)
        : base(reduction)
    {
        if (!(beta >= 0) || double.IsInfinity(beta)) throw new ArgumentOutOfRangeException(nameof(beta), beta, $"{DisplayName}: beta {beta.ToString(CultureInfo.InvariantCulture)} must be non-negative and finite.");
        Beta = beta;
    }

    /// <summary>Where the loss turns from quadratic to linear.</summary>
    public double Beta { get; }

    /// <inheritdoc/>
    protected override Value Build(Value input, Value target)
    {
        RequireSameShape(input, target);
        return Beta == 0 ? ApplyOp("MeanAbsoluteError", [input, target]) : ApplyOp("HuberLoss", [input, target], new() { ["delta"] = Beta }) / Beta;
    }
}

/// <summary>
/// PyTorch's BCELoss on probabilities: -weight (t log p + (1 - t) log(1 - p)), each log clamped at -100 as PyTorch
/// does. Prefer <see cref="BceWithLogitsLoss"/>, which is stable for any logits.
/// </summary>
public sealed class BceLoss : Loss
{
    private readonly (double[] Values, long[] Shape)? _weight;

    /// <summary>Creates the loss; <paramref name="weight"/> (copied) rescales each element and must broadcast to the input.</summary>
    public BceLoss(Tensor? weight = null, Reduction reduction = Reduction.Mean)
        : base(reduction) => _weight = CopyWeight(weight, nameof(weight), classWeight: false);

    /// <inheritdoc/>
    protected override Value Build(Value input, Value target)
    {
        RequireSameShape(input, target);
        return ApplyOp("BinaryCrossEntropy", _weight is { } w ? [input, target, Constant(input, w.Values, w.Shape)] : [input, target]);
    }
}

/// <summary>
/// PyTorch's BCEWithLogitsLoss: -weight (pos_weight t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))), computed
/// through softplus so that it is stable for any logits.
/// </summary>
public sealed class BceWithLogitsLoss : Loss
{
    private readonly (double[] Values, long[] Shape)? _weight, _posWeight;

    /// <summary>
    /// Creates the loss. <paramref name="weight"/> rescales each element; <paramref name="posWeight"/> weighs the
    /// positive term (per class when shaped like the last axis). Both are copied and must broadcast to the input.
    /// </summary>
    public BceWithLogitsLoss(Tensor? weight = null, Reduction reduction = Reduction.Mean, Tensor? posWeight = null)
        : base(reduction)
    {
        _weight = CopyWeight(weight, nameof(weight), classWeight: false);
        _posWeight = CopyWeight(posWeight, "pos_weight", classWeight: false);
    }

    /// <inheritdoc/>
    protected override Value Build(Value input, Value target)
    {
        RequireSameShape(input, target);
        var inputs = new List<Value> { input, target };
        if (_weight is not null || _posWeight is not null) inputs.Add(_weight is { } w ? Constant(input, w.Values, w.Shape) : input.Graph.Scalar(1, input.DType));
        if (_posWeight is { } p) inputs.Add(Constant(input, p.Values, p.Shape));
        return ApplyOp("BinaryCrossEntropyWithLogits", [.. inputs]);
    }
}

/// <summary>
/// The class-index and class-distribution losses (<see cref="CrossEntropyLoss"/>, <see cref="NllLoss"/>): the input
/// is (N, C, d1, ...) or (C), classes on axis 1 (axis 0 unbatched) as in PyTorch.
/// </summary>
public abstract class ClassificationLoss : Loss
{
    private readonly (double[] Values, long[] Shape)? _weight;

    /// <summary>Checks and stores the options.</summary>
    private protected ClassificationLoss(Tensor? weight, long ignoreIndex, Reduction reduction, double labelSmoothing)
        : base(reduction)
    {
        _weight = CopyWeight(weight, nameof(weight), classWeight: true);
        if (!(labelSmoothing >= 0 && labelSmoothing <= 1))
        {
            throw new ArgumentOutOfRangeException("label_smoothing", labelSmoothing, $"{DisplayName}: label_smoothing {labelSmoothing.ToString(CultureInfo.InvariantCulture)} is outside [0, 1].");
        }

        IgnoreIndex = ignoreIndex;
        LabelSmoothing = labelSmoothing;
    }

    /// <summary>A class index whose samples add nothing to the loss nor to the mean's denominator, and get zero gradient.</summary>
    public long IgnoreIndex { get; }

    /// <summary>The share of the target spread evenly over all classes.</summary>
    public double LabelSmoothing { get; }

    /// <summary>The composite op applied to (scores, target distribution): SoftmaxCrossEntropy or NegativeLogLikelihood.</summary>
    private protected abstract string DistributionOp { get; }

    /// <summary>Whether a floating-point target (class probabilities) is accepted.</summary>
    private protected abstract bool AcceptsProbabilities { get; }

    /// <inheritdoc/>
    protected override Value Build(Value input, Value target)
    {
        if (input.Rank == 0) throw new GraphValidationException($"{DisplayName}: the input must be (C) or (N, C, d1, ...), not a scalar.");
        int classAxis = input.Rank == 1 ? 0 : 1;
        Dim classes = input.Type[classAxis];
        if (!classes.IsKnown) throw new GraphValidationException($"{DisplayName}: the class axis {classAxis} of input {input.Type.ShapeText} must have a known size.");
        if (_weight is { } w && w.Values.Length != classes.Value)
        {
            throw new GraphValidationException($"{DisplayName}: weight has {w.Values.Length} values but input {input.Type.ShapeText} has {classes.Value} classes.");
        }

        Value? classWeight = _weight is { } cw ? Constant(input, cw.Values, ClassShape(cw.Values.Length, input.Rank - classAxis - 1)) : null;
        var attributes = new Dictionary<string, object> { ["axis"] = (long)classAxis };
        if (target.DType.IsFloatingPoint())
        {
            if (!AcceptsProbabilities) throw new GraphValidationException($"{DisplayName}: target '{target.Name}' is {target.DType.ShortName()}; it must hold class indices (i64 or i32).");
            RequireSameShape(input, target);

            // PyTorch: smooth the probabilities, weigh each class; the mean is over samples.
            Value probabilities = LabelSmoothing == 0 ? target : (1 - LabelSmoothing) * target + LabelSmoothing / classes.Value;
            return ApplyOp(DistributionOp, [input, classWeight is null ? probabilities : probabilities * classWeight], attributes);
        }

        if (target.DType is not (DType.I64 or DType.I32)) throw new GraphValidationException($"{DisplayName}: target '{target.Name}' is {target.DType.ShortName()}; it must hold class indices (i64 or i32) or class probabilities.");
        Dim[] expected = [.. input.Type.Dims[..classAxis].ToArray(), .. input.Type.Dims[(classAxis + 1)..].ToArray()];
        if (!target.Type.Dims.SequenceEqual(expected))
        {
            throw new GraphValidationException($"{DisplayName}: class-index target {target.Type.ShapeText} must be the input {input.Type.ShapeText} without its class axis {classAxis}, [{string.Join(", ", expected)}].");
        }

        return ClassIndexLoss(input, target, classAxis, classes.Value, classWeight, attributes);
    }

    // One target distribution q per sample i: q_ic = kept_i w_c ((1 - s) [c = t_i] + s / C), kept_i = [t_i != ignore_index].
    // Sum over i of -sum_c q_ic log p_ic is PyTorch's numerator for both the NLL and the label-smoothing term, and its
    // mean divides by sum_i kept_i w_(t_i); ignored samples have q = 0, so their gradient is 0. An index outside [0, C)
    // other than ignore_index matches no class and contributes nothing (PyTorch raises; the graph cannot check values).
    private Value ClassIndexLoss(Value input, Value target, int classAxis, long classes, Value? classWeight, Dictionary<string, object> attributes)
    {
        Graph g = input.Graph;
        long[] ids = new long[classes];
        for (int c = 0; c < classes; c++) ids[c] = c;
        using Tensor idData = Tensor.FromArray(ids, ClassShape(classes, input.Rank - classAxis - 1));
        Value classIds = g.Constant(idData.Cast(target.DType).MoveToOuterScope());
        Value indices = g.Apply("Unsqueeze", [target, g.Constant(Tensor.FromArray(new long[] { classAxis }).MoveToOuterScope())])[0];
        Value oneHot = g.Apply("Equal", [indices, classIds])[0].Cast(input.DType);
        Value kept = 1.0 - g.Apply("Equal", [indices, g.Scalar(IgnoreIndex, target.DType)])[0].Cast(input.DType);
        Value picked = oneHot * kept;
        if (classWeight is not null) picked *= classWeight;
        Value distribution = LabelSmoothing == 0 ? picked
            : (1 - LabelSmoothing) * picked + (LabelSmoothing / classes) * (classWeight is null ? kept : kept * classWeight);
        if (Reduction != Reduction.Mean) return ApplyOp(DistributionOp, [input, distribution], attributes);
        attributes["reduction"] = "sum";
        return input.Graph.Apply(DistributionOp, [input, distribution], attributes)[0] / picked.Sum();
    }

    /// <summary>(C, 1, ..., 1): class values broadcasting along axis 1 of (N, C, d1, ...) with <paramref name="trailing"/> extra axes.</summary>
    private static long[] ClassShape(long classes, int trailing) => [classes, .. Enumerable.Repeat(1L, trailing)];
}

/// <summary>
/// PyTorch's CrossEntropyLoss from logits: input (N, C, d1, ...) or (C); target either class indices (i64 or i32,
/// shaped like the input without axis 1) or class probabilities (the input's shape). Options: class
/// <c>weight</c> (the mean is then weighted: divided by the summed weights of the targets), <c>ignore_index</c>
/// (index targets only; those samples are left out of the mean's denominator), <c>label_smoothing</c>.
/// Computed through LogSoftmax, so it is stable for any logits.
/// </summary>
public sealed class CrossEntropyLoss(Tensor? weight = null, long ignoreIndex = -100, Reduction reduction = Reduction.Mean, double labelSmoothing = 0.0)
    : ClassificationLoss(weight, ignoreIndex, reduction, labelSmoothing)
{
    private protected override string DistributionOp => "SoftmaxCrossEntropy";

    private protected override bool AcceptsProbabilities => true;
}

/// <summary>
/// PyTorch's NLLLoss on log-probabilities: input (N, C, d1, ...) or (C), class-index target (i64 or i32), class
/// <c>weight</c> (weighted mean) and <c>ignore_index</c> as <see cref="CrossEntropyLoss"/>. No label smoothing, as in PyTorch.
/// </summary>
public sealed class NllLoss(Tensor? weight = null, long ignoreIndex = -100, Reduction reduction = Reduction.Mean)
    : ClassificationLoss(weight, ignoreIndex, reduction, 0.0)
{
    private protected override string DistributionOp => "NegativeLogLikelihood";

    private protected override bool AcceptsProbabilities => false;
}

/// <summary>
/// PyTorch's KLDivLoss: input log q, target p (or log p with <paramref name="logTarget"/>); pointwise p (log p - log q),
/// 0 where p is 0. As in PyTorch the default reduction is Mean, over every element; <see cref="Reduction.BatchMean"/>
/// gives the KL divergence per sample.
/// </summary>
public sealed class KLDivLoss(Reduction reduction = Reduction.Mean, bool logTarget = false) : Loss(reduction, allowsBatchMean: true)
{
    /// <summary>Whether the target holds log-probabilities.</summary>
    public bool LogTarget { get; } = logTarget;

    /// <inheritdoc/>
    protected override Value Build(Value input, Value target)
    {
        RequireSameShape(input, target);
        return ApplyOp("KLDivergence", [input, target], new() { ["log_target"] = LogTarget ? 1L : 0L });
    }
}

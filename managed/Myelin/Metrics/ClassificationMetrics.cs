namespace Myelin.Metrics;

/// <summary>How <see cref="Precision"/>, <see cref="Recall"/> and <see cref="F1Score"/> combine classes, as scikit-learn's <c>average</c>.</summary>
public enum Average
{
    /// <summary>The score of the positive label only (two classes).</summary>
    Binary,

    /// <summary>The unweighted mean of the per-class scores over the classes seen in targets or predictions.</summary>
    Macro,

    /// <summary>The score of the summed true positives, false positives and false negatives of all classes.</summary>
    Micro,

    /// <summary>The mean of the per-class scores weighted by each class's support (its count among the targets).</summary>
    Weighted,
}

/// <summary>
/// A metric of predicted class labels against target labels. Predictions may be labels (integer or bool tensors),
/// scores or probabilities of shape (N, C) with C &gt; 1 (the label is the first arg-max), or binary scores of shape
/// (N) or (N, 1) (label 1 where the score is greater than <see cref="Threshold"/>: 0.5 for probabilities, 0 for logits).
/// </summary>
public abstract class LabelMetric<TResult> : Metric<TResult>
{
    /// <summary>Checks and stores the options; <paramref name="classes"/> null leaves labels unchecked.</summary>
    private protected LabelMetric(long? classes, double threshold)
    {
        if (classes is < 1) throw new ArgumentOutOfRangeException(nameof(classes), classes, $"{GetType().Name}: the number of classes {classes} must be positive.");
        if (double.IsNaN(threshold)) throw new ArgumentOutOfRangeException(nameof(threshold), threshold, $"{GetType().Name}: the threshold is NaN.");
        Classes = classes;
        Threshold = threshold;
    }

    /// <summary>The number of classes; labels must lie in [0, Classes). Null when unchecked.</summary>
    public long? Classes { get; }

    /// <summary>The score above which a binary prediction is label 1.</summary>
    public double Threshold { get; }

    /// <inheritdoc/>
    public override void Update(Tensor predictions, Tensor targets)
    {
        long[] target = Labels(targets, nameof(targets));
        Update(PredictedLabels(predictions), target);
    }

    /// <summary>Adds one batch of predicted labels and target labels.</summary>
    public void Update(ReadOnlySpan<long> predicted, ReadOnlySpan<long> targets)
    {
        RequireSameCount(predicted.Length, targets.Length);
        if (Classes is long classes)
        {
            RequireInRange(predicted, classes, "predicted");
            RequireInRange(targets, classes, "target");
        }

        Accumulate(predicted, targets);
    }

    /// <summary>Adds validated labels.</summary>
    private protected abstract void Accumulate(ReadOnlySpan<long> predicted, ReadOnlySpan<long> targets);

    private long[] PredictedLabels(Tensor predictions)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        if (!predictions.DType.IsFloatingPoint()) return Labels(predictions, nameof(predictions));
        Shape shape = predictions.Shape;
        double[] scores = Values(predictions, nameof(predictions));
        if (shape.Rank == 1 || (shape.Rank == 2 && shape[1] == 1))
        {
            return scores.Select(s => s > Threshold ? 1L : 0L).ToArray();
        }

        if (shape.Rank != 2) throw new ArgumentException($"{DisplayName}: predictions of shape {shape} are neither labels, (N) binary scores nor (N, C) class scores.", nameof(predictions));
        int columns = checked((int)shape[1]);
        if (Classes is long expected && columns != expected) throw new ArgumentException($"{DisplayName}: predictions have {columns} class scores but the metric has {expected} classes.", nameof(predictions));
        var labels = new long[shape[0]];
        for (int row = 0; row < labels.Length; row++)
        {
            ReadOnlySpan<double> rowScores = scores.AsSpan(row * columns, columns);
            int best = 0;
            for (int c = 1; c < columns; c++)
            {
                if (rowScores[c] > rowScores[best]) best = c;
            }

            labels[row] = best;
        }

        return labels;
    }
}

/// <summary>The share of predictions equal to their targets (predictions as <see cref="LabelMetric{TResult}"/> describes).</summary>
public sealed class Accuracy(long? classes = null, double threshold = 0.5) : LabelMetric<double>(classes, threshold)
{
    private long _correct, _count;

    /// <inheritdoc/>
    public override double Result
    {
        get
        {
            RequireSamples(_count);
            return (double)_correct / _count;
        }
    }

    /// <inheritdoc/>
    public override void Reset() => (_correct, _count) = (0, 0);

    private protected override void Accumulate(ReadOnlySpan<long> predicted, ReadOnlySpan<long> targets)
    {
        for (int i = 0; i < predicted.Length; i++)
        {
            if (predicted[i] == targets[i]) _correct++;
        }

        _count += predicted.Length;
    }
}

/// <summary>
/// The share of samples whose target is among the <see cref="K"/> highest of its (N, C) class scores. Ties count in
/// the target's favor: it is a hit when fewer than K classes score strictly higher than it.
/// </summary>
public sealed class TopKAccuracy : Metric<double>
{
    private long _hits, _count;

    /// <summary>Creates the metric; <paramref name="k"/> must be positive.</summary>
    public TopKAccuracy(int k)
    {
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), k, $"{nameof(TopKAccuracy)}: k {k} must be positive.");
        K = k;
    }

    /// <summary>How many of the top classes count.</summary>
    public int K { get; }

    /// <inheritdoc/>
    public override double Result
    {
        get
        {
            RequireSamples(_count);
            return (double)_hits / _count;
        }
    }

    /// <inheritdoc/>
    public override void Reset() => (_hits, _count) = (0, 0);

    /// <inheritdoc/>
    public override void Update(Tensor predictions, Tensor targets)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        if (predictions.Shape.Rank != 2) throw new ArgumentException($"{DisplayName}: predictions must be (N, C) class scores, not {predictions.Shape}.", nameof(predictions));
        long[] target = Labels(targets, nameof(targets));
        Update(Values(predictions, nameof(predictions)), checked((int)predictions.Shape[1]), target);
    }

    /// <summary>Adds a batch of row-major (N, <paramref name="classes"/>) scores and N target labels.</summary>
    public void Update(ReadOnlySpan<double> scores, int classes, ReadOnlySpan<long> targets)
    {
        if (classes < 1 || scores.Length % classes != 0) throw new ArgumentException($"{DisplayName}: {scores.Length} scores do not split into rows of {classes} classes.", nameof(scores));
        if (K > classes) throw new ArgumentException($"{DisplayName}: k {K} is larger than the {classes} classes.", nameof(classes));
        RequireSameCount(scores.Length / classes, targets.Length);
        RequireInRange(targets, classes, "target");
        for (int row = 0; row < targets.Length; row++)
        {
            ReadOnlySpan<double> rowScores = scores.Slice(row * classes, classes);
            double targetScore = rowScores[(int)targets[row]];
            int higher = 0;
            foreach (double s in rowScores)
            {
                if (s > targetScore) higher++;
            }

            if (higher < K) _hits++;
        }

        _count += targets.Length;
    }
}

/// <summary>
/// Counts of (target, predicted) label pairs: <c>Result[t, p]</c> is how many samples of class t were predicted p,
/// rows true and columns predicted as in scikit-learn's confusion_matrix.
/// </summary>
public sealed class ConfusionMatrix : LabelMetric<long[,]>
{
    private readonly long[,] _counts;

    /// <summary>Creates the metric for labels in [0, <paramref name="classes"/>).</summary>
    public ConfusionMatrix(long classes, double threshold = 0.5)
        : base(classes, threshold) => _counts = new long[classes, classes];

    /// <summary>A copy of the counts.</summary>
    public override long[,] Result => (long[,])_counts.Clone();

    /// <inheritdoc/>
    public override void Reset() => Array.Clear(_counts);

    /// <summary>The count of samples of class <paramref name="target"/> predicted <paramref name="predicted"/>.</summary>
    internal long this[long target, long predicted] => _counts[target, predicted];

    private protected override void Accumulate(ReadOnlySpan<long> predicted, ReadOnlySpan<long> targets)
    {
        for (int i = 0; i < predicted.Length; i++) _counts[targets[i], predicted[i]]++;
    }
}

/// <summary>
/// A per-class score from true positives, false positives and false negatives, combined by <see cref="Average"/>
/// as scikit-learn does; a score whose denominator is zero counts as 0 (scikit-learn's zero_division default, without
/// its warning). Kept as a <see cref="ConfusionMatrix"/>.
/// </summary>
public abstract class ClassScore : LabelMetric<double>
{
    private readonly ConfusionMatrix _matrix;

    /// <summary>Checks and stores the options; <see cref="Average.Binary"/> needs two classes.</summary>
    private protected ClassScore(Average average, long classes, long positiveLabel, double threshold)
        : base(classes, threshold)
    {
        if (!Enum.IsDefined(average)) throw new ArgumentOutOfRangeException(nameof(average), average, $"{GetType().Name}: average {average} is not defined.");
        if (average == Average.Binary && classes != 2) throw new ArgumentException($"{GetType().Name}: average Binary needs 2 classes, not {classes}; use Macro, Micro or Weighted.", nameof(classes));
        if (positiveLabel < 0 || positiveLabel >= classes) throw new ArgumentOutOfRangeException(nameof(positiveLabel), positiveLabel, $"{GetType().Name}: positive label {positiveLabel} is outside [0, {classes}).");
        Average = average;
        PositiveLabel = positiveLabel;
        _matrix = new ConfusionMatrix(classes, threshold);
    }

    /// <summary>How classes combine.</summary>
    public Average Average { get; }

    /// <summary>The class scored by <see cref="Average.Binary"/>.</summary>
    public long PositiveLabel { get; }

    /// <inheritdoc/>
    public override double Result
    {
        get
        {
            long classes = Classes!.Value;
            var (tp, fp, fn, support, seen) = (new long[classes], new long[classes], new long[classes], new long[classes], new bool[classes]);
            long total = 0;
            for (long t = 0; t < classes; t++)
            {
                for (long p = 0; p < classes; p++)
                {
                    long n = _matrix[t, p];
                    total += n;
                    if (t == p) tp[t] += n;
                    else
                    {
                        fn[t] += n;
                        fp[p] += n;
                    }

                    support[t] += n;
                    if (n > 0) seen[t] = seen[p] = true;
                }
            }

            RequireSamples(total);
            return Average switch
            {
                Average.Binary => Score(tp[PositiveLabel], fp[PositiveLabel], fn[PositiveLabel]),
                Average.Micro => Score(tp.Sum(), fp.Sum(), fn.Sum()),
                Average.Macro => Enumerable.Range(0, (int)classes).Where(c => seen[c]).Average(c => Score(tp[c], fp[c], fn[c])),
                _ => Enumerable.Range(0, (int)classes).Sum(c => support[c] * Score(tp[c], fp[c], fn[c])) / total,
            };
        }
    }

    /// <inheritdoc/>
    public override void Reset() => _matrix.Reset();

    private protected override void Accumulate(ReadOnlySpan<long> predicted, ReadOnlySpan<long> targets) => _matrix.Update(predicted, targets);

    /// <summary>The score of one class (or of the micro sums); 0 where its denominator is 0.</summary>
    private protected abstract double Score(long truePositives, long falsePositives, long falseNegatives);

    /// <summary><paramref name="numerator"/> / <paramref name="denominator"/>, or 0 when the denominator is 0.</summary>
    private protected static double Ratio(long numerator, long denominator) => denominator == 0 ? 0 : (double)numerator / denominator;
}

/// <summary>Precision tp / (tp + fp), as scikit-learn's precision_score (default: binary, positive label 1).</summary>
public sealed class Precision(Average average = Average.Binary, long classes = 2, long positiveLabel = 1, double threshold = 0.5)
    : ClassScore(average, classes, positiveLabel, threshold)
{
    private protected override double Score(long truePositives, long falsePositives, long falseNegatives) => Ratio(truePositives, truePositives + falsePositives);
}

/// <summary>Recall tp / (tp + fn), as scikit-learn's recall_score (default: binary, positive label 1).</summary>
public sealed class Recall(Average average = Average.Binary, long classes = 2, long positiveLabel = 1, double threshold = 0.5)
    : ClassScore(average, classes, positiveLabel, threshold)
{
    private protected override double Score(long truePositives, long falsePositives, long falseNegatives) => Ratio(truePositives, truePositives + falseNegatives);
}

/// <summary>F1 = 2 tp / (2 tp + fp + fn), the harmonic mean of precision and recall, as scikit-learn's f1_score.</summary>
public sealed class F1Score(Average average = Average.Binary, long classes = 2, long positiveLabel = 1, double threshold = 0.5)
    : ClassScore(average, classes, positiveLabel, threshold)
{
    private protected override double Score(long truePositives, long falsePositives, long falseNegatives) =>
        Ratio(2 * truePositives, 2 * truePositives + falsePositives + falseNegatives);
}

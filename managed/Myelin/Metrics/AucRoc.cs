namespace Myelin.Metrics;

/// <summary>
/// Binary area under the ROC curve, exact: the Mann-Whitney statistic, the probability that a random positive scores
/// higher than a random negative, ties counting one half (scikit-learn's roc_auc_score gives the same value). Every
/// score is kept until <see cref="Reset"/> (9 bytes per sample, plus list growth), and <see cref="Result"/> sorts them:
/// O(n log n).
/// </summary>
public sealed class BinaryAucRoc : Metric<double>
{
    private readonly List<double> _scores = [];
    private readonly List<bool> _positive = [];

    /// <summary>The number of samples kept.</summary>
    public int Count => _scores.Count;

    /// <inheritdoc/>
    /// <remarks>Scores: (N) or (N, 1), probabilities or logits (any monotone score); targets: labels 0 or 1.</remarks>
    public override void Update(Tensor predictions, Tensor targets)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        if (predictions.Shape.Rank > 2 || (predictions.Shape.Rank == 2 && predictions.Shape[1] != 1))
        {
            throw new ArgumentException($"{DisplayName}: predictions must be (N) or (N, 1) scores, not {predictions.Shape}.", nameof(predictions));
        }

        long[] target = Labels(targets, nameof(targets));
        Update(Values(predictions, nameof(predictions)), target);
    }

    /// <summary>Adds a batch of scores and their 0/1 targets.</summary>
    public void Update(ReadOnlySpan<double> scores, ReadOnlySpan<long> targets)
    {
        RequireSameCount(scores.Length, targets.Length);
        RequireInRange(targets, 2, "target");
        for (int i = 0; i < scores.Length; i++)
        {
            if (double.IsNaN(scores[i])) throw new ArgumentException($"{DisplayName}: score at index {i} is NaN.", nameof(scores));
            _scores.Add(scores[i]);
            _positive.Add(targets[i] == 1);
        }
    }

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">The targets so far lack positives or negatives: the AUC is undefined.</exception>
    public override double Result
    {
        get
        {
            int n = _scores.Count;
            long positives = _positive.Count(p => p), negatives = n - positives;
            if (positives == 0 || negatives == 0)
            {
                throw new InvalidOperationException($"{DisplayName}: the AUC needs both classes; the targets so far have {positives} positives and {negatives} negatives.");
            }

            int[] order = Enumerable.Range(0, n).ToArray();
            double[] keys = [.. _scores];
            Array.Sort(keys, order);

            // Sum of the positives' ranks (1-based), each run of tied scores sharing its average rank.
            double positiveRanks = 0;
            for (int start = 0; start < n;)
            {
                int end = start;
                while (end + 1 < n && keys[end + 1] == keys[start]) end++;
                double averageRank = (start + end) / 2.0 + 1;
                for (int i = start; i <= end; i++)
                {
                    if (_positive[order[i]]) positiveRanks += averageRank;
                }

                start = end + 1;
            }

            double u = positiveRanks - positives * (positives + 1) / 2.0;
            return u / ((double)positives * negatives);
        }
    }

    /// <inheritdoc/>
    public override void Reset()
    {
        _scores.Clear();
        _positive.Clear();
    }
}

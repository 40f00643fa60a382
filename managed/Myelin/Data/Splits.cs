namespace Myelin.Data;

/// <summary>A dataset cut into training, validation and test parts.</summary>
/// <param name="Train">The training samples.</param>
/// <param name="Validation">The validation samples.</param>
/// <param name="Test">The test samples.</param>
public sealed record DatasetSplit(InMemoryDataset Train, InMemoryDataset Validation, InMemoryDataset Test);

/// <summary>One fold of k-fold cross-validation: the sample indices to train on and to validate on.</summary>
/// <param name="Index">The 0-based fold number.</param>
/// <param name="TrainIndices">Indices of the training samples.</param>
/// <param name="ValidationIndices">Indices of the held-out samples.</param>
public sealed record Fold(int Index, int[] TrainIndices, int[] ValidationIndices);

/// <summary>The scores of a cross-validation run, one per fold, with their mean and standard deviation.</summary>
/// <param name="Scores">The metric of every fold, in fold order.</param>
/// <param name="Mean">The mean score.</param>
/// <param name="StandardDeviation">The population standard deviation of the scores (NumPy's default, as scikit-learn's reports use).</param>
public sealed record CrossValidationResult(IReadOnlyList<double> Scores, double Mean, double StandardDeviation);

/// <summary>Seeded train/validation/test splits, stratified splits and k-fold cross-validation.</summary>
public static class Splits
{
    /// <summary>
    /// Splits <paramref name="dataset"/> at random into training, validation and test parts of the given fractions
    /// (the training part gets the rest). Stratified, every part keeps the class proportions of the whole as nearly
    /// as whole counts allow.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A fraction is outside [0, 1) or they sum to 1 or more.</exception>
    /// <exception cref="InvalidOperationException">Stratification was asked for a dataset without class labels.</exception>
    public static DatasetSplit TrainValidationTest(InMemoryDataset dataset, double validationFraction, double testFraction,
        ulong seed, bool stratify = false)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        CheckFraction(validationFraction, nameof(validationFraction));
        CheckFraction(testFraction, nameof(testFraction));
        if (validationFraction + testFraction >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(testFraction), testFraction,
                $"The validation ({validationFraction}) and test ({testFraction}) fractions must leave some training data.");
        }

        var random = new Generator(seed);
        var train = new List<int>();
        var validation = new List<int>();
        var test = new List<int>();
        int seen = 0;
        foreach (int[] group in Groups(dataset, stratify, random))
        {
            // Cumulative rounding over the groups keeps the totals at the rounded fractions of the whole.
            int testCount = RoundedShare(seen + group.Length, testFraction) - RoundedShare(seen, testFraction);
            int validationCount = RoundedShare(seen + group.Length, validationFraction) - RoundedShare(seen, validationFraction);
            validationCount = Math.Min(validationCount, group.Length - testCount);
            seen += group.Length;
            test.AddRange(group[..testCount]);
            validation.AddRange(group[testCount..(testCount + validationCount)]);
            train.AddRange(group[(testCount + validationCount)..]);
        }

        return new DatasetSplit(
            dataset.Subset(Shuffled(train, random)), dataset.Subset(Shuffled(validation, random)), dataset.Subset(Shuffled(test, random)));
    }

    /// <summary>
    /// The folds of k-fold cross-validation: every sample is held out in exactly one fold, and fold sizes differ by at
    /// most one. Shuffled with <paramref name="seed"/> unless <paramref name="shuffle"/> is false; stratified, every
    /// fold keeps the class proportions (as scikit-learn's StratifiedKFold).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> is below 2 or above the sample count.</exception>
    public static IReadOnlyList<Fold> KFold(InMemoryDataset dataset, int k, ulong seed, bool stratify = false, bool shuffle = true)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (k < 2 || k > dataset.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(k), k, $"k-fold needs 2 <= k <= the {dataset.Count} samples.");
        }

        var held = new List<int>[k];
        for (int f = 0; f < k; f++)
        {
            held[f] = [];
        }

        if (!shuffle && !stratify)
        {
            // Contiguous blocks, as scikit-learn's KFold without shuffling.
            for (int f = 0; f < k; f++)
            {
                int start = (int)((long)dataset.Count * f / k), end = (int)((long)dataset.Count * (f + 1) / k);
                held[f].AddRange(Enumerable.Range(start, end - start));
            }
        }
        else
        {
            // Dealing the class-sorted samples round-robin gives each fold its share of every class.
            int next = 0;
            foreach (int[] group in Groups(dataset, stratify, shuffle ? new Generator(seed) : null))
            {
                foreach (int index in group)
                {
                    held[next++ % k].Add(index);
                }
            }
        }

        var folds = new Fold[k];
        for (int f = 0; f < k; f++)
        {
            int[] validation = [.. held[f].Order()];
            var inFold = new HashSet<int>(validation);
            int[] train = Enumerable.Range(0, dataset.Count).Where(i => !inFold.Contains(i)).ToArray();
            folds[f] = new Fold(f, train, validation);
        }

        return folds;
    }

    /// <summary>
    /// Runs <paramref name="evaluate"/> (train on the first dataset, return a metric on the second) on every fold of
    /// <paramref name="folds"/> and reports the scores' mean and standard deviation.
    /// </summary>
    public static CrossValidationResult CrossValidate(InMemoryDataset dataset, IReadOnlyList<Fold> folds,
        Func<InMemoryDataset, InMemoryDataset, Fold, double> evaluate)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(folds);
        ArgumentNullException.ThrowIfNull(evaluate);
        if (folds.Count == 0)
        {
            throw new ArgumentException("Cross-validation needs at least one fold.", nameof(folds));
        }

        var scores = new double[folds.Count];
        for (int f = 0; f < folds.Count; f++)
        {
            Fold fold = folds[f];
            scores[f] = evaluate(dataset.Subset(fold.TrainIndices), dataset.Subset(fold.ValidationIndices), fold);
        }

        double mean = scores.Average();
        double deviation = Math.Sqrt(scores.Sum(s => (s - mean) * (s - mean)) / scores.Length);
        return new CrossValidationResult(scores, mean, deviation);
    }

    /// <summary>Fisher-Yates shuffle drawing from <paramref name="random"/>.</summary>
    internal static void ShuffleInPlace(Span<int> values, Generator random)
    {
        for (int i = values.Length - 1; i > 0; i--)
        {
            int j = UniformBelow(random, i + 1);
            (values[i], values[j]) = (values[j], values[i]);
        }
    }

    /// <summary>An unbiased integer in [0, bound), by rejection (Lemire's method without the division shortcut).</summary>
    private static int UniformBelow(Generator random, int bound)
    {
        uint limit = uint.MaxValue - (uint.MaxValue % (uint)bound);
        uint draw;
        do
        {
            draw = random.NextUInt32();
        }
        while (draw >= limit);

        return (int)(draw % (uint)bound);
    }

    private static int RoundedShare(int count, double fraction) => (int)Math.Round(count * fraction, MidpointRounding.AwayFromZero);

    private static int[] Shuffled(List<int> indices, Generator random)
    {
        int[] result = [.. indices];
        ShuffleInPlace(result, random);
        return result;
    }

    /// <summary>The sample indices, one group per class when stratifying (else one group), each shuffled if a generator is given.</summary>
    private static IEnumerable<int[]> Groups(InMemoryDataset dataset, bool stratify, Generator? random)
    {
        IEnumerable<int[]> groups;
        if (stratify)
        {
            if (!dataset.HasClassLabels)
            {
                throw new InvalidOperationException("Stratification needs class labels but the dataset's targets are float values.");
            }

            long[] labels = dataset.Labels.ToArray();
            groups = Enumerable.Range(0, dataset.Count).GroupBy(i => labels[i]).OrderBy(g => g.Key).Select(g => g.ToArray()).ToList();
        }
        else
        {
            groups = [Enumerable.Range(0, dataset.Count).ToArray()];
        }

        foreach (int[] group in groups)
        {
            if (random is not null)
            {
                ShuffleInPlace(group, random);
            }

            yield return group;
        }
    }

    private static void CheckFraction(double fraction, string name)
    {
        if (!(fraction is >= 0 and < 1))
        {
            throw new ArgumentOutOfRangeException(name, fraction, "A split fraction must lie in [0, 1).");
        }
    }
}

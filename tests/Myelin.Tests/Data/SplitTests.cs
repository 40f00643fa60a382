using Myelin.Data;
using NUnit.Framework;

namespace Myelin.Tests.Data;

public class SplitTests
{
    // 60 samples of class 0, 30 of class 1, 10 of class 2; feature = sample index.
    private static InMemoryDataset Unbalanced() => InMemoryDataset.FromLabels(
        Enumerable.Range(0, 100).Select(i => (float)i).ToArray(), [1],
        Enumerable.Range(0, 100).Select(i => i < 60 ? 0L : i < 90 ? 1L : 2L).ToArray());

    private static int[] ClassCounts(InMemoryDataset d) =>
        Enumerable.Range(0, 3).Select(c => d.Labels.ToArray().Count(l => l == c)).ToArray();

    [Test]
    public void StratifiedSplitKeepsClassProportionsAndUsesEverySampleOnce()
    {
        DatasetSplit split = Splits.TrainValidationTest(Unbalanced(), 0.2, 0.1, seed: 3, stratify: true);
        Assert.That(ClassCounts(split.Test), Is.EqualTo(new[] { 6, 3, 1 }));
        Assert.That(ClassCounts(split.Validation), Is.EqualTo(new[] { 12, 6, 2 }));
        Assert.That(ClassCounts(split.Train), Is.EqualTo(new[] { 42, 21, 7 }));
        float[] all = [.. split.Train.Features.ToArray(), .. split.Validation.Features.ToArray(), .. split.Test.Features.ToArray()];
        Assert.That(all.Order(), Is.EqualTo(Enumerable.Range(0, 100).Select(i => (float)i)));
    }

    [Test]
    public void PlainSplitIsSeededAndSized()
    {
        DatasetSplit a = Splits.TrainValidationTest(Unbalanced(), 0.25, 0.15, seed: 9);
        DatasetSplit b = Splits.TrainValidationTest(Unbalanced(), 0.25, 0.15, seed: 9);
        DatasetSplit c = Splits.TrainValidationTest(Unbalanced(), 0.25, 0.15, seed: 10);
        Assert.That((a.Train.Count, a.Validation.Count, a.Test.Count), Is.EqualTo((60, 25, 15)));
        Assert.That(b.Test.Features.ToArray(), Is.EqualTo(a.Test.Features.ToArray()));
        Assert.That(c.Test.Features.ToArray(), Is.Not.EqualTo(a.Test.Features.ToArray()));
        Assert.Throws<ArgumentOutOfRangeException>(() => Splits.TrainValidationTest(Unbalanced(), 0.5, 0.5, 1));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void KFoldHoldsOutEverySampleExactlyOnce(bool stratify)
    {
        IReadOnlyList<Fold> folds = Splits.KFold(Unbalanced(), 5, seed: 1, stratify: stratify);
        Assert.That(folds.SelectMany(f => f.ValidationIndices).Order(), Is.EqualTo(Enumerable.Range(0, 100)));
        foreach (Fold fold in folds)
        {
            Assert.That(fold.ValidationIndices, Has.Length.EqualTo(20));
            Assert.That(fold.TrainIndices.Concat(fold.ValidationIndices).Order(), Is.EqualTo(Enumerable.Range(0, 100)));
            if (stratify)
            {
                var labels = Unbalanced().Labels.ToArray();
                Assert.That(Enumerable.Range(0, 3).Select(c => fold.ValidationIndices.Count(i => labels[i] == c)), Is.EqualTo(new[] { 12, 6, 2 }));
            }
        }
    }

    [Test]
    public void CrossValidateReportsMeanAndStandardDeviation()
    {
        InMemoryDataset data = Unbalanced();
        IReadOnlyList<Fold> folds = Splits.KFold(data, 4, seed: 0, shuffle: false);
        // Score each fold by the mean feature of its held-out block: 12, 37, 62, 87.
        CrossValidationResult result = Splits.CrossValidate(data, folds, (train, validation, fold) =>
        {
            Assert.That(train.Count + validation.Count, Is.EqualTo(100));
            return validation.Features.ToArray().Average();
        });
        Assert.That(result.Scores, Is.EqualTo(new[] { 12.0, 37.0, 62.0, 87.0 }));
        Assert.That(result.Mean, Is.EqualTo(49.5));
        Assert.That(result.StandardDeviation, Is.EqualTo(Math.Sqrt((37.5 * 37.5 + 12.5 * 12.5) * 2 / 4)).Within(1e-12));
    }
}

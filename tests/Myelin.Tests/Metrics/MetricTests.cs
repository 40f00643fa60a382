using Myelin.Metrics;
using NUnit.Framework;

namespace Myelin.Tests.Metrics;

public class MetricTests
{
    // scikit-learn's documented multiclass example (precision_score / recall_score / f1_score docstrings).
    private static readonly long[] s_sklearnTrue = [0, 1, 2, 0, 1, 2];
    private static readonly long[] s_sklearnPred = [0, 2, 1, 0, 0, 1];

    [Test]
    public void AccuracyFromLabelsLogitsAndThresholdedProbabilities()
    {
        var labels = new Accuracy();
        labels.Update([0, 1, 2, 2], [0, 2, 2, 1]);
        Assert.That(labels.Result, Is.EqualTo(0.5));

        var logits = new Accuracy(classes: 3);
        using Tensor scores = Tensor.FromArray(new float[] { 2, 1, 0, -1, 3, 0, 0, 0, 5 }, 3, 3);
        using Tensor targets = Tensor.FromArray(new long[] { 0, 2, 2 }, 3);
        logits.Update(scores, targets);
        Assert.That(logits.Result, Is.EqualTo(2.0 / 3));

        // A score equal to the threshold is label 0: 0.5 is not above 0.5.
        var binary = new Accuracy();
        using Tensor probabilities = Tensor.FromArray(new float[] { 0.2f, 0.7f, 0.5f, 0.9f }, 4, 1);
        using Tensor binaryTargets = Tensor.FromArray(new long[] { 0, 1, 1, 1 }, 4);
        binary.Update(probabilities, binaryTargets);
        Assert.That(binary.Result, Is.EqualTo(0.75));
        binary.Reset();
        Assert.That(() => binary.Result, Throws.InvalidOperationException.With.Message.Contains("Accuracy: no samples yet"));
    }

    [Test]
    public void TopKAccuracyCountsTiesForTheTarget()
    {
        double[] scores = [0.1, 0.5, 0.4, 0.3, 0.3, 0.4, 0.9, 0.05, 0.05];
        long[] targets = [2, 0, 1];
        var top1 = new TopKAccuracy(1);
        var top2 = new TopKAccuracy(2);
        top1.Update(scores, 3, targets);
        top2.Update(scores, 3, targets);
        Assert.That(top1.Result, Is.EqualTo(0));
        Assert.That(top2.Result, Is.EqualTo(1));
    }

    [Test]
    public void BinaryPrecisionRecallF1ByHand()
    {
        // tp 3 (0, 2, 6), fp 2 (3, 4), fn 1 (1): P 3/5, R 3/4, F1 6/9.
        long[] target = [1, 1, 1, 0, 0, 0, 1, 0], predicted = [1, 0, 1, 1, 1, 0, 1, 0];
        Assert.That(Score(new Precision(), predicted, target), Is.EqualTo(0.6).Within(1e-15));
        Assert.That(Score(new Recall(), predicted, target), Is.EqualTo(0.75).Within(1e-15));
        Assert.That(Score(new F1Score(), predicted, target), Is.EqualTo(2.0 / 3).Within(1e-15));

        // Nothing predicted positive: precision divides by zero and is 0, as scikit-learn's default.
        Assert.That(Score(new Precision(), [0, 0], [1, 0]), Is.EqualTo(0));
        Assert.That(Score(new F1Score(), [0, 0], [1, 0]), Is.EqualTo(0));
        Assert.That(Score(new F1Score(positiveLabel: 0), [0, 0], [1, 0]), Is.EqualTo(2.0 / 3).Within(1e-15));
    }

    [Test]
    public void MulticlassAveragesMatchScikitLearnsDocumentedExample()
    {
        Assert.That(Score(new Precision(Average.Macro, 3), s_sklearnPred, s_sklearnTrue), Is.EqualTo(2.0 / 9).Within(1e-15));
        Assert.That(Score(new Precision(Average.Micro, 3), s_sklearnPred, s_sklearnTrue), Is.EqualTo(1.0 / 3).Within(1e-15));
        Assert.That(Score(new Precision(Average.Weighted, 3), s_sklearnPred, s_sklearnTrue), Is.EqualTo(2.0 / 9).Within(1e-15));
        Assert.That(Score(new Recall(Average.Macro, 3), s_sklearnPred, s_sklearnTrue), Is.EqualTo(1.0 / 3).Within(1e-15));
        Assert.That(Score(new F1Score(Average.Macro, 3), s_sklearnPred, s_sklearnTrue), Is.EqualTo(0.26666666666666666).Within(1e-15));
        Assert.That(Score(new F1Score(Average.Micro, 3), s_sklearnPred, s_sklearnTrue), Is.EqualTo(1.0 / 3).Within(1e-15));
        Assert.That(Score(new F1Score(Average.Weighted, 3), s_sklearnPred, s_sklearnTrue), Is.EqualTo(0.26666666666666666).Within(1e-15));

        // A fourth class that never occurs is left out of the macro mean, as scikit-learn does with labels=None.
        Assert.That(Score(new F1Score(Average.Macro, 4), s_sklearnPred, s_sklearnTrue), Is.EqualTo(0.26666666666666666).Within(1e-15));
    }

    [Test]
    public void ConfusionMatrixRowsAreTargetsAndColumnsPredictions()
    {
        var matrix = new ConfusionMatrix(3);
        matrix.Update(s_sklearnPred, s_sklearnTrue);
        Assert.That(matrix.Result, Is.EqualTo(new long[,] { { 2, 0, 0 }, { 1, 0, 1 }, { 0, 2, 0 } }));
    }

    [Test]
    public void AucRocByHandWithAndWithoutTies()
    {
        // scikit-learn's roc_auc_score example: 0.75. With a tied positive/negative pair counting one half: 3.5 / 4.
        var auc = new BinaryAucRoc();
        auc.Update([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]);
        Assert.That(auc.Result, Is.EqualTo(0.75).Within(1e-15));
        auc.Reset();
        using Tensor scores = Tensor.FromArray(new float[] { 0.5f, 0.5f, 0.2f, 0.9f }, 4);
        using Tensor labels = Tensor.FromArray(new long[] { 1, 0, 0, 1 }, 4);
        auc.Update(scores, labels);
        Assert.That(auc.Result, Is.EqualTo(0.875).Within(1e-15));
        auc.Reset();
        auc.Update([0.3, 0.6], [1, 1]);
        Assert.That(() => auc.Result, Throws.InvalidOperationException.With.Message.Contains("BinaryAucRoc: the AUC needs both classes; the targets so far have 2 positives and 0 negatives"));
    }

    [Test]
    public void RegressionMetricsByHand()
    {
        // Errors 0, -1, -2: MAE 1, MSE 5/3; targets' mean 3, SS_tot 8, so R^2 = 1 - 5/8.
        double[] predicted = [1, 2, 3], target = [1, 3, 5];
        Assert.That(Regress(new MeanAbsoluteError(), predicted, target), Is.EqualTo(1).Within(1e-15));
        Assert.That(Regress(new MeanSquaredError(), predicted, target), Is.EqualTo(5.0 / 3).Within(1e-15));
        Assert.That(Regress(new RootMeanSquaredError(), predicted, target), Is.EqualTo(Math.Sqrt(5.0 / 3)).Within(1e-15));
        Assert.That(Regress(new R2Score(), predicted, target), Is.EqualTo(0.375).Within(1e-15));
        Assert.That(Regress(new R2Score(), [2, 2], [2, 2]), Is.EqualTo(1));
        Assert.That(Regress(new R2Score(), [1, 2], [2, 2]), Is.EqualTo(0));
    }

    [Test]
    public void StreamingOverRandomBatchesMatchesOneShotReferences()
    {
        var random = new Random(17);
        const int n = 500, classes = 4;
        long[] target = Enumerable.Range(0, n).Select(_ => (long)random.Next(classes)).ToArray();
        double[] scores = Enumerable.Range(0, n * classes).Select(_ => Math.Round(random.NextDouble(), 1)).ToArray();
        long[] predicted = Enumerable.Range(0, n).Select(i => (long)Enumerable.Range(0, classes).MaxBy(c => (scores[i * classes + c], -c))).ToArray();
        double[] binaryScores = scores.Where((_, i) => i % classes == 0).ToArray();
        long[] binaryTarget = target.Select(t => t % 2).ToArray();
        double[] regressionPredicted = Enumerable.Range(0, n).Select(_ => 1000 + random.NextDouble() * 10).ToArray();
        double[] regressionTarget = regressionPredicted.Select(p => p + random.NextDouble() * 4 - 2).ToArray();

        var accuracy = new Accuracy(classes);
        var top2 = new TopKAccuracy(2);
        var matrix = new ConfusionMatrix(classes);
        var scoreMetrics = new List<(ClassScore Metric, Func<long, long, long, double> Score, Average Average)>();
        foreach (Average average in new[] { Average.Macro, Average.Micro, Average.Weighted })
        {
            scoreMetrics.Add((new Precision(average, classes), (tp, fp, fn) => tp + fp == 0 ? 0 : (double)tp / (tp + fp), average));
            scoreMetrics.Add((new Recall(average, classes), (tp, fp, fn) => tp + fn == 0 ? 0 : (double)tp / (tp + fn), average));
            scoreMetrics.Add((new F1Score(average, classes), (tp, fp, fn) =>
            {
                double p = tp + fp == 0 ? 0 : (double)tp / (tp + fp), r = tp + fn == 0 ? 0 : (double)tp / (tp + fn);
                return p + r == 0 ? 0 : 2 * p * r / (p + r);
            }, average));
        }

        var auc = new BinaryAucRoc();
        RegressionMetric[] regression = [new MeanAbsoluteError(), new MeanSquaredError(), new RootMeanSquaredError(), new R2Score()];

        int[] batchSizes = [1, 7, 64, 3, 125, 100, 200];
        Assert.That(batchSizes.Sum(), Is.EqualTo(n));
        int start = 0;
        foreach (int size in batchSizes)
        {
            using Tensor batchScores = Tensor.FromArray(scores[(start * classes)..((start + size) * classes)], size, classes);
            using Tensor batchTarget = Tensor.FromArray(target[start..(start + size)], size);
            accuracy.Update(batchScores, batchTarget);
            top2.Update(batchScores, batchTarget);
            matrix.Update(batchScores, batchTarget);
            foreach (var (metric, _, _) in scoreMetrics) metric.Update(batchScores, batchTarget);
            auc.Update(binaryScores.AsSpan(start, size), binaryTarget.AsSpan(start, size));
            using Tensor p = Tensor.FromArray(regressionPredicted[start..(start + size)], size);
            using Tensor t = Tensor.FromArray(regressionTarget[start..(start + size)], size);
            foreach (RegressionMetric metric in regression) metric.Update(p, t);
            start += size;
        }

        Assert.That(accuracy.Result, Is.EqualTo(Enumerable.Range(0, n).Count(i => predicted[i] == target[i]) / (double)n));

        // Top-2 by sorting each row, the target first among equal scores.
        int top2Hits = Enumerable.Range(0, n).Count(i => Enumerable.Range(0, classes)
            .OrderByDescending(c => scores[i * classes + c]).ThenBy(c => c == target[i] ? 0 : 1).Take(2).Contains((int)target[i]));
        Assert.That(top2.Result, Is.EqualTo(top2Hits / (double)n));

        long[,] counts = matrix.Result;
        for (int t = 0; t < classes; t++)
        for (int p = 0; p < classes; p++)
        {
            Assert.That(counts[t, p], Is.EqualTo(Enumerable.Range(0, n).Count(i => target[i] == t && predicted[i] == p)), $"count[{t}, {p}]");
        }

        foreach (var (metric, score, average) in scoreMetrics)
        {
            long Tp(int c) => Enumerable.Range(0, n).Count(i => predicted[i] == c && target[i] == c);
            long Fp(int c) => Enumerable.Range(0, n).Count(i => predicted[i] == c && target[i] != c);
            long Fn(int c) => Enumerable.Range(0, n).Count(i => predicted[i] != c && target[i] == c);
            long Support(int c) => target.Count(t => t == c);
            int[] all = Enumerable.Range(0, classes).ToArray();
            double expected = average switch
            {
                Average.Micro => score(all.Sum(Tp), all.Sum(Fp), all.Sum(Fn)),
                Average.Macro => all.Average(c => score(Tp(c), Fp(c), Fn(c))),
                _ => all.Sum(c => Support(c) * score(Tp(c), Fp(c), Fn(c))) / n,
            };
            Assert.That(metric.Result, Is.EqualTo(expected).Within(1e-12), $"{metric.DisplayName} {average}");
        }

        // AUC by counting every positive/negative pair, ties one half (scores are rounded to 0.1, so ties abound).
        double pairs = 0, wins = 0;
        for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
        {
            if (binaryTarget[i] != 1 || binaryTarget[j] != 0) continue;
            pairs++;
            wins += binaryScores[i] > binaryScores[j] ? 1 : binaryScores[i] == binaryScores[j] ? 0.5 : 0;
        }

        Assert.That(auc.Result, Is.EqualTo(wins / pairs).Within(1e-12));

        double[] errors = regressionPredicted.Zip(regressionTarget, (p, t) => p - t).ToArray();
        double mean = regressionTarget.Average(), ssTot = regressionTarget.Sum(t => (t - mean) * (t - mean)), mse = errors.Average(e => e * e);
        Assert.That(regression[0].Result, Is.EqualTo(errors.Average(Math.Abs)).Within(1e-12));
        Assert.That(regression[1].Result, Is.EqualTo(mse).Within(1e-12));
        Assert.That(regression[2].Result, Is.EqualTo(Math.Sqrt(mse)).Within(1e-12));
        Assert.That(regression[3].Result, Is.EqualTo(1 - errors.Sum(e => e * e) / ssTot).Within(1e-10));
    }

    [Test]
    public void BadInputThrowsNamingTheMetricAndValues()
    {
        Assert.That(() => new Accuracy().Update([0, 1, 1], [0, 1]), Throws.ArgumentException.With.Message.Contains("Accuracy: 3 predictions but 2 targets"));
        Assert.That(() => new ConfusionMatrix(3).Update([0, 3], [0, 1]), Throws.ArgumentException.With.Message.Contains("ConfusionMatrix: predicted label 3 at index 1 is outside [0, 3)"));
        Assert.That(() => new Precision(Average.Macro, 3).Update([0, 1], [-1, 1]), Throws.ArgumentException.With.Message.Contains("Precision: target label -1 at index 0 is outside [0, 3)"));
        Assert.That(() => new TopKAccuracy(5).Update([0.1, 0.2, 0.7], 3, [2]), Throws.ArgumentException.With.Message.Contains("TopKAccuracy: k 5 is larger than the 3 classes"));
        Assert.That(() => new TopKAccuracy(0), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("TopKAccuracy: k 0 must be positive"));
        Assert.That(() => new F1Score(Average.Binary, 3), Throws.ArgumentException.With.Message.Contains("F1Score: average Binary needs 2 classes, not 3"));
        Assert.That(() => new BinaryAucRoc().Update([0.2, 0.4], [0, 2]), Throws.ArgumentException.With.Message.Contains("BinaryAucRoc: target label 2 at index 1 is outside [0, 2)"));
        using Tensor four = Tensor.Zeros([2, 4]);
        using Tensor labels = Tensor.FromArray(new long[] { 0, 1 }, 2);
        Assert.That(() => new Accuracy(classes: 3).Update(four, labels), Throws.ArgumentException.With.Message.Contains("Accuracy: predictions have 4 class scores but the metric has 3 classes"));
        Assert.That(() => new Accuracy().Update(labels, four), Throws.ArgumentException.With.Message.Contains("Accuracy: targets are f32; labels must be integers or bool"));
        using Tensor three = Tensor.Zeros([3]);
        using Tensor two = Tensor.Zeros([2]);
        Assert.That(() => new MeanSquaredError().Update(three, two), Throws.ArgumentException.With.Message.Contains("MeanSquaredError: predictions"));
        Assert.That(() => new R2Score().Result, Throws.InvalidOperationException.With.Message.Contains("R2Score: no samples yet"));
    }

    private static double Score(ClassScore metric, long[] predicted, long[] target)
    {
        metric.Update(predicted, target);
        return metric.Result;
    }

    private static double Regress(RegressionMetric metric, double[] predicted, double[] target)
    {
        metric.Update(predicted, target);
        return metric.Result;
    }
}

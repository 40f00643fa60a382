using Myelin.Examples;
using NUnit.Framework;

namespace Myelin.Tests.Examples;

/// <summary>
/// Each worked example at a reduced size, asserting the qualitative claim it demonstrates where that claim already
/// holds at this size. The figures are compared against values computed here independently (the data's own
/// statistics) or against each other.
/// </summary>
public class ExampleTests
{
    [Test]
    public void XorDefeatsASingleNeuronButNotAnMlp()
    {
        XorResult result = XorExample.Run(new XorOptions { Steps = 300 });
        Assert.That(result.SingleNeuronLoss, Is.GreaterThan(0.6), "no line separates XOR: the best logistic loss is ln 2");
        Assert.That(result.SingleNeuronCorrect, Is.LessThanOrEqualTo(3));
        Assert.That(result.MlpLoss, Is.LessThan(0.1));
        Assert.That(result.MlpCorrect, Is.EqualTo(4));
    }

    [Test]
    public void AWiderReluLayerApproximatesSineMoreClosely()
    {
        ApproximationResult result = ApproximationExample.Run(new ApproximationOptions { Steps = 1500, Widths = [4, 64], TrainingPoints = 64 });
        Assert.That(result.Widths.Select(w => w.Width), Is.EqualTo(new[] { 4, 64 }));
        Assert.That(result.Widths[1].MaxError, Is.LessThan(result.Widths[0].MaxError));
        Assert.That(result.Widths[1].MaxError, Is.LessThan(0.1));
        // The maximum error bounds the root-mean-square error on the grid, which the training MSE approximates.
        Assert.That(Math.Sqrt(result.Widths[1].TrainingMse), Is.LessThanOrEqualTo(result.Widths[1].MaxError));
    }

    [Test]
    public void ParityComparesNetworksOfEqualSize()
    {
        ParityResult result = ParityExample.Run(new ParityOptions { Steps = 600 });
        Assert.That((result.TrainPatterns, result.HeldOutPatterns), Is.EqualTo((192, 64)));
        Assert.That(Math.Abs(result.Deep.Parameters - result.Shallow.Parameters), Is.LessThanOrEqualTo(10), "the same parameter budget");
        Assert.That(result.Deep.Parameters, Is.EqualTo((8 * 8 + 8) * 4 + 9), "four hidden layers of 8 and the output");
        Assert.That(result.Shallow.Parameters, Is.EqualTo((8 * 30) + 30 + 30 + 1), "one hidden layer of 30");
        Assert.That(result.Deep.TrainAccuracy, Is.GreaterThan(0.9), "both can represent parity and find it on the training patterns");
        Assert.That(result.Shallow.TrainAccuracy, Is.GreaterThan(0.9));
        Assert.That(result.Deep.HeldOutAccuracy, Is.InRange(0.0, 1.0));
    }

    [Test]
    public void GatedCellsSolveAShortAddingProblem()
    {
        AddingResult result = AddingExample.Run(new AddingOptions { Steps = 100, SequenceLength = 6, Hidden = 16, TestSequences = 200 });
        Assert.That(result.BaselineMse, Is.EqualTo(1.0 / 6).Within(0.05), "the variance of a sum of two uniform numbers");
        Assert.That(result.GruMse, Is.LessThan(result.BaselineMse / 2));
        Assert.That(result.LstmMse, Is.LessThan(result.BaselineMse));
        Assert.That(result.RnnMse, Is.GreaterThan(0));
    }

    [Test]
    public void RegularizationTradesTrainingFitForValidation()
    {
        RegularizationResult result = RegularizationExample.Run(new RegularizationOptions { Steps = 1000, Hidden = 64 });
        RegularizationRun plain = result.Runs.Single(r => r.Method == "none");
        Assert.That(plain.TrainLoss, Is.LessThan(result.NoiseVariance), "the unregularized MLP fits the noise");
        Assert.That(plain.ValidationLoss, Is.GreaterThan(result.NoiseVariance));
        foreach (RegularizationRun run in result.Runs.Where(r => r.Method != "none"))
        {
            Assert.That(run.ValidationLoss, Is.LessThan(plain.ValidationLoss), run.Method);
            Assert.That(run.TrainLoss, Is.GreaterThan(plain.TrainLoss), run.Method);
        }

        Assert.That(result.Runs.Single(r => r.Method == "early_stopping").StepsTaken, Is.LessThan(1000));
    }

    [Test]
    public void BatchNormTrainsTheDeepMlpFaster()
    {
        BatchNormResult result = BatchNormExample.Run(new BatchNormOptions { Steps = 150, Depth = 8, Width = 32 });
        Assert.That(result.BatchNormLoss, Is.LessThan(result.InitialLoss / 2));
        Assert.That(result.BatchNormLoss, Is.LessThan(result.PlainLoss / 2));
    }

    [Test]
    public void BadOptionsNameTheExampleAndTheOption()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => XorExample.Run(new XorOptions { Steps = 0 }));
        Assert.That(e!.Message, Does.Contain("'xor'").And.Contain("steps (0)"));
        var missing = Assert.Throws<ArgumentException>(() => ExampleCatalog.Get("nope"));
        Assert.That(missing!.Message, Does.Contain("'nope'").And.Contain("xor, approximation, parity, adding, regularization, batchnorm"));
    }
}

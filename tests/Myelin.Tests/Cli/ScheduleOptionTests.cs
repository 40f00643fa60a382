using Myelin.Cli.Commands;
using Myelin.Optim;
using Myelin.Training;
using NUnit.Framework;

namespace Myelin.Tests.Cli;

/// <summary>The rates the <c>--schedule</c> choices of <c>myelin train</c> give at every batch, against plain formulas.</summary>
public class ScheduleOptionTests
{
    private const int Epochs = 2, BatchesPerEpoch = 7;
    private const double Rate = 1e-3;

    [Test]
    public void CosineDecaysPerBatchFromTheRateToZeroOverTheRun()
    {
        var adam = new Adam(Rate);
        LearningRateScheduler scheduler = TrainingSetup.CreateSchedule("cosine", adam, Epochs, BatchesPerEpoch)!;
        Assert.That(scheduler.Interval, Is.EqualTo(ScheduleInterval.Batch));
        int total = Epochs * BatchesPerEpoch;
        for (int step = 0; step <= total; step++)
        {
            if (step > 0) scheduler.Schedule.Step();
            double expected = Rate * 0.5 * (1 + Math.Cos(Math.PI * step / total));
            Assert.That(adam.DefaultGroup.LearningRate, Is.EqualTo(expected).Within(1e-18), $"rate after {step} batches");
        }

        Assert.That(adam.DefaultGroup.LearningRate, Is.EqualTo(0).Within(1e-18), "the last batch ends at 0");
    }

    [Test]
    public void OneCyclePeaksAtTheRateAndSpansTheRun()
    {
        var adam = new Adam(Rate);
        LearningRateScheduler scheduler = TrainingSetup.CreateSchedule("onecycle", adam, Epochs, BatchesPerEpoch)!;
        Assert.That(scheduler.Interval, Is.EqualTo(ScheduleInterval.Batch));
        int total = Epochs * BatchesPerEpoch;
        double peakStep = 0.3 * total - 1, initial = Rate / 25, minimum = initial / 1e4;
        for (int step = 0; step < total; step++)
        {
            if (step > 0) scheduler.Schedule.Step();
            double expected = step <= peakStep
                ? Rate + (initial - Rate) / 2 * (1 + Math.Cos(Math.PI * step / peakStep))
                : minimum + (Rate - minimum) / 2 * (1 + Math.Cos(Math.PI * (step - peakStep) / (total - 1 - peakStep)));
            Assert.That(adam.DefaultGroup.LearningRate, Is.EqualTo(expected).Within(1e-15), $"rate after {step} batches");
        }

        Assert.That(adam.DefaultGroup.LearningRate, Is.EqualTo(minimum).Within(1e-15));
    }

    [TestCase("step")]
    [TestCase("exponential")]
    public void EpochSchedulesStepPerEpoch(string name) =>
        Assert.That(TrainingSetup.CreateSchedule(name, new Adam(Rate), Epochs, BatchesPerEpoch)!.Interval, Is.EqualTo(ScheduleInterval.Epoch));

    [Test]
    public void NoneGivesNoCallback() => Assert.That(TrainingSetup.CreateSchedule("none", new Adam(Rate), Epochs, BatchesPerEpoch), Is.Null);
}

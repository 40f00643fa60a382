using Myelin.Optim;
using Myelin.Tests.TestSupport;
using NUnit.Framework;

namespace Myelin.Tests.Optim;

/// <summary>Learning-rate (and cycled momentum) sequences against PyTorch's schedulers (tests/fixtures/make_optim_fixtures.py).</summary>
public class ScheduleTests
{
    private static readonly Dictionary<string, Func<Optimizer, LearningRateSchedule>> s_schedules = new()
    {
        ["step"] = o => new StepLR(o, stepSize: 3, gamma: 0.5),
        ["multistep"] = o => new MultiStepLR(o, [5, 2, 9], gamma: 0.3),
        ["exponential"] = o => new ExponentialLR(o, gamma: 0.9),
        ["cosine"] = o => new CosineAnnealingLR(o, tMax: 6, etaMin: 0.01),
        ["cosine_restarts"] = o => new CosineAnnealingWarmRestarts(o, t0: 3, tMult: 1, etaMin: 0.001),
        ["cosine_restarts_mult"] = o => new CosineAnnealingWarmRestarts(o, t0: 2, tMult: 2),
        ["one_cycle"] = o => new OneCycleLR(o, maxLr: 1.0, totalSteps: 20),
        ["one_cycle_linear"] = o => new OneCycleLR(o, maxLr: 0.5, totalSteps: 15, pctStart: 0.4, annealStrategy: AnnealStrategy.Linear, divFactor: 10,
            finalDivFactor: 100, baseMomentum: 0.8, maxMomentum: 0.9),
        ["one_cycle_three_phase"] = o => new OneCycleLR(o, maxLr: 1.0, totalSteps: 20, threePhase: true),
        ["warmup_step"] = o => new LinearWarmup(new StepLR(o, stepSize: 3, gamma: 0.5), warmupSteps: 4, startFactor: 0.25),
        ["warmup_cosine"] = o => new LinearWarmup(new CosineAnnealingLR(o, tMax: 6, etaMin: 0.01), warmupSteps: 4, startFactor: 0.25),
        ["warmup_exponential"] = o => new LinearWarmup(new ExponentialLR(o, gamma: 0.9), warmupSteps: 4, startFactor: 0.25),
    };

    private static readonly Dictionary<string, Func<Optimizer, ReduceLROnPlateau>> s_plateaus = new()
    {
        ["plateau_min_rel"] = o => new ReduceLROnPlateau(o, PlateauMode.Min, factor: 0.5, patience: 2),
        ["plateau_min_abs_cooldown"] = o => new ReduceLROnPlateau(o, PlateauMode.Min, factor: 0.5, patience: 1, threshold: 0.5,
            thresholdMode: ThresholdMode.Abs, cooldown: 2, minLr: 0.02),
        ["plateau_max"] = o => new ReduceLROnPlateau(o, PlateauMode.Max, factor: 0.1, patience: 0, threshold: 0.01),
    };

    public static IEnumerable<string> ScheduleNames => s_schedules.Keys;

    public static IEnumerable<string> PlateauNames => s_plateaus.Keys;

    [TestCaseSource(nameof(ScheduleNames))]
    public void RatesMatchPyTorch(string name)
    {
        using Fixture fixture = Fixture.Load("nn/optim_schedules.myfx");
        var sgd = new Sgd(0.1, momentum: 0.9);
        LearningRateSchedule schedule = s_schedules[name](sgd);
        double[] expected = fixture[$"{name}.lr"].ToArray<double>();
        double[] momentum = fixture.Names.Contains($"{name}.momentum") ? fixture[$"{name}.momentum"].ToArray<double>() : [];
        for (int k = 0; k < expected.Length; k++)
        {
            if (k > 0) schedule.Step();
            Assert.That(sgd.DefaultGroup.LearningRate, Is.EqualTo(expected[k]).Within(1e-12 + 1e-10 * Math.Abs(expected[k])), $"lr after {k} steps");
            if (momentum.Length > 0) Assert.That(sgd.DefaultGroup.Momentum, Is.EqualTo(momentum[k]).Within(1e-12), $"momentum after {k} steps");
        }
    }

    [Test]
    public void OneCycleCyclesAdamsBeta1()
    {
        using Fixture fixture = Fixture.Load("nn/optim_schedules.myfx");
        var adam = new Adam(0.1);
        var schedule = new OneCycleLR(adam, maxLr: 0.01, totalSteps: 10);
        double[] lr = fixture["one_cycle_adam.lr"].ToArray<double>(), beta1 = fixture["one_cycle_adam.momentum"].ToArray<double>();
        for (int k = 0; k < lr.Length; k++)
        {
            if (k > 0) schedule.Step();
            Assert.That(adam.DefaultGroup.LearningRate, Is.EqualTo(lr[k]).Within(1e-14), $"lr after {k} steps");
            Assert.That(adam.DefaultGroup.Beta1, Is.EqualTo(beta1[k]).Within(1e-12), $"beta1 after {k} steps");
        }

        schedule.Step(); // PyTorch allows total_steps steps after construction; the next one fails.
        Assert.Throws<InvalidOperationException>(() => schedule.Step(), "an eleventh step past total_steps");
    }

    [TestCaseSource(nameof(PlateauNames))]
    public void PlateauMatchesPyTorch(string name)
    {
        using Fixture fixture = Fixture.Load("nn/optim_schedules.myfx");
        var sgd = new Sgd(0.1, momentum: 0.9);
        ReduceLROnPlateau schedule = s_plateaus[name](sgd);
        double[] expected = fixture[$"{name}.lr"].ToArray<double>(), metric = fixture["plateau.metric"].ToArray<double>();
        Assert.That(sgd.DefaultGroup.LearningRate, Is.EqualTo(expected[0]));
        for (int k = 0; k < metric.Length; k++)
        {
            schedule.Step(metric[k]);
            Assert.That(sgd.DefaultGroup.LearningRate, Is.EqualTo(expected[k + 1]).Within(1e-15), $"lr after metric {k} ({metric[k]})");
        }
    }

    public static IEnumerable<string> AllScheduleNames => s_schedules.Keys.Concat(s_plateaus.Keys).Append("warmup_plateau");

    [TestCaseSource(nameof(AllScheduleNames))]
    public void ARestoredStateContinuesAsTheUninterruptedSchedule(string name)
    {
        double[] metric = [1.0, 0.9, 0.95, 0.97, 0.96, 0.99, 0.8, 0.85, 0.9, 0.92];
        const int Saved = 5;
        var sgd = new Sgd(0.1, momentum: 0.9);
        LearningRateSchedule schedule = Create(name, sgd);
        for (int k = 0; k < Saved; k++) Step(schedule, metric[k]);
        using StateDict state = schedule.SaveState();
        var expected = new List<(double Lr, double Momentum)>();
        for (int k = Saved; k < metric.Length; k++)
        {
            Step(schedule, metric[k]);
            expected.Add((sgd.DefaultGroup.LearningRate, sgd.DefaultGroup.Momentum));
        }

        // A fresh optimizer and schedule (at epoch 0) given the saved state.
        var fresh = new Sgd(0.1, momentum: 0.9);
        LearningRateSchedule restored = Create(name, fresh);
        restored.LoadState(state);
        Assert.That(restored.Epoch, Is.EqualTo(Saved));
        var actual = new List<(double Lr, double Momentum)>();
        for (int k = Saved; k < metric.Length; k++)
        {
            Step(restored, metric[k]);
            actual.Add((fresh.DefaultGroup.LearningRate, fresh.DefaultGroup.Momentum));
        }

        Assert.That(actual, Is.EqualTo(expected));
        Assert.That(() => Create(name, new Sgd(0.1, momentum: 0.9)).LoadState(new StateDict()), Throws.InstanceOf<ArgumentException>().Or.InstanceOf<KeyNotFoundException>());
    }

    private static LearningRateSchedule Create(string name, Optimizer optimizer) => name == "warmup_plateau"
        ? new LinearWarmup(new ReduceLROnPlateau(optimizer, patience: 0, factor: 0.5), warmupSteps: 3, startFactor: 0.5)
        : s_schedules.TryGetValue(name, out var schedule) ? schedule(optimizer) : s_plateaus[name](optimizer);

    private static void Step(LearningRateSchedule schedule, double metric)
    {
        switch (schedule)
        {
            case ReduceLROnPlateau plateau:
                plateau.Step(metric);
                break;
            case LinearWarmup { Inner: ReduceLROnPlateau } warmup:
                warmup.Step(metric);
                break;
            default:
                schedule.Step();
                break;
        }
    }

    [Test]
    public void SchedulesDriveEveryGroupFromItsOwnBaseRate()
    {
        var sgd = new Sgd(0.1);
        var graph = new Myelin.Graphs.Graph();
        Myelin.Graphs.Value head = graph.Parameter("head", Tensor.Zeros([2]).MoveToOuterScope());
        sgd.AddGroup([head], g => g.LearningRate = 0.4);
        var schedule = new ExponentialLR(sgd, gamma: 0.5);
        schedule.Step();
        schedule.Step();
        Assert.That(sgd.Groups.Select(g => g.LearningRate), Is.EqualTo(new[] { 0.025, 0.1 }));
    }

    [Test]
    public void WarmupWrapsPlateauAndOwnsTheInnerSchedule()
    {
        var sgd = new Sgd(0.1);
        var plateau = new ReduceLROnPlateau(sgd, patience: 0, factor: 0.5);
        var warmup = new LinearWarmup(plateau, warmupSteps: 2, startFactor: 0.5);
        Assert.That(sgd.DefaultGroup.LearningRate, Is.EqualTo(0.05).Within(1e-15));
        warmup.Step(1.0);
        Assert.That(sgd.DefaultGroup.LearningRate, Is.EqualTo(0.075).Within(1e-15), "improved: 0.1 at factor 0.75");
        warmup.Step(2.0);
        Assert.That(sgd.DefaultGroup.LearningRate, Is.EqualTo(0.05).Within(1e-15), "worse: halved to 0.05 at factor 1");
        Assert.Throws<InvalidOperationException>(() => plateau.Step(1.0));
        Assert.Throws<InvalidOperationException>(() => warmup.Step(), "a plateau needs the metric");
        Assert.Throws<ArgumentException>(() => new LinearWarmup(new StepLR(sgd, 2)).Step(1.0));
    }

    [Test]
    public void BadSettingsThrowNamingTheScheduleAndArgument()
    {
        var sgd = new Sgd(0.1);
        AssertNames(() => new StepLR(sgd, stepSize: 0), "StepLR", "step_size");
        AssertNames(() => new ExponentialLR(sgd, gamma: -1), "ExponentialLR", "gamma");
        AssertNames(() => new CosineAnnealingLR(sgd, tMax: 0), "CosineAnnealingLR", "T_max");
        AssertNames(() => new CosineAnnealingWarmRestarts(sgd, t0: 2, tMult: 0), "CosineAnnealingWarmRestarts", "T_mult");
        AssertNames(() => new OneCycleLR(sgd, 1, 10, pctStart: 1.5, cycleMomentum: false), "OneCycleLR", "pct_start");
        AssertNames(() => new ReduceLROnPlateau(sgd, factor: 1.0), "ReduceLROnPlateau", "factor");
        AssertNames(() => new LinearWarmup(new StepLR(sgd, 2), startFactor: 0), "LinearWarmup", "start_factor");
        AssertNames(() => new OneCycleLR(new Adagrad(), 1, 10), "OneCycleLR", "cycle_momentum");
        AssertNames(() => new OneCycleLR(sgd, 1, 10), "OneCycleLR", "momentum");
    }

    private static void AssertNames(Action action, string owner, string argument)
    {
        var error = Assert.Catch<ArgumentException>(() => action())!;
        Assert.That(error.Message, Does.Contain(owner).And.Contain(argument));
    }
}

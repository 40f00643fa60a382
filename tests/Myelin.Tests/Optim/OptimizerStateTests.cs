using Myelin.Execution;
using Myelin.Graphs;
using Myelin.Optim;
using Myelin.Tests.TestSupport;
using NUnit.Framework;

namespace Myelin.Tests.Optim;

/// <summary>Saving and restoring optimizer state, and bad configuration.</summary>
public class OptimizerStateTests
{
    [TestCase("adam", false)]
    [TestCase("momentum", false)]
    [TestCase("adagrad_decay", false)]
    [TestCase("adam", true)]
    [TestCase("momentum", true)]
    public void RestoredStateContinuesExactlyAsTheUninterruptedRun(string name, bool loadBeforeBuild)
    {
        using Fixture fixture = Fixture.Load("nn/optim_trajectories.myfx");
        using OptimHarness.Problem problem = OptimHarness.Build("mlp", fixture);
        Optimizer optimizer = OptimHarness.MakeOptimizer(name, problem.Parameters);
        using CompiledGraph step = TrainingStep.Compile(problem.Loss, problem.Parameters, optimizer);
        for (int i = 0; i < 3; i++) step.Run(problem.Feeds);
        double[][] weightsAt3 = problem.Parameters.Select(p => p.Data!.ToArray<double>()).ToArray();
        using StateDict saved = optimizer.SaveState();
        optimizer.DefaultGroup.LearningRate *= 0.5;
        for (int i = 0; i < 3; i++) step.Run(problem.Feeds);
        double[][] uninterrupted = problem.Parameters.Select(p => p.Data!.ToArray<double>()).ToArray();

        // A second model and optimizer, started from the step-3 weights and the saved state.
        using OptimHarness.Problem other = OptimHarness.Build("mlp", fixture);
        for (int i = 0; i < weightsAt3.Length; i++) weightsAt3[i].AsSpan().CopyTo(other.Parameters[i].Data!.AsSpan<double>());
        Optimizer resumed = OptimHarness.MakeOptimizer(name, other.Parameters);
        // Loaded before the graph is built, the state waits for each parameter's update to be created.
        if (loadBeforeBuild) resumed.LoadState(saved);
        using CompiledGraph resumedStep = TrainingStep.Compile(other.Loss, other.Parameters, resumed);
        if (!loadBeforeBuild) resumed.LoadState(saved);
        Assert.That(resumed.DefaultGroup.LearningRate, Is.EqualTo(optimizer.DefaultGroup.LearningRate * 2), "group settings restored");
        resumed.DefaultGroup.LearningRate *= 0.5;
        for (int i = 0; i < 3; i++) resumedStep.Run(other.Feeds);
        for (int i = 0; i < uninterrupted.Length; i++) Assert.That(other.Parameters[i].Data!.ToArray<double>(), Is.EqualTo(uninterrupted[i]), other.Parameters[i].Name);
    }

    [Test]
    public void SaveLoadSaveRoundTripsEveryEntry()
    {
        using Fixture fixture = Fixture.Load("nn/optim_trajectories.myfx");
        using OptimHarness.Problem problem = OptimHarness.Build("mlp", fixture);
        var adam = new Adam(0.1);
        using CompiledGraph step = TrainingStep.Compile(problem.Loss, problem.Parameters, adam);
        for (int i = 0; i < 4; i++) step.Run(problem.Feeds);
        using StateDict first = adam.SaveState();
        Assert.That(first.Tensors.Keys, Is.EquivalentTo(problem.Parameters.SelectMany(p => new[] { $"{p.Name}.exp_avg", $"{p.Name}.exp_avg_sq" })));
        Assert.That(first.Scalars["fc1.weight.step"], Is.EqualTo(4));
        Assert.That(first.Scalars["groups.0.lr"], Is.EqualTo(0.1));

        using OptimHarness.Problem other = OptimHarness.Build("mlp", fixture);
        var restored = new Adam(0.5);
        using CompiledGraph otherStep = TrainingStep.Compile(other.Loss, other.Parameters, restored);
        restored.LoadState(first);
        using StateDict second = restored.SaveState();
        Assert.That(second.Scalars, Is.EquivalentTo(first.Scalars));
        foreach ((string key, Tensor tensor) in first.Tensors) Assert.That(second.Tensors[key].ToArray<double>(), Is.EqualTo(tensor.ToArray<double>()), key);
    }

    [Test]
    public void LoadingAMismatchedStateThrowsNamingTheEntry()
    {
        using Fixture fixture = Fixture.Load("nn/optim_trajectories.myfx");
        using OptimHarness.Problem problem = OptimHarness.Build("mlp", fixture);
        var sgd = new Sgd(0.1, momentum: 0.9);
        var early = Assert.Throws<KeyNotFoundException>(() => sgd.LoadState(new StateDict()), "before the graph is built")!;
        Assert.That(early.Message, Does.Contain("groups.0.lr"));
        using CompiledGraph step = TrainingStep.Compile(problem.Loss, problem.Parameters, sgd);
        using var state = new StateDict();
        var error = Assert.Throws<KeyNotFoundException>(() => sgd.LoadState(state))!;
        Assert.That(error.Message, Does.Contain("Sgd").And.Contain("momentum_buffer"));
        using StateDict good = sgd.SaveState();
        good.Tensors["fc1.bias.momentum_buffer"].Dispose();
        good.Tensors["fc1.bias.momentum_buffer"] = Tensor.Zeros([3], DType.F64).MoveToOuterScope();
        var shape = Assert.Throws<ArgumentException>(() => sgd.LoadState(good))!;
        Assert.That(shape.Message, Does.Contain("fc1.bias.momentum_buffer"));
    }

    [Test]
    public void BadHyperparametersThrowNamingTheOptimizerAndArgument()
    {
        AssertNames(() => new Sgd(-0.1), "Sgd", "lr");
        AssertNames(() => new Sgd(0.1, momentum: -1), "Sgd", "momentum");
        AssertNames(() => new Sgd(0.1, nesterov: true), "Sgd", "nesterov");
        AssertNames(() => new Adam(beta1: 1.0), "Adam", "beta1");
        AssertNames(() => new AdamW(beta2: -0.1), "AdamW", "beta2");
        AssertNames(() => new Adam(epsilon: double.NaN), "Adam", "eps");
        AssertNames(() => new RmsProp(alpha: 1.5), "RmsProp", "alpha");
        AssertNames(() => new Adagrad(initialAccumulatorValue: -1), "Adagrad", "initial_accumulator_value");
        AssertNames(() => new Adagrad(learningRateDecay: -1), "Adagrad", "lr_decay");
        AssertNames(() => new Sgd(l1: -1), "Sgd", "l1");
        AssertNames(() => _ = new Sgd { MaxGradientNorm = 0 }, "Sgd", "max_norm");
        AssertNames(() => _ = new Adam { MaxGradientValue = -1 }, "Adam", "clip_value");
        AssertNames(() => new Adam().DefaultGroup.LearningRate = -1e-3, "Adam", "lr");
    }

    [Test]
    public void SettingsFixedByTheBuiltGraphRefuseToChange()
    {
        using Fixture fixture = Fixture.Load("nn/optim_trajectories.myfx");
        using OptimHarness.Problem problem = OptimHarness.Build("quad", fixture);
        var sgd = new Sgd(0.1);
        using CompiledGraph step = TrainingStep.Compile(problem.Loss, problem.Parameters, sgd);
        Assert.That(Assert.Throws<InvalidOperationException>(() => sgd.DefaultGroup.L1 = 0.1)!.Message, Does.Contain("l1"));
        Assert.That(Assert.Throws<InvalidOperationException>(() => sgd.DefaultGroup.Momentum = 0.9)!.Message, Does.Contain("momentum"));
        Assert.Throws<InvalidOperationException>(() => sgd.AddGroup([problem.Parameters[0]]));
    }

    [Test]
    public void AParameterInTwoGroupsThrows()
    {
        var graph = new Graph();
        Value w = graph.Parameter("w", Tensor.Zeros([2]).MoveToOuterScope());
        var sgd = new Sgd(0.1);
        sgd.AddGroup([w]);
        var error = Assert.Throws<ArgumentException>(() => sgd.AddGroup([w]))!;
        Assert.That(error.Message, Does.Contain("'w'"));
    }

    private static void AssertNames(Action action, string optimizer, string argument)
    {
        var error = Assert.Catch<ArgumentException>(() => action())!;
        Assert.That(error.Message, Does.Contain(optimizer + ":").And.Contain(argument));
    }
}

using Myelin.Execution;
using Myelin.Graphs;
using Myelin.NN;
using Myelin.Tests.NN;
using Myelin.Optim;
using Myelin.Tests.TestSupport;
using NUnit.Framework;

namespace Myelin.Tests.Optim;

/// <summary>
/// Parameter trajectories of every optimizer and option against PyTorch (tests/fixtures/make_optim_fixtures.py), in
/// float64, on a fixed quadratic and on a tiny MLP built from NN Linear layers.
/// </summary>
public class OptimizerTrajectoryTests
{
    private const int Steps = 6;

    public static readonly string[] Cases =
    [
        "sgd", "sgd_wd", "momentum", "nesterov", "adam", "adam_wd", "adamw", "rmsprop", "rmsprop_centered", "adagrad", "adagrad_decay",
        "l1", "clip_norm", "clip_value", "step_lr", "one_cycle",
    ];

    [TestCaseSource(nameof(Cases))]
    public void QuadraticMatchesPyTorch(string name) => OptimHarness.AssertTrajectory("quad", name);

    [TestCaseSource(nameof(Cases))]
    public void MlpMatchesPyTorch(string name) => OptimHarness.AssertTrajectory("mlp", name);

    [Test]
    public void MlpParameterGroupsMatchPyTorch() => OptimHarness.AssertTrajectory("mlp", "groups");

    [Test]
    public void StateAfterTheStepsMatchesPyTorch()
    {
        foreach (string name in new[] { "momentum", "adam", "rmsprop_centered", "adagrad_decay" })
        {
            using Fixture fixture = Fixture.Load("nn/optim_trajectories.myfx");
            using OptimHarness.Problem problem = OptimHarness.Build("mlp", fixture);
            Optimizer optimizer = OptimHarness.MakeOptimizer(name, problem.Parameters);
            using CompiledGraph step = TrainingStep.Compile(problem.Loss, problem.Parameters, optimizer);
            for (int i = 0; i < Steps; i++) step.Run(problem.Feeds);
            using StateDict state = optimizer.SaveState();
            string prefix = $"mlp.{name}.";
            string[] stateNames = fixture.Names.Where(n => n.StartsWith(prefix, StringComparison.Ordinal) && n.Count(c => c == '.') == 4).ToArray();
            Assert.That(stateNames, Is.Not.Empty, name);
            foreach (string fixtureName in stateNames)
            {
                string key = fixtureName[prefix.Length..];
                Approx.AssertClose(state.Tensors[key].ToArray<double>(), fixture[fixtureName].ToArray<double>(), 1e-10, 1e-8);
                Assert.That(state.Scalars[key[..key.LastIndexOf('.')] + ".step"], Is.EqualTo(Steps), key);
            }
        }
    }

    [Test]
    public void ChangingTheLearningRateNeedsNoNewPlanAndAllocatesNothing()
    {
        using Fixture fixture = Fixture.Load("nn/optim_trajectories.myfx");
        using OptimHarness.Problem problem = OptimHarness.Build("mlp", fixture);
        var sgd = new Sgd(0.1, momentum: 0.9);
        using CompiledGraph step = TrainingStep.Compile(problem.Loss, problem.Parameters, sgd);
        for (int i = 0; i < 3; i++) step.Run(problem.Feeds);
        long managed = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++)
        {
            sgd.DefaultGroup.LearningRate = 0.01 * i;
            sgd.DefaultGroup.Momentum = 0.5;
            step.Run(problem.Feeds);
        }

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - managed, Is.Zero, "managed bytes over 10 steps");
        Assert.That(step.PlanCount, Is.EqualTo(1));

        // A zero rate (with zero momentum, so the buffer does not move the weights) leaves the parameters unchanged.
        sgd.DefaultGroup.LearningRate = 0;
        double[] before = problem.Parameters[0].Data!.ToArray<double>();
        step.Run(problem.Feeds);
        Assert.That(problem.Parameters[0].Data!.ToArray<double>(), Is.EqualTo(before));
    }
}

/// <summary>Builds the fixture's problems, the optimizer of each case, and compares trajectories.</summary>
internal static class OptimHarness
{
    private const int Steps = 6;

    public sealed class Problem(Value loss, Value[] parameters, Dictionary<string, Tensor> feeds, IDisposable? model) : IDisposable
    {
        public Value Loss { get; } = loss;

        public Value[] Parameters { get; } = parameters;

        public Dictionary<string, Tensor> Feeds { get; } = feeds;

        public void Dispose() => model?.Dispose();
    }

    private sealed class TinyMlp : Module
    {
        public TinyMlp()
        {
            Fc1 = AddModule("fc1", new Linear(3, 4, dtype: DType.F64));
            Fc2 = AddModule("fc2", new Linear(4, 2, dtype: DType.F64));
        }

        public Linear Fc1 { get; }

        public Linear Fc2 { get; }
    }

    /// <summary>quad: sum(a * (w - c)^2); mlp: mean((fc2(tanh(fc1(x))) - t)^2), weights from the fixture.</summary>
    public static Problem Build(string problem, Fixture fixture)
    {
        var graph = new Graph();
        if (problem == "quad")
        {
            Value w = graph.Parameter("w", fixture["quad.w0"].Clone().MoveToOuterScope());
            Value a = graph.Constant(fixture["quad.a"]), c = graph.Constant(fixture["quad.c"]);
            return new Problem((a * (w - c).Apply("Square")).Sum(), [w], [], null);
        }

        var mlp = new TinyMlp();
        LayerHarness.LoadState(mlp, fixture, "mlp.", bufferPrefix: null);
        Value x = graph.Input("x", DType.F64, 5, 3), t = graph.Input("t", DType.F64, 5, 2);
        Value y = mlp.Fc2.Forward(mlp.Fc1.Forward(x).Tanh());
        Value loss = (y - t).Apply("Square").Mean();
        return new Problem(loss, [.. mlp.ParametersIn(graph)], new() { ["x"] = fixture["mlp.x"], ["t"] = fixture["mlp.t"] }, mlp);
    }

    /// <summary>The optimizer of each case, configured as the generator's PyTorch one.</summary>
    public static Optimizer MakeOptimizer(string name, IReadOnlyList<Value> parameters)
    {
        switch (name)
        {
            case "sgd": return new Sgd(0.1);
            case "sgd_wd": return new Sgd(0.1, weightDecay: 0.1);
            case "momentum": return new Sgd(0.1, momentum: 0.9, dampening: 0.1);
            case "nesterov": return new Sgd(0.1, momentum: 0.9, nesterov: true, weightDecay: 0.05);
            case "adam": return new Adam(0.1);
            case "adam_wd": return new Adam(0.1, beta1: 0.8, beta2: 0.99, epsilon: 1e-6, weightDecay: 0.1);
            case "adamw": return new AdamW(0.1, weightDecay: 0.1);
            case "rmsprop": return new RmsProp(0.01);
            case "rmsprop_centered": return new RmsProp(0.01, alpha: 0.9, weightDecay: 0.1, centered: true);
            case "adagrad": return new Adagrad(0.1);
            case "adagrad_decay": return new Adagrad(0.1, learningRateDecay: 0.1, weightDecay: 0.1, initialAccumulatorValue: 0.1);
            case "l1": return new Sgd(0.1, momentum: 0.5, l1: 0.05);
            case "clip_norm": return new Sgd(0.1) { MaxGradientNorm = 0.5 };
            case "clip_value": return new Adam(0.1) { MaxGradientValue = 0.05 };
            case "step_lr": return new Sgd(0.1, momentum: 0.9);
            case "one_cycle": return new Adam(0.1);
            case "groups":
                var sgd = new Sgd(0.1, momentum: 0.9);
                sgd.AddGroup(parameters.Where(p => p.Name.StartsWith("fc2.", StringComparison.Ordinal)), g =>
                {
                    g.LearningRate = 0.02;
                    g.WeightDecay = 0.1;
                });
                return sgd;
            default: throw new ArgumentException($"unknown case {name}");
        }
    }

    private static LearningRateSchedule? MakeSchedule(string name, Optimizer optimizer) => name switch
    {
        "step_lr" => new StepLR(optimizer, stepSize: 2, gamma: 0.5),
        "one_cycle" => new OneCycleLR(optimizer, maxLr: 0.2, totalSteps: Steps),
        _ => null,
    };

    public static void AssertTrajectory(string problemName, string name)
    {
        using Fixture fixture = Fixture.Load("nn/optim_trajectories.myfx");
        using Problem problem = Build(problemName, fixture);
        Optimizer optimizer = MakeOptimizer(name, problem.Parameters);
        LearningRateSchedule? schedule = MakeSchedule(name, optimizer);
        using CompiledGraph step = TrainingStep.Compile(problem.Loss, problem.Parameters, optimizer);
        for (int k = 0; k <= Steps; k++)
        {
            if (k > 0)
            {
                step.Run(problem.Feeds);
                schedule?.Step();
            }

            foreach (Value parameter in problem.Parameters)
            {
                Tensor expected = fixture[$"{problemName}.{name}.{parameter.Name}"];
                double[] row = expected.ToArray<double>().Chunk((int)(expected.ElementCount / (Steps + 1))).ElementAt(k);
                try
                {
                    Approx.AssertClose(parameter.Data!.ToArray<double>(), row, 1e-10, 1e-8);
                }
                catch (AssertionException)
                {
                    TestContext.Out.WriteLine($"{problemName}.{name}: parameter '{parameter.Name}' after step {k}");
                    throw;
                }
            }
        }
    }
}

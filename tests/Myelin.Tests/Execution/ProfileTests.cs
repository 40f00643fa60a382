using Myelin.Execution;
using Myelin.Models;
using Myelin.Optim;
using NUnit.Framework;

namespace Myelin.Tests.Execution;

public class ProfileTests
{
    [Test]
    public void ProfileTimesEveryLaunchAndTrainsLikeRun()
    {
        float[] Train(bool profile, out IReadOnlyList<LaunchProfile> launches, out int launchCount)
        {
            ModelGraph mlp = BenchmarkModels.Mlp([12, 8, 3], seed: 5);
            using CompiledGraph step = TrainingStep.Compile(mlp.Loss, mlp.Parameters, new Adam(learningRate: 1e-2));
            var feeds = new Dictionary<string, Tensor>
            {
                ["x"] = Tensor.Rand([4, 12], generator: new Generator(seed: 6)).MoveToOuterScope(),
                ["target"] = Tensor.FromArray(Enumerable.Range(0, 12).Select(i => i % 3 == 0 ? 1f : 0f).ToArray(), [4, 3]).MoveToOuterScope(),
            };
            launches = [];
            if (profile) launches = step.Profile(feeds, runs: 3);
            else for (int i = 0; i < 3; i++) step.Run(feeds);
            launchCount = step.PlanFor(feeds).LaunchCount;
            return mlp.Parameters[0].Data!.ToArray<float>();
        }

        float[] run = Train(false, out _, out _);
        float[] profiled = Train(true, out IReadOnlyList<LaunchProfile> launches, out int launchCount);
        Assert.That(profiled, Is.EqualTo(run), "three profiled runs make the same three updates as Run");
        Assert.That(launches, Has.Count.EqualTo(launchCount));
        Assert.That(launches.All(l => l.Milliseconds >= 0 && l.Launch.Length > 0 && l.Op.Length > 0));
        Assert.That(launches.Select(l => l.Op), Does.Contain("SoftmaxCrossEntropy").Or.Contain("OptimizerStep"));
    }

    [Test]
    public void ProfileNeedsAtLeastOneRun()
    {
        ModelGraph mlp = BenchmarkModels.Mlp([4, 2], seed: 1);
        using CompiledGraph step = TrainingStep.Compile(mlp.Loss, mlp.Parameters, new Adam());
        var feeds = new Dictionary<string, Tensor> { ["x"] = Tensor.Zeros([1, 4]).MoveToOuterScope(), ["target"] = Tensor.Zeros([1, 2]).MoveToOuterScope() };
        Assert.Throws<ArgumentOutOfRangeException>(() => step.Profile(feeds, runs: 0));
    }
}

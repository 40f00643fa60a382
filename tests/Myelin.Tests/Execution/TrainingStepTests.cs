using Myelin.Execution;
using Myelin.Graphs;
using Myelin.Models;
using Myelin.Optim;
using Myelin.Tests.TestSupport;
using NUnit.Framework;

namespace Myelin.Tests.Execution;

public class TrainingStepTests
{
    private static (CompiledGraph Step, Dictionary<string, Tensor> Feeds) MakeMlpStep(int batch, int[] sizes, bool fuse = true)
    {
        ModelGraph mlp = BenchmarkModels.Mlp(sizes, seed: 3);
        CompiledGraph step = TrainingStep.Compile(mlp.Loss, mlp.Parameters, new Adam(learningRate: 1e-2), new CompileOptions { Fuse = fuse });
        var generator = new Generator(seed: 4);
        Tensor x = Tensor.Rand([batch, sizes[0]], generator: generator).MoveToOuterScope();
        float[] oneHot = new float[batch * sizes[^1]];
        for (int row = 0; row < batch; row++) oneHot[row * sizes[^1] + row % sizes[^1]] = 1;
        Tensor target = Tensor.FromArray(oneHot, [batch, sizes[^1]]).MoveToOuterScope();
        return (step, new Dictionary<string, Tensor> { ["x"] = x, ["target"] = target });
    }

    [Test]
    public void MlpStepLowersTheLoss()
    {
        (CompiledGraph step, Dictionary<string, Tensor> feeds) = MakeMlpStep(16, [20, 16, 8, 4]);
        using (step)
        {
            float first = step.Run(feeds)[0].Item<float>();
            float last = first;
            for (int i = 0; i < 60; i++) last = step.Run(feeds)[0].Item<float>();
            Assert.That(first, Is.GreaterThan(0.5f));
            Assert.That(last, Is.LessThan(first * 0.5f));
        }
    }

    [Test]
    public void StepAfterWarmUpAllocatesNoManagedAndNoNativeMemory()
    {
        (CompiledGraph step, Dictionary<string, Tensor> feeds) = MakeMlpStep(32, [64, 32, 16, 10]);
        using (step) SteadyState.AssertNoAllocationPerRun(step, feeds);
    }

    [Test]
    public void ANewBatchSizePlansOnceAndRunsCorrectly()
    {
        (CompiledGraph step, Dictionary<string, Tensor> feeds) = MakeMlpStep(8, [12, 8, 3]);
        using (step)
        {
            step.Run(feeds);
            Assert.That(step.PlanCount, Is.EqualTo(1));
            var bigger = new Dictionary<string, Tensor> { ["x"] = Tensor.Rand([5, 12]).MoveToOuterScope(), ["target"] = Tensor.Ones([5, 3]).MoveToOuterScope() };
            step.Run(bigger);
            step.Run(bigger);
            step.Run(feeds);
            Assert.That(step.PlanCount, Is.EqualTo(2));
        }
    }

    [Test]
    public void FusedAndUnfusedStepsAgree()
    {
        (CompiledGraph fused, Dictionary<string, Tensor> feeds) = MakeMlpStep(8, [12, 8, 3], fuse: true);
        (CompiledGraph plain, _) = MakeMlpStep(8, [12, 8, 3], fuse: false);
        using (fused)
        using (plain)
        {
            Assert.That(fused.Graph.Nodes.Count(n => n.Op.Name == "FusedGemm"), Is.GreaterThan(0));
            Assert.That(plain.Graph.Nodes.Count(n => n.Op.Name == "FusedGemm"), Is.Zero);
            for (int i = 0; i < 5; i++)
            {
                float a = fused.Run(feeds)[0].Item<float>();
                float b = plain.Run(feeds)[0].Item<float>();
                Assert.That(a, Is.EqualTo(b).Within(1e-5).Percent, $"step {i}");
            }
        }
    }

    [Test]
    public void ArenaIsSmallerThanNaiveAndPlacesLiveBuffersApart()
    {
        (CompiledGraph step, Dictionary<string, Tensor> feeds) = MakeMlpStep(64, [100, 64, 32, 10]);
        using (step)
        {
            ExecutionPlan plan = step.PlanFor(feeds);
            Assert.That(plan.ArenaBytes, Is.LessThan(plan.NaiveBytes * 0.8));
            Assert.That(plan.ArenaBytes, Is.GreaterThan(0));
        }
    }
}

public class TrainingStepMemoryTests
{
    [Test]
    public void MlpTrainStepArenaIsAtMostHalfTheNaiveBytes()
    {
        ModelGraph mlp = BenchmarkModels.Mlp([784, 256, 128, 10], seed: 1);
        using CompiledGraph step = TrainingStep.Compile(mlp.Loss, mlp.Parameters, new Adam());
        var feeds = new Dictionary<string, Tensor> { ["x"] = Tensor.Zeros([128, 784]).MoveToOuterScope(), ["target"] = Tensor.Zeros([128, 10]).MoveToOuterScope() };
        ExecutionPlan plan = step.PlanFor(feeds);
        Assert.That(plan.ArenaBytes, Is.LessThanOrEqualTo(plan.NaiveBytes / 2), $"arena {plan.ArenaBytes} naive {plan.NaiveBytes}");
    }

    [Test]
    public void ChunkedWeightUpdateMatchesTheWholeUpdate()
    {
        float[] Train(long chunkBytes)
        {
            ModelGraph mlp = BenchmarkModels.Mlp([40, 24, 5], seed: 8);
            using CompiledGraph step = TrainingStep.Compile(mlp.Loss, mlp.Parameters, new Adam(learningRate: 1e-2), gradientChunkBytes: chunkBytes);
            var feeds = new Dictionary<string, Tensor>
            {
                ["x"] = Tensor.Rand([6, 40], generator: new Generator(seed: 2)).MoveToOuterScope(),
                ["target"] = Tensor.FromArray(Enumerable.Range(0, 30).Select(i => i % 6 == 0 ? 1f : 0f).ToArray(), [6, 5]).MoveToOuterScope(),
            };
            if (chunkBytes < 1000) Assert.That(step.Graph.Nodes.Count(n => n.Op.Name == "OptimizerStep"), Is.GreaterThan(4), "the first weight is updated in blocks");
            for (int i = 0; i < 5; i++) step.Run(feeds);
            return mlp.Parameters[0].Data!.ToArray<float>();
        }

        float[] whole = Train(long.MaxValue), chunked = Train(1024);
        Approx.AssertClose(chunked, Reference.ToDouble(whole), 1e-6, 1e-5);
    }
}

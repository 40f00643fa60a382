using Myelin.Execution;
using Myelin.Graphs;
using Myelin.Models;
using Myelin.Ops;
using Myelin.Optim;
using Myelin.Tests.TestSupport;
using NUnit.Framework;

namespace Myelin.Tests.Graphs;

public class NnOpForwardTests
{
    private static double[] RunOne(Func<Graph, Value, Value> build, double[] input, long[] shape)
    {
        var g = new Graph();
        Value x = g.Input("x", DType.F64, shape.Select(Dim.Of).ToArray());
        g.MarkOutput(build(g, x));
        using CompiledGraph compiled = CompiledGraph.Compile(g);
        return compiled.Run(new Dictionary<string, Tensor> { ["x"] = Tensor.FromArray(input, new Shape(shape)).MoveToOuterScope() })[0].ToArray<double>();
    }

    [Test]
    public void ConvMatchesADirectLoop()
    {
        // x: 1x2x4x4, w: 3x2x3x3, stride 1, pads 1: y[m, i, j] = sum_c,ki,kj x[c, i+ki-1, j+kj-1] w[m, c, ki, kj].
        var generator = new Generator(seed: 21);
        double[] x = new double[32], w = new double[54];
        generator.FillNormal(x);
        generator.FillNormal(w);
        double[] actual = RunOne((g, input) => g.Apply("Conv", [input, g.Constant(Tensor.FromArray(w, new Shape(3, 2, 3, 3)).MoveToOuterScope())],
            new Dictionary<string, object> { ["pads"] = new long[] { 1, 1, 1, 1 } })[0], x, [1, 2, 4, 4]);
        var expected = new double[48];
        for (int m = 0; m < 3; m++)
        for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
        {
            double sum = 0;
            for (int c = 0; c < 2; c++)
            for (int ki = 0; ki < 3; ki++)
            for (int kj = 0; kj < 3; kj++)
            {
                int r = i + ki - 1, s = j + kj - 1;
                if (r >= 0 && r < 4 && s >= 0 && s < 4) sum += x[c * 16 + r * 4 + s] * w[((m * 2 + c) * 3 + ki) * 3 + kj];
            }

            expected[(m * 4 + i) * 4 + j] = sum;
        }

        Approx.AssertClose(actual, expected, 1e-12, 1e-12);
    }

    [Test]
    public void MaxPoolMatchesADirectLoop()
    {
        double[] x = Enumerable.Range(0, 16).Select(i => (double)((i * 7) % 16)).ToArray();
        double[] actual = RunOne((g, input) => g.Apply("MaxPool", [input], new Dictionary<string, object>
        {
            ["kernel_shape"] = new long[] { 2, 2 }, ["strides"] = new long[] { 2, 2 },
        })[0], x, [1, 1, 4, 4]);
        var expected = new double[4];
        for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
        {
            expected[i * 2 + j] = new[] { x[(2 * i) * 4 + 2 * j], x[(2 * i) * 4 + 2 * j + 1], x[(2 * i + 1) * 4 + 2 * j], x[(2 * i + 1) * 4 + 2 * j + 1] }.Max();
        }

        Approx.AssertClose(actual, expected);
    }

    [Test]
    public void SoftmaxCrossEntropyMatchesPlainCode()
    {
        double[] logits = [1, 2, 3, -1, 0, 4];
        double[] target = [0, 0, 1, 0.5, 0.5, 0];
        double[] actual = RunOne((g, x) => g.Apply("SoftmaxCrossEntropy", [x, g.Constant(Tensor.FromArray(target, new Shape(2, 3)).MoveToOuterScope())])[0], logits, [2, 3]);
        double expected = 0;
        for (int row = 0; row < 2; row++)
        {
            double[] z = logits.Skip(row * 3).Take(3).ToArray();
            double log = Math.Log(z.Sum(v => Math.Exp(v)));
            for (int k = 0; k < 3; k++) expected -= target[row * 3 + k] * (z[k] - log);
        }

        Approx.AssertClose(actual, [expected / 2]);
    }

    [Test]
    public void CnnTrainStepLearnsAndAllocatesNothingAfterWarmUp()
    {
        ModelGraph cnn = BenchmarkModels.Cnn(seed: 2);
        using CompiledGraph step = TrainingStep.Compile(cnn.Loss, cnn.Parameters, new Adam(learningRate: 1e-2));
        var feeds = new Dictionary<string, Tensor>
        {
            ["x"] = Tensor.Rand([4, 1, 28, 28], generator: new Generator(seed: 3)).MoveToOuterScope(),
            ["target"] = Tensor.FromArray(Enumerable.Range(0, 40).Select(i => i % 11 == 0 ? 1f : 0f).ToArray(), [4, 10]).MoveToOuterScope(),
        };
        float first = step.Run(feeds)[0].Item<float>();
        for (int i = 0; i < 3; i++) step.Run(feeds);
        long native = Device.Cpu.GetMemoryStats().AllocationCount;
        long managed = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++) step.Run(feeds);
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - managed, Is.Zero);
        Assert.That(Device.Cpu.GetMemoryStats().AllocationCount - native, Is.Zero);
        Assert.That(step.Run(feeds)[0].Item<float>(), Is.LessThan(first));
    }
}

public class DropoutTests
{
    [Test]
    public void TrainingDropoutScalesKeptElementsAndItsGradientUsesTheSameMask()
    {
        var g = new Graph();
        Value x = g.Input("x", DType.F32, 1000);
        Value[] outputs = g.Apply("Dropout", [x, g.Scalar(0.25), g.Constant(Tensor.Scalar(true).MoveToOuterScope())], new Dictionary<string, object> { ["seed"] = 7L });
        Value dx = Myelin.Autodiff.Gradients.Of((outputs[0] * 3.0).Sum(), [x])[0]!;
        g.MarkOutput(outputs[0], outputs[1], dx);
        using CompiledGraph compiled = CompiledGraph.Compile(g);
        var feeds = new Dictionary<string, Tensor> { ["x"] = Tensor.Ones([1000]).MoveToOuterScope() };
        IReadOnlyList<Tensor> first = compiled.Run(feeds);
        float[] y = first[0].ToArray<float>(), grad = first[2].ToArray<float>();
        bool[] mask = first[1].ToArray<bool>();
        for (int i = 0; i < 1000; i++)
        {
            Assert.That(y[i], Is.EqualTo(mask[i] ? 1 / 0.75f : 0).Within(1e-6), $"y[{i}]");
            Assert.That(grad[i], Is.EqualTo(mask[i] ? 3 / 0.75f : 0).Within(1e-5), $"dx[{i}]");
        }

        Assert.That(mask.Count(m => !m), Is.InRange(180, 320), "about a quarter dropped");
        bool[] next = compiled.Run(feeds)[1].ToArray<bool>();
        Assert.That(next, Is.Not.EqualTo(mask), "each run draws a new mask");
    }

    [Test]
    public void AStreamSetFromAnotherNodeDrawsThatNodesNextMasks()
    {
        (CompiledGraph Compiled, Node Node) Build(long seed)
        {
            var g = new Graph();
            Value x = g.Input("x", DType.F32, 1000);
            Value[] outputs = g.Apply("Dropout", [x, g.Scalar(0.5), g.Constant(Tensor.Scalar(true).MoveToOuterScope())], new Dictionary<string, object> { ["seed"] = seed });
            g.MarkOutput(outputs[1]);
            return (CompiledGraph.Compile(g), outputs[1].Producer!);
        }

        var feeds = new Dictionary<string, Tensor> { ["x"] = Tensor.Ones([1000]).MoveToOuterScope() };
        (CompiledGraph original, Node node) = Build(11);
        using (original)
        {
            original.Run(feeds);
            original.Run(feeds);
            (ulong seed, ulong offset) = DropoutOp.StreamOf(node);
            Assert.That((seed, offset), Is.EqualTo((11UL, 2000UL)), "the seed attribute, advanced by the element count per run");
            bool[] third = original.Run(feeds)[0].ToArray<bool>();

            (CompiledGraph copy, Node other) = Build(12);
            using (copy)
            {
                DropoutOp.SetStream(other, seed, offset);
                Assert.That(copy.Run(feeds)[0].ToArray<bool>(), Is.EqualTo(third));
                Assert.That(DropoutOp.StreamOf(other), Is.EqualTo((11UL, 3000UL)));
            }
        }
    }
}

public class BatchNormTests
{
    [Test]
    public void TrainingModeGradientMatchesFiniteDifferencesAndUpdatesRunningStatistics()
    {
        Tensor mean = Tensor.Zeros([3], DType.F64).MoveToOuterScope(), variance = Tensor.Ones([3], DType.F64).MoveToOuterScope();
        Myelin.Autodiff.GradCheckResult result = Myelin.Autodiff.GradCheck.Check("BatchNormalization", (g, x) =>
        [
            g.Apply("BatchNormalization", [x[0], x[1], x[2], g.Parameter("mean", mean), g.Parameter("var", variance)],
                new Dictionary<string, object> { ["training_mode"] = 1L, ["momentum"] = 0.5 })[0],
        ], [[0.1, 0.5, -0.3, 0.9, 1.2, -0.7, 0.4, 0.2, -1.1, 0.6, 0.3, 0.8], [1.0, 0.5, 2.0], [0.1, -0.2, 0.3]], [[2, 3, 2, 1], [3], [3]]);
        Assert.That(result.Ok, Is.True, $"{result.MaxRelativeError}: {result.Message}");
        Assert.That(mean.ToArray<double>().Any(m => m != 0), Is.True, "running mean updated in place");
    }
}

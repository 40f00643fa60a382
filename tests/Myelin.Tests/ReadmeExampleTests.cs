using Myelin.Autodiff;
using Myelin.Execution;
using Myelin.Graphs;
using NUnit.Framework;

namespace Myelin.Tests;

/// <summary>The code shown in README.md, run as written and checked against a plain C# computation.</summary>
public sealed class ReadmeExampleTests
{
    [Test]
    public void QuickStartExampleComputesTheReluSumOfAnAffineProduct()
    {
        using var scope = new TensorScope();
        var rng = new Generator(seed: 42);
        var a = Tensor.RandN([64, 128], generator: rng);
        var b = Tensor.RandN([128, 32], generator: rng);
        var y = (a.MatMul(b) + 1f).Relu().Sum();

        float[] av = a.ToArray<float>(), bv = b.ToArray<float>();
        double expected = 0;
        for (int i = 0; i < 64; i++)
        {
            for (int j = 0; j < 32; j++)
            {
                double dot = 1;
                for (int k = 0; k < 128; k++)
                {
                    dot += (double)av[i * 128 + k] * bv[k * 32 + j];
                }

                expected += Math.Max(dot, 0);
            }
        }

        Assert.That(y.Item<float>(), Is.EqualTo(expected).Within(1e-4 * expected));
    }

    [Test]
    public void GraphExampleComputesTheGradientOfTanhOfAnAffineMap()
    {
        using var scope = new TensorScope();
        var graph = new Graph();
        var x = graph.Input("x", DType.F32, "N", 3);                        // symbolic batch dim
        var w = graph.Parameter("w", Tensor.FromArray([0.1f, -0.2f, 0.3f, 0.4f, 0.5f, -0.6f], [3, 2]));
        var loss = x.MatMul(w).Tanh().Sum();
        var dw = Gradients.Of(loss, [w])[0]!;                               // more graph nodes
        graph.MarkOutput(loss, dw);
        using var compiled = CompiledGraph.Compile(graph);
        var outputs = compiled.Run(new Dictionary<string, Tensor> { ["x"] = Tensor.Ones([4, 3]) });

        // Every row of x is (1,1,1), so column j of x*w is the column sum s_j of w, and
        // d loss / d w[i,j] = N * (1 - tanh(s_j)^2).
        double[] columnSums = [0.1 + 0.3 + 0.5, -0.2 + 0.4 - 0.6];
        double expectedLoss = 4 * (Math.Tanh(columnSums[0]) + Math.Tanh(columnSums[1]));
        Assert.That(outputs[0].Item<float>(), Is.EqualTo(expectedLoss).Within(1e-5));
        float[] gradient = outputs[1].ToArray<float>();
        for (int i = 0; i < 3; i++)
        {
            for (int j = 0; j < 2; j++)
            {
                double t = Math.Tanh(columnSums[j]);
                Assert.That(gradient[i * 2 + j], Is.EqualTo(4 * (1 - t * t)).Within(1e-5), $"dw[{i},{j}]");
            }
        }
    }
}

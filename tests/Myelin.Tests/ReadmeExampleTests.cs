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
}

using Myelin.Execution;
using Myelin.Graphs;
using NUnit.Framework;

namespace Myelin.Tests.Tensors.Ops;

/// <summary>
/// f16/bf16 tensors through MatMul and elementwise ops, eagerly and in a compiled graph: the native kernels widen
/// to f32, compute in f32 and round the result once, so a C# reference that does the same on System.Half / BFloat16
/// values agrees (exactly for one add or multiply, within one 16-bit rounding for exp and the products).
/// </summary>
public class HalfPrecisionTests
{
    private TensorScope _scope = null!;

    [SetUp]
    public void OpenScope() => _scope = new TensorScope();

    [TearDown]
    public void CloseScope() => _scope.Dispose();

    /// <summary>One 16-bit format: its CLR type, conversions through float, and half its ulp (relative).</summary>
    public sealed record Format(DType DType, Func<float[], long[], Tensor> Make, Func<Tensor, float[]> Read,
        Func<float, float> Round, double UnitRoundoff);

    private static readonly Format s_f16 = new(DType.F16,
        (values, shape) => Tensor.FromArray(values.Select(v => (Half)v).ToArray(), shape),
        tensor => tensor.ToArray<Half>().Select(h => (float)h).ToArray(),
        v => (float)(Half)v, Math.Pow(2, -11));

    private static readonly Format s_bf16 = new(DType.Bf16,
        (values, shape) => Tensor.FromArray(values.Select(v => (BFloat16)v).ToArray(), shape),
        tensor => tensor.ToArray<BFloat16>().Select(h => (float)h).ToArray(),
        v => (BFloat16)v, Math.Pow(2, -8));

    private static IEnumerable<TestCaseData> Formats()
    {
        yield return new TestCaseData(s_f16).SetArgDisplayNames("f16");
        yield return new TestCaseData(s_bf16).SetArgDisplayNames("bf16");
    }

    /// <summary>Random values already representable in the format, so the reference sees what the kernel sees.</summary>
    private static float[] RandomValues(Format format, Random random, long count, double scale = 2) =>
        Enumerable.Range(0, (int)count).Select(_ => format.Round((float)((random.NextDouble() * 2 - 1) * scale))).ToArray();

    /// <summary>C = A B in double from the (exact) stored values, with the sum of |terms| for the tolerance.</summary>
    private static (double[] Value, double[] Magnitude) Product(float[] a, float[] b, int m, int k, int n)
    {
        var value = new double[m * n];
        var magnitude = new double[m * n];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                for (int p = 0; p < k; p++)
                {
                    double term = (double)a[i * k + p] * b[p * n + j];
                    value[i * n + j] += term;
                    magnitude[i * n + j] += Math.Abs(term);
                }
            }
        }

        return (value, magnitude);
    }

    private static void AssertWithinOneRounding(float[] got, double[] want, double[] magnitude, int k, Format format)
    {
        for (int i = 0; i < want.Length; i++)
        {
            double tolerance = format.UnitRoundoff * Math.Abs(want[i]) + (k + 8) * Math.Pow(2, -23) * magnitude[i] + 1e-7;
            Assert.That(got[i], Is.EqualTo(want[i]).Within(tolerance), $"element {i}");
        }
    }

    [TestCaseSource(nameof(Formats))]
    public void MatMulMatchesADoubleProductOfTheStoredValues(Format format)
    {
        var random = new Random(3);
        const int m = 17, k = 300, n = 9;
        float[] a = RandomValues(format, random, m * k), b = RandomValues(format, random, k * n);
        Tensor c = format.Make(a, [m, k]).MatMul(format.Make(b, [k, n]));
        Assert.That(c.DType, Is.EqualTo(format.DType));
        Assert.That(c.Shape, Is.EqualTo(new Shape(m, n)));
        (double[] want, double[] magnitude) = Product(a, b, m, k, n);
        AssertWithinOneRounding(format.Read(c), want, magnitude, k, format);
    }

    [TestCaseSource(nameof(Formats))]
    public void AddAndMulRoundTheF32ResultOnce(Format format)
    {
        var random = new Random(5);
        float[] a = RandomValues(format, random, 3 * 40, 100), b = RandomValues(format, random, 40, 100);
        // b broadcasts along the rows of a.
        Tensor ta = format.Make(a, [3, 40]), tb = format.Make(b, [40]);
        float[] sum = format.Read(ta + tb), product = format.Read(ta * tb);
        for (int i = 0; i < a.Length; i++)
        {
            Assert.That(sum[i], Is.EqualTo(format.Round(a[i] + b[i % 40])), $"sum {i}");
            Assert.That(product[i], Is.EqualTo(format.Round(a[i] * b[i % 40])), $"product {i}");
        }
    }

    [TestCaseSource(nameof(Formats))]
    public void ExpAndReluMatchTheF32Reference(Format format)
    {
        var random = new Random(7);
        float[] x = RandomValues(format, random, 5000, 6);
        Tensor tx = format.Make(x, [50, 100]);
        float[] exp = format.Read(tx.Exp()), relu = format.Read(tx.Relu());
        for (int i = 0; i < x.Length; i++)
        {
            double want = MathF.Exp(x[i]);
            Assert.That(exp[i], Is.EqualTo(want).Within((format.UnitRoundoff + 1e-5) * want), $"exp {i}");
            Assert.That(relu[i], Is.EqualTo(Math.Max(x[i], 0f)), $"relu {i}");
        }
    }

    [TestCaseSource(nameof(Formats))]
    public void ACompiledGraphRunsMatMulBiasAndReluOnTheFormat(Format format)
    {
        var random = new Random(11);
        const int m = 6, k = 20, n = 5;
        float[] x = RandomValues(format, random, m * k), w = RandomValues(format, random, k * n), bias = RandomValues(format, random, n);
        var graph = new Graph();
        Value input = graph.Input("x", format.DType, m, k);
        Value weight = graph.Input("w", format.DType, k, n);
        Value offset = graph.Input("b", format.DType, n);
        graph.MarkOutput((input.MatMul(weight) + offset).Relu());
        using CompiledGraph compiled = CompiledGraph.Compile(graph);
        var feeds = new Dictionary<string, Tensor>
        {
            ["x"] = format.Make(x, [m, k]), ["w"] = format.Make(w, [k, n]), ["b"] = format.Make(bias, [n]),
        };
        Tensor y = compiled.Run(feeds)[0];
        Assert.That(y.DType, Is.EqualTo(format.DType));
        (double[] product, double[] magnitude) = Product(x, w, m, k, n);
        // The product may be rounded to the format before the bias is added (an unfused graph) or not (fused
        // epilogue): allow two roundings.
        double[] want = product.Select((v, i) => Math.Max(v + bias[i % n], 0)).ToArray();
        for (int i = 0; i < want.Length; i++)
        {
            double tolerance = 2 * format.UnitRoundoff * (Math.Abs(product[i]) + Math.Abs(bias[i % n])) +
                (k + 8) * Math.Pow(2, -23) * magnitude[i] + 1e-7;
            Assert.That(format.Read(y)[i], Is.EqualTo(want[i]).Within(tolerance), $"element {i}");
        }
    }

    [TestCaseSource(nameof(Formats))]
    public void ACompiledGraphRunsAnElementwiseChainOnTheFormat(Format format)
    {
        // A chain the fusion passes may merge: each op rounds to the format unless fused (then only the last does).
        var random = new Random(13);
        float[] x = RandomValues(format, random, 4 * 33, 3);
        var graph = new Graph();
        Value input = graph.Input("x", format.DType, 4, 33);
        graph.MarkOutput((input * 2.0 + 1.0).Relu());
        using CompiledGraph compiled = CompiledGraph.Compile(graph);
        Tensor y = compiled.Run(new Dictionary<string, Tensor> { ["x"] = format.Make(x, [4, 33]) })[0];
        Assert.That(y.DType, Is.EqualTo(format.DType));
        float[] got = format.Read(y);
        for (int i = 0; i < x.Length; i++)
        {
            // x * 2 is exact, so one rounding of 2x + 1 either way.
            Assert.That(got[i], Is.EqualTo(format.Round(Math.Max(x[i] * 2 + 1, 0f))), $"element {i}");
        }
    }
}

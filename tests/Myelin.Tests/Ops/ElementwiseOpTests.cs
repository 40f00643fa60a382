using Myelin.Execution;
using Myelin.Graphs;
using Myelin.Tests.TestSupport;
using NUnit.Framework;
using static Myelin.Tests.Ops.OpRunner;

namespace Myelin.Tests.Ops;

public class ElementwiseOpTests
{
    private static readonly double[] s_unit = [-0.9, -0.4, 0.0, 0.3, 0.85];

    private static double[] RunUnary(string op, double[] x, Dictionary<string, object>? attributes = null) =>
        Run((g, v) => [g.Apply(op, [v[0]], attributes)[0]], new Feed(x, [x.Length]))[0].ToArray<double>();

    private static IEnumerable<TestCaseData> UnaryCases()
    {
        double[] wide = [-2.5, -1.0, -0.2, 0.0, 0.7, 1.9];
        yield return new TestCaseData("Tan", new[] { -1.3, -0.5, 0.0, 0.4, 1.2 }, (Func<double, double>)(x => Math.Sin(x) / Math.Cos(x)));
        yield return new TestCaseData("Asin", s_unit, (Func<double, double>)(x => Math.Atan2(x, Math.Sqrt(1 - x * x))));
        yield return new TestCaseData("Acos", s_unit, (Func<double, double>)(x => Math.Atan2(Math.Sqrt(1 - x * x), x)));
        yield return new TestCaseData("Atan", wide, (Func<double, double>)(x => Math.Atan2(x, 1)));
        yield return new TestCaseData("Sinh", wide, (Func<double, double>)(x => (Math.Exp(x) - Math.Exp(-x)) / 2));
        yield return new TestCaseData("Cosh", wide, (Func<double, double>)(x => (Math.Exp(x) + Math.Exp(-x)) / 2));
        yield return new TestCaseData("Asinh", wide, (Func<double, double>)(x => Math.Sign(x) * Math.Log(Math.Abs(x) + Math.Sqrt(x * x + 1))));
        yield return new TestCaseData("Acosh", new[] { 1.0, 1.5, 4.0, 100.0 }, (Func<double, double>)(x => Math.Log(x + Math.Sqrt(x * x - 1))));
        yield return new TestCaseData("Atanh", s_unit, (Func<double, double>)(x => 0.5 * Math.Log((1 + x) / (1 - x))));
    }

    [TestCaseSource(nameof(UnaryCases))]
    public void InverseAndHyperbolicFunctionsMatchTheirDefinitions(string op, double[] x, Func<double, double> reference)
    {
        Approx.AssertClose(RunUnary(op, x), x.Select(reference).ToArray(), 1e-12);
    }

    [Test]
    public void ShrinkThresholdedReluAndSeluHonourTheirAttributes()
    {
        double[] x = [-2, -1, -0.5, 0, 0.5, 1, 2];
        Approx.AssertClose(RunUnary("Shrink", x, new() { ["lambd"] = 0.75, ["bias"] = 0.25 }), [-1.75, -0.75, 0, 0, 0, 0.75, 1.75]);
        Approx.AssertClose(RunUnary("Shrink", x), [-2, -1, 0, 0, 0, 1, 2]);
        Approx.AssertClose(RunUnary("ThresholdedRelu", x, new() { ["alpha"] = 0.5 }), [0, 0, 0, 0, 0, 1, 2]);
        Approx.AssertClose(RunUnary("ThresholdedRelu", x), [0, 0, 0, 0, 0, 0, 2]);
        Approx.AssertClose(RunUnary("Selu", x, new() { ["alpha"] = 2.0, ["gamma"] = 3.0 }), x.Select(v => 3 * (v < 0 ? 2 * (Math.Exp(v) - 1) : v)).ToArray(), 1e-12);
    }

    /// <summary>Runs one node over typed inputs and returns its output's elements as T.</summary>
    private static T[] RunTyped<T>(string op, Array[] inputs, long[][] shapes, Dictionary<string, object>? attributes = null)
        where T : unmanaged
    {
        var graph = new Graph();
        var feeds = new Dictionary<string, Tensor>();
        var values = new Value[inputs.Length];
        for (int i = 0; i < inputs.Length; i++)
        {
            Tensor tensor = FromTypedArray(inputs[i], shapes[i]);
            values[i] = graph.Input($"x{i}", tensor.DType, shapes[i].Select(Dim.Of).ToArray());
            feeds[$"x{i}"] = tensor;
        }

        graph.MarkOutput(graph.Apply(op, values, attributes));
        using CompiledGraph compiled = CompiledGraph.Compile(graph);
        return compiled.Run(feeds)[0].ToArray<T>();
    }

    private static Tensor FromTypedArray(Array data, long[] shape) => data switch
    {
        int[] i => Tensor.FromArray(i, shape),
        long[] l => Tensor.FromArray(l, shape),
        byte[] b => Tensor.FromArray(b, shape),
        sbyte[] s => Tensor.FromArray(s, shape),
        float[] f => Tensor.FromArray(f, shape),
        double[] d => Tensor.FromArray(d, shape),
        bool[] z => Tensor.FromArray(z, shape),
        _ => throw new ArgumentException($"no dtype for {data.GetType()}"),
    };

    [Test]
    public void IntegerArithmeticWrapsAndDivisionTruncates()
    {
        byte[] a = [250, 16, 7, 200], b = [10, 3, 2, 0];
        long[][] shapes = [[4], [4]];
        Assert.That(RunTyped<byte>("Add", [a, b], shapes), Is.EqualTo(new byte[] { 4, 19, 9, 200 }));
        Assert.That(RunTyped<byte>("Sub", [a, b], shapes), Is.EqualTo(new byte[] { 240, 13, 5, 200 }));
        Assert.That(RunTyped<byte>("Mul", [a, b], shapes), Is.EqualTo(new byte[] { 196, 48, 14, 0 }));
        Assert.That(RunTyped<byte>("Div", [a, b], shapes), Is.EqualTo(new byte[] { 25, 5, 3, 0 }));
        int[] x = [-7, 7, -9, 4], y = [2, -2, 4, 3];
        Assert.That(RunTyped<int>("Div", [x, y], shapes), Is.EqualTo(new[] { -3, -3, -2, 1 }));
        Assert.That(RunTyped<int>("Max", [x, y], shapes), Is.EqualTo(new[] { 2, 7, 4, 4 }));
        Assert.That(RunTyped<int>("Min", [x, y], shapes), Is.EqualTo(new[] { -7, -2, -9, 3 }));
    }

    [Test]
    public void NegAndAbsTakeSignedIntegersAndRefuseUnsignedOnes()
    {
        long[] x = [-5, 0, 7, long.MaxValue];
        Assert.That(RunTyped<long>("Neg", [x], [[4]]), Is.EqualTo(x.Select(v => -v).ToArray()));
        Assert.That(RunTyped<long>("Abs", [x], [[4]]), Is.EqualTo(x.Select(Math.Abs).ToArray()));
        int[] small = [-3, 4];
        Assert.That(RunTyped<int>("Abs", [small], [[2]]), Is.EqualTo(new[] { 3, 4 }));
        var error = Assert.Throws<GraphValidationException>(() => RunTyped<byte>("Neg", [new byte[] { 1 }], [[1]]));
        Assert.That(error!.Message, Does.Contain("u8"));
    }

    [Test]
    public void ModFollowsTheDivisorOrWithFmodTheDividend()
    {
        int[] a = [-4, 7, 5, 4, -7, 8];
        int[] b = [2, -3, 8, -2, 3, 5];
        long[][] shapes = [[6], [6]];
        Assert.That(RunTyped<int>("Mod", [a, b], shapes), Is.EqualTo(new[] { 0, -2, 5, 0, 2, 3 }));
        Assert.That(RunTyped<int>("Mod", [a, b], shapes, new() { ["fmod"] = 1L }), Is.EqualTo(new[] { 0, 1, 5, 0, -1, 3 }));
        double[] fa = [-4.3, 7.2, 5.0], fb = [2.1, -3.4, 8.0];
        double[] got = RunTyped<double>("Mod", [fa, fb], [[3], [3]], new() { ["fmod"] = 1L });
        Approx.AssertClose(got, fa.Select((v, i) => v - Math.Truncate(v / fb[i]) * fb[i]).ToArray(), 1e-12);
    }

    [Test]
    public void ModOfFloatsWithoutFmodFailsNamingTheNode()
    {
        var g = new Graph();
        Value x = g.Input("x", DType.F32, 3);
        var error = Assert.Throws<GraphValidationException>(() => g.Apply("Mod", [x, x], name: "rem"));
        Assert.That(error!.Message, Does.Contain("node 'rem' (Mod)").And.Contain("fmod = 1"));
    }

    [Test]
    public void BitShiftShiftsBytesAndRefusesOtherDtypes()
    {
        byte[] a = [16, 4, 1, 200], b = [1, 2, 3, 8];
        long[][] shapes = [[4], [4]];
        Assert.That(RunTyped<byte>("BitShift", [a, b], shapes, new() { ["direction"] = "LEFT" }), Is.EqualTo(new byte[] { 32, 16, 8, 0 }));
        Assert.That(RunTyped<byte>("BitShift", [a, b], shapes, new() { ["direction"] = "RIGHT" }), Is.EqualTo(new byte[] { 8, 1, 0, 0 }));
        var g = new Graph();
        Value x = g.Input("x", DType.I32, 3);
        var error = Assert.Throws<GraphValidationException>(() => g.Apply("BitShift", [x, x], new Dictionary<string, object> { ["direction"] = "LEFT" }));
        Assert.That(error!.Message, Does.Contain("i32").And.Contain("u8"));
        Value u = g.Input("u", DType.U8, 3);
        error = Assert.Throws<GraphValidationException>(() => g.Apply("BitShift", [u, u], new Dictionary<string, object> { ["direction"] = "UP" }));
        Assert.That(error!.Message, Does.Contain("\"UP\""));
    }

    [Test]
    public void PowKeepsTheBasesDtype()
    {
        long[][] shapes = [[3], [3]];
        Assert.That(RunTyped<int>("Pow", [new[] { 1, 2, 3 }, new[] { 4f, 5f, 6f }], shapes), Is.EqualTo(new[] { 1, 32, 729 }));
        Assert.That(RunTyped<int>("Pow", [new[] { 2, 3, 4 }, new[] { 0.5f, 1.5f, -1f }], shapes), Is.EqualTo(new[] { 1, 5, 0 }), "truncated like the ONNX reference");
        Assert.That(RunTyped<long>("Pow", [new[] { 1L, -2, 3 }, new[] { 4L, 3, 6 }], shapes), Is.EqualTo(new[] { 1L, -8, 729 }));
        Assert.That(RunTyped<float>("Pow", [new[] { 1f, 2f, 3f }, new[] { 4L, 5, 6 }], shapes), Is.EqualTo(new[] { 1f, 32f, 729f }));
    }

    [Test]
    public void VariadicOpsBroadcastAllTheirInputs()
    {
        double[] a = [3, 0, 2, 1, 5, -1], b = [1, 3, 4], c = [2];
        long[] aShape = [2, 3];
        double[] Expected(Func<double, double, double, double> f) => a.Select((v, i) => f(v, b[i % 3], c[0])).ToArray();
        Feed[] feeds = [new(a, aShape), new(b, [3]), new(c, [1])];
        foreach ((string op, double[] want) in new[]
        {
            ("Sum", Expected((x, y, z) => x + y + z)),
            ("Mean", Expected((x, y, z) => (x + y + z) / 3)),
            ("Max", Expected((x, y, z) => Math.Max(x, Math.Max(y, z)))),
            ("Min", Expected((x, y, z) => Math.Min(x, Math.Min(y, z)))),
        })
        {
            Tensor y = Run((g, v) => [g.Apply(op, v)[0]], feeds)[0];
            Assert.That(y.Shape.ToArray(), Is.EqualTo(aShape), op);
            Approx.AssertClose(y.ToArray<double>(), want, 1e-12);
            Approx.AssertClose(Run((g, v) => [g.Apply(op, [v[0]])[0]], feeds[0])[0].ToArray<double>(), a, 0);
        }
    }

    [Test]
    public void VariadicInputsMustShareADtype()
    {
        var g = new Graph();
        Value x = g.Input("x", DType.F32, 3);
        Value y = g.Input("y", DType.F64, 3);
        var error = Assert.Throws<GraphValidationException>(() => g.Apply("Sum", [x, x, y], name: "total"));
        Assert.That(error!.Message, Does.Contain("node 'total' (Sum)").And.Contain("input 2 is f64"));
    }

    [Test]
    public void PredicatesFindNaNInfinitiesAndNegate()
    {
        float[] x = [-1.7f, float.NaN, float.PositiveInfinity, 3.6f, float.NegativeInfinity];
        long[][] shape = [[5]];
        Assert.That(RunTyped<bool>("IsNaN", [x], shape), Is.EqualTo(new[] { false, true, false, false, false }));
        Assert.That(RunTyped<bool>("IsInf", [x], shape), Is.EqualTo(new[] { false, false, true, false, true }));
        Assert.That(RunTyped<bool>("IsInf", [x], shape, new() { ["detect_positive"] = 0L }), Is.EqualTo(new[] { false, false, false, false, true }));
        Assert.That(RunTyped<bool>("IsInf", [x], shape, new() { ["detect_negative"] = 0L }), Is.EqualTo(new[] { false, false, true, false, false }));
        Assert.That(RunTyped<bool>("IsInf", [x], shape, new() { ["detect_positive"] = 0L, ["detect_negative"] = 0L }), Is.All.False);
        Assert.That(RunTyped<bool>("Not", [new[] { true, false, true }], [[3]]), Is.EqualTo(new[] { false, true, false }));
    }
}

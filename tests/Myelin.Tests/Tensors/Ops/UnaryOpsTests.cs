using Myelin.Tests.TestSupport;
using NUnit.Framework;

namespace Myelin.Tests.Tensors.Ops;

public class UnaryOpsTests
{
    private TensorScope _scope = null!;

    [SetUp]
    public void OpenScope() => _scope = new TensorScope();

    [TearDown]
    public void CloseScope() => _scope.Dispose();

    private static readonly (string Name, Func<Tensor, Tensor> Apply, Func<double, double> Reference, double Low, double High)[] s_ops =
    [
        ("Relu", t => t.Relu(), x => Math.Max(x, 0), -3, 3),
        ("Sigmoid", t => t.Sigmoid(), x => 1 / (1 + Math.Exp(-x)), -8, 8),
        ("Tanh", t => t.Tanh(), Math.Tanh, -5, 5),
        ("Exp", t => t.Exp(), Math.Exp, -10, 10),
        ("Log", t => t.Log(), Math.Log, 1e-3, 100),
        ("Neg", t => t.Neg(), x => -x, -3, 3),
        ("Abs", t => t.Abs(), Math.Abs, -3, 3),
        ("Sqrt", t => t.Sqrt(), Math.Sqrt, 0, 100),
        ("unary minus", t => -t, x => -x, -3, 3),
    ];

    private static IEnumerable<TestCaseData> Cases() =>
        s_ops.SelectMany(op => new[] { DType.F32, DType.F64 }.Select(dtype => new TestCaseData(op.Name, dtype).SetName($"{op.Name}_{dtype}")));

    [TestCaseSource(nameof(Cases))]
    public void MatchesTheReferenceOnRandomShapesAndLayouts(string name, DType dtype)
    {
        var op = s_ops.Single(o => o.Name == name);
        var random = new Random(name.Length * 31 + (int)dtype);
        foreach (long[] dims in new[] { new long[] { 37 }, [5, 7, 3], [0, 4], [1], [], [130, 17] })
        {
            double[] input = RoundTo(dtype, Reference.RandomValues(random, Reference.Count(dims), op.Low, op.High));
            double[] expected = RoundTo(dtype, input.Select(op.Reference).ToArray());
            Tensor x = Tensor.FromArray(input, new Shape(dims)).Cast(dtype);
            Tensor y = op.Apply(x);
            Assert.That(y.Shape, Is.EqualTo(x.Shape));
            Assert.That(y.DType, Is.EqualTo(dtype));
            // f32 transcendentals are vectorized approximations: allow some ulp of float.
            double tolerance = dtype == DType.F32 ? 1e-5 : 1e-12;
            Approx.AssertClose(y.Cast(DType.F64).ToArray<double>(), expected, tolerance, tolerance);
        }
    }

    [Test]
    public void WorksOnTransposedInputAndWritesIntoAGivenOutput()
    {
        double[] input = Reference.RandomValues(new Random(1), 12);
        Tensor x = Tensor.FromArray(input, 3, 4).Transpose();
        Tensor output = Tensor.Zeros([4, 3], DType.F64);
        Tensor returned = x.Unary(UnaryOp.Abs, output);
        Assert.That(returned, Is.SameAs(output));
        double[] expected = x.ToArray<double>().Select(Math.Abs).ToArray();
        Assert.That(output.ToArray<double>(), Is.EqualTo(expected));
    }

    [Test]
    public void InPlaceOutputMayBeTheInput()
    {
        Tensor x = Tensor.FromArray(new[] { -1.0, 2.0, -3.0 });
        x.Unary(UnaryOp.Relu, x);
        Assert.That(x.ToArray<double>(), Is.EqualTo(new[] { 0.0, 2.0, 0.0 }));
    }

    [Test]
    public void OutputOfWrongShapeFailsInTheNativeCheck()
    {
        Tensor x = Tensor.Zeros([3]);
        var exception = Assert.Throws<MyelinException>(() => x.Relu().Unary(UnaryOp.Exp, Tensor.Zeros([4])));
        Assert.That(exception!.Status, Is.EqualTo(Status.InvalidArgument));
    }

    private static double[] RoundTo(DType dtype, double[] values) =>
        dtype == DType.F32 ? values.Select(v => (double)(float)v).ToArray() : values;
}

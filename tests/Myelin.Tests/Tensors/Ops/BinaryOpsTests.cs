using Myelin.Tests.TestSupport;
using NUnit.Framework;

namespace Myelin.Tests.Tensors.Ops;

public class BinaryOpsTests
{
    private TensorScope _scope = null!;

    [SetUp]
    public void OpenScope() => _scope = new TensorScope();

    [TearDown]
    public void CloseScope() => _scope.Dispose();

    private static readonly (string Name, Func<Tensor, Tensor, Tensor> Apply, Func<double, double, double> Reference)[] s_ops =
    [
        ("Add", Tensor.Add, (a, b) => a + b),
        ("Sub", Tensor.Sub, (a, b) => a - b),
        ("Mul", Tensor.Mul, (a, b) => a * b),
        ("Div", Tensor.Div, (a, b) => a / b),
        ("Maximum", Tensor.Maximum, Math.Max),
        ("Minimum", Tensor.Minimum, Math.Min),
        ("Pow", (a, b) => Tensor.Pow(a.Abs(), b), (a, b) => Math.Pow(Math.Abs(a), b)),
        ("operator +", (a, b) => a + b, (a, b) => a + b),
        ("operator -", (a, b) => a - b, (a, b) => a - b),
        ("operator *", (a, b) => a * b, (a, b) => a * b),
        ("operator /", (a, b) => a / b, (a, b) => a / b),
    ];

    private static readonly (long[] A, long[] B)[] s_shapes =
    [
        ([4, 5], [4, 5]),
        ([4, 5], [5]),
        ([3, 1, 6], [4, 1]),
        ([], [2, 3]),
        ([7], []),
        ([0, 3], [1, 3]),
        ([1], [0]),
        ([2, 1, 3, 1], [1, 5, 1, 4]),
    ];

    private static IEnumerable<TestCaseData> Cases() =>
        s_ops.Select(op => new TestCaseData(op.Name).SetName($"{op.Name.Replace(' ', '_')}"));

    [TestCaseSource(nameof(Cases))]
    public void BroadcastsLikeTheReference(string name)
    {
        var op = s_ops.Single(o => o.Name == name);
        var random = new Random(name.GetHashCode(StringComparison.Ordinal) & 0xFFFF);
        foreach ((long[] aDims, long[] bDims) in s_shapes)
        {
            double[] a = Reference.RandomValues(random, Reference.Count(aDims));
            double[] b = Reference.RandomValues(random, Reference.Count(bDims), 0.5, 2);
            Tensor result = op.Apply(Tensor.FromArray(a, new Shape(aDims)), Tensor.FromArray(b, new Shape(bDims)));
            Assert.That(result.Shape, Is.EqualTo(new Shape(Reference.BroadcastShape(aDims, bDims))), $"{new Shape(aDims)} op {new Shape(bDims)}");
            Approx.AssertClose(result.ToArray<double>(), Reference.Elementwise(a, aDims, b, bDims, op.Reference), 1e-12, 1e-12);
        }
    }

    [Test]
    public void F32MatchesTheReferenceWithinFloatRounding()
    {
        var random = new Random(3);
        double[] a = Reference.RandomValues(random, 60);
        double[] b = Reference.RandomValues(random, 12, 0.5, 2);
        Tensor result = Tensor.FromArray(Reference.ToSingle(a), 5, 12) / Tensor.FromArray(Reference.ToSingle(b), 12);
        double[] expected = Reference.Elementwise(Reference.ToDouble(Reference.ToSingle(a)), [5, 12], Reference.ToDouble(Reference.ToSingle(b)), [12], (x, y) => x / y);
        Approx.AssertClose(result.ToArray<float>(), expected, 1e-6, 1e-6);
    }

    [Test]
    public void NonContiguousOperandsAreReadThroughTheirStrides()
    {
        var random = new Random(8);
        double[] a = Reference.RandomValues(random, 24);
        double[] b = Reference.RandomValues(random, 24);
        Tensor at = Tensor.FromArray(a, 4, 6).Transpose();
        Tensor bs = Tensor.FromArray(b, 6, 4);
        Tensor sliced = Tensor.FromArray(b, 4, 6).Slice(1, 0, 6, step: 2);
        double[] atValues = at.ToArray<double>();
        Assert.That((at + bs).ToArray<double>(), Is.EqualTo(atValues.Zip(b, (x, y) => x + y).ToArray()));
        Tensor product = at.Narrow(0, 0, 3).Transpose() * sliced;
        double[] expected = Reference.Elementwise(at.Narrow(0, 0, 3).Transpose().ToArray<double>(), [4, 3], sliced.ToArray<double>(), [4, 3], (x, y) => x * y);
        Assert.That(product.ToArray<double>(), Is.EqualTo(expected));
    }

    [Test]
    public void ScalarOperandsBroadcastInEitherPosition()
    {
        Tensor x = Tensor.FromArray(new[] { 1f, 2f, 4f });
        Assert.That((x + 1).ToArray<float>(), Is.EqualTo(new[] { 2f, 3f, 5f }));
        Assert.That((10 - x).ToArray<float>(), Is.EqualTo(new[] { 9f, 8f, 6f }));
        Assert.That((x * 0.5).ToArray<float>(), Is.EqualTo(new[] { 0.5f, 1f, 2f }));
        Assert.That((8 / x).ToArray<float>(), Is.EqualTo(new[] { 8f, 4f, 2f }));
        Assert.That((x / 2).ToArray<float>(), Is.EqualTo(new[] { 0.5f, 1f, 2f }));
        Assert.That((x - 1).ToArray<float>(), Is.EqualTo(new[] { 0f, 1f, 3f }));
        Assert.That(x.Pow(2).ToArray<float>(), Is.EqualTo(new[] { 1f, 4f, 16f }));
        Assert.That((2 + x).DType, Is.EqualTo(DType.F32));
    }

    [Test]
    public void IntegerTensorsComputeInTheirDtype()
    {
        Tensor x = Tensor.FromArray(new[] { 7, -7, 9 });
        Assert.That((x + 3).ToArray<int>(), Is.EqualTo(new[] { 10, -4, 12 }));
        Assert.That(Tensor.Maximum(x, Tensor.Scalar(0)).ToArray<int>(), Is.EqualTo(new[] { 7, 0, 9 }));
    }

    [Test]
    public void ShapesThatDoNotBroadcastAreNamedInTheMessage()
    {
        var exception = Assert.Throws<ArgumentException>(() => _ = Tensor.Zeros([2, 3]) + Tensor.Zeros([4]));
        Assert.That(exception!.Message, Does.Contain("2x3").And.Contain("4"));
    }

    [Test]
    public void MixedDtypesAreRejectedByTheNativeCheck()
    {
        Assert.That(() => Tensor.Zeros([2]) + Tensor.Zeros([2], DType.F64), Throws.TypeOf<MyelinException>());
    }

    [Test]
    public void OutputMayAliasAnInput()
    {
        Tensor a = Tensor.FromArray(new[] { 1.0, 2.0 });
        Tensor b = Tensor.FromArray(new[] { 10.0, 20.0 });
        Assert.That(Tensor.Binary(BinaryOp.Add, a, b, a), Is.SameAs(a));
        Assert.That(a.ToArray<double>(), Is.EqualTo(new[] { 11.0, 22.0 }));
    }
}

using Myelin.Tests.TestSupport;
using NUnit.Framework;

namespace Myelin.Tests.Tensors.Ops;

public class GemmTests
{
    private TensorScope _scope = null!;

    [SetUp]
    public void OpenScope() => _scope = new TensorScope();

    [TearDown]
    public void CloseScope() => _scope.Dispose();

    private static IEnumerable<TestCaseData> Shapes()
    {
        long[][] sizes = [[1, 1, 1], [2, 3, 4], [17, 5, 33], [64, 48, 96], [0, 4, 3], [4, 0, 3], [3, 4, 0], [1, 70, 1], [129, 31, 7]];
        foreach (long[] mnk in sizes)
        {
            foreach (bool transposeA in new[] { false, true })
            {
                foreach (bool transposeB in new[] { false, true })
                {
                    yield return new TestCaseData(mnk[0], mnk[1], mnk[2], transposeA, transposeB);
                }
            }
        }
    }

    [TestCaseSource(nameof(Shapes))]
    public void MatchesTheNaiveProduct(long m, long n, long k, bool transposeA, bool transposeB)
    {
        var random = new Random((int)(m * 10007 + n * 101 + k));
        long[] aDims = transposeA ? [k, m] : [m, k];
        long[] bDims = transposeB ? [n, k] : [k, n];
        float[] a = Reference.ToSingle(Reference.RandomValues(random, m * k, -1, 1));
        float[] b = Reference.ToSingle(Reference.RandomValues(random, k * n, -1, 1));
        Tensor c = Tensor.Gemm(Tensor.FromArray(a, new Shape(aDims)), Tensor.FromArray(b, new Shape(bDims)), transposeA, transposeB);
        Assert.That(c.Shape, Is.EqualTo(new Shape(m, n)));
        double[] expected = Reference.MatMul(Reference.ToDouble(a), aDims, transposeA, Reference.ToDouble(b), bDims, transposeB);
        Approx.AssertClose(c.ToArray<float>(), expected, 1e-5 * Math.Max(k, 1), 1e-5);
    }

    [Test]
    public void F64MatMulOfTransposedViewsMatchesTheReference()
    {
        var random = new Random(12);
        double[] a = Reference.RandomValues(random, 6 * 5);
        double[] b = Reference.RandomValues(random, 7 * 6);
        // Views with non-unit strides: the transposes are given as strided tensors, not flags.
        Tensor at = Tensor.FromArray(a, 6, 5).Transpose();
        Tensor bt = Tensor.FromArray(b, 7, 6).Transpose();
        Tensor c = at.MatMul(bt);
        double[] expected = Reference.MatMul(a, [6, 5], true, b, [7, 6], true);
        Approx.AssertClose(c.ToArray<double>(), expected, 1e-12, 1e-12);
    }

    [Test]
    public void FusedEpilogueAppliesAlphaBetaBiasAndActivation()
    {
        var random = new Random(5);
        double[] a = Reference.RandomValues(random, 8 * 6);
        double[] b = Reference.RandomValues(random, 6 * 5);
        double[] bias = Reference.RandomValues(random, 5);
        double[] initial = Reference.RandomValues(random, 8 * 5);
        Tensor c = Tensor.FromArray(initial, 8, 5);
        Tensor returned = Tensor.Gemm(Tensor.FromArray(a, 8, 6), Tensor.FromArray(b, 6, 5), alpha: 0.5, beta: 2,
            bias: Tensor.FromArray(bias), activation: UnaryOp.Relu, output: c);
        Assert.That(returned, Is.SameAs(c));
        double[] product = Reference.MatMul(a, [8, 6], false, b, [6, 5], false);
        double[] expected = product.Select((p, i) => Math.Max(0, 0.5 * p + 2 * initial[i] + bias[i % 5])).ToArray();
        Approx.AssertClose(c.ToArray<double>(), expected, 1e-12, 1e-12);
    }

    [TestCase(false)]
    [TestCase(true)]
    public void ResidualIsAddedBeforeTheActivation(bool transposedResidual)
    {
        var random = new Random(7);
        double[] a = Reference.RandomValues(random, 9 * 4);
        double[] b = Reference.RandomValues(random, 4 * 7);
        double[] bias = Reference.RandomValues(random, 7);
        double[] residual = Reference.RandomValues(random, 9 * 7);
        // The residual as given, or as a strided (transposed) view holding the same values.
        Tensor residualTensor = transposedResidual
            ? Tensor.FromArray(Enumerable.Range(0, 9 * 7).Select(i => residual[(i % 9) * 7 + i / 9]).ToArray(), 7, 9).Transpose()
            : Tensor.FromArray(residual, 9, 7);
        Tensor c = Tensor.Gemm(Tensor.FromArray(a, 9, 4), Tensor.FromArray(b, 4, 7), bias: Tensor.FromArray(bias),
            activation: UnaryOp.Relu, residual: residualTensor);
        double[] product = Reference.MatMul(a, [9, 4], false, b, [4, 7], false);
        double[] expected = product.Select((p, i) => Math.Max(0, p + bias[i % 7] + residual[i])).ToArray();
        Approx.AssertClose(c.ToArray<double>(), expected, 1e-12, 1e-12);
    }

    [Test]
    public void ResidualThatIsTheOutputAddsItsOldValue()
    {
        var random = new Random(8);
        double[] a = Reference.RandomValues(random, 5 * 3);
        double[] b = Reference.RandomValues(random, 3 * 6);
        double[] initial = Reference.RandomValues(random, 5 * 6);
        Tensor c = Tensor.FromArray(initial, 5, 6);
        Tensor.Gemm(Tensor.FromArray(a, 5, 3), Tensor.FromArray(b, 3, 6), beta: 0.5, output: c, residual: c);
        double[] product = Reference.MatMul(a, [5, 3], false, b, [3, 6], false);
        double[] expected = product.Select((p, i) => p + 1.5 * initial[i]).ToArray();
        Approx.AssertClose(c.ToArray<double>(), expected, 1e-12, 1e-12);
    }

    [Test]
    public void BatchedMatMulBroadcastsLeadingDimensions()
    {
        var random = new Random(9);
        // a: 2x1x3x4, b: 5x4x6 -> c: 2x5x3x6.
        double[] a = Reference.RandomValues(random, 2 * 3 * 4);
        double[] b = Reference.RandomValues(random, 5 * 4 * 6);
        Tensor c = Tensor.MatMul(Tensor.FromArray(a, 2, 1, 3, 4), Tensor.FromArray(b, 5, 4, 6));
        Assert.That(c.Shape, Is.EqualTo(new Shape(2, 5, 3, 6)));
        double[] actual = c.ToArray<double>();
        for (int i = 0; i < 2; i++)
        {
            for (int j = 0; j < 5; j++)
            {
                double[] expected = Reference.MatMul(a.Skip(i * 12).Take(12).ToArray(), [3, 4], false,
                    b.Skip(j * 24).Take(24).ToArray(), [4, 6], false);
                Approx.AssertClose(actual.Skip((i * 5 + j) * 18).Take(18).ToArray(), expected, 1e-12, 1e-12);
            }
        }
    }

    [Test]
    public void BetaZeroIgnoresNaNInTheOutput()
    {
        Tensor c = Tensor.Full([2, 2], double.NaN);
        Tensor.Gemm(Tensor.Ones([2, 3]), Tensor.Ones([3, 2]), output: c);
        Assert.That(c.ToArray<float>(), Is.All.EqualTo(3f));
    }

    [Test]
    public void KMismatchThrowsMyelinExceptionNamingBothShapes()
    {
        Tensor a = Tensor.Zeros([64, 128]);
        Tensor b = Tensor.Zeros([100, 32]);
        var exception = Assert.Throws<MyelinException>(() => Tensor.MatMul(a, b));
        Assert.That(exception!.Status, Is.EqualTo(Status.InvalidArgument));
        Assert.That(exception.Message, Does.Contain("64x128").And.Contain("100x32"));
    }

    [Test]
    public void WrongRankOrBetaWithoutOutputIsRejectedBeforeTheNativeCall()
    {
        Assert.That(() => Tensor.MatMul(Tensor.Zeros([4]), Tensor.Zeros([4, 2])),
            Throws.ArgumentException.With.Message.Contains("rank 2 or more"));
        Assert.That(() => Tensor.MatMul(Tensor.Zeros([2, 3, 4]), Tensor.Zeros([3, 4, 2])),
            Throws.ArgumentException.With.Message.Contains("do not broadcast"));
        Assert.That(() => Tensor.Gemm(Tensor.Zeros([2, 2]), Tensor.Zeros([2, 2]), beta: 1),
            Throws.ArgumentException.With.Message.Contains("beta"));
    }

    [Test]
    public void BiasOfWrongLengthFailsInTheNativeCheck()
    {
        Assert.That(() => Tensor.Gemm(Tensor.Zeros([2, 3]), Tensor.Zeros([3, 4]), bias: Tensor.Zeros([3])),
            Throws.TypeOf<MyelinException>());
    }

    [Test]
    public void AFailedCallDisposesTheOutputItAllocated()
    {
        Tensor a = Tensor.Zeros([4, 5]);
        Tensor b = Tensor.Zeros([6, 7]);
        int before = _scope.Count;
        Assert.That(() => Tensor.MatMul(a, b), Throws.TypeOf<MyelinException>());
        Assert.That(_scope.Count, Is.EqualTo(before));
    }
}

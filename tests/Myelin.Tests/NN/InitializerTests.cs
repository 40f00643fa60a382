using Myelin.NN;
using NUnit.Framework;

namespace Myelin.Tests.NN;

/// <summary>
/// Statistical checks over large samples. With n samples the sample mean's standard error is sigma / sqrt(n) and the
/// sample standard deviation's about sigma / sqrt(2n); the tolerances are over five standard errors.
/// </summary>
public class InitializerTests
{
    private const int Rows = 400, Columns = 500; // 200,000 samples: standard error of the mean 0.0022 sigma

    private static double[] Sample(Initializer init, long[] shape, ulong seed = 11)
    {
        using Tensor t = init.Create(shape, DType.F64, new Generator(seed));
        Assert.That(t.Shape.ToArray(), Is.EqualTo(shape));
        return t.ToArray<double>();
    }

    private static (double Mean, double Std) Moments(double[] values)
    {
        double mean = values.Average();
        return (mean, Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Length - 1)));
    }

    private static void AssertMoments(double[] values, double mean, double std)
    {
        (double m, double s) = Moments(values);
        Assert.That(m, Is.EqualTo(mean).Within(5 * std / Math.Sqrt(values.Length) + 1e-12), "mean");
        Assert.That(s, Is.EqualTo(std).Within(5 * std / Math.Sqrt(2.0 * values.Length) + 1e-12), "standard deviation");
    }

    [Test]
    public void ConstantZerosAndOnes()
    {
        Assert.That(Sample(new ConstantInitializer(0.3), [3, 4]), Is.All.EqualTo(0.3));
        Assert.That(Sample(Initializer.Zeros, [5]), Is.All.EqualTo(0.0));
        Assert.That(Sample(Initializer.Ones, [2, 2]), Is.All.EqualTo(1.0));
    }

    [Test]
    public void UniformHasItsBoundsMeanAndStd()
    {
        double[] v = Sample(new UniformInitializer(-1, 3), [Rows, Columns]);
        Assert.That(v.Min(), Is.GreaterThanOrEqualTo(-1.0));
        Assert.That(v.Max(), Is.LessThan(3.0));
        AssertMoments(v, 1, 4 / Math.Sqrt(12));
    }

    [Test]
    public void NormalHasItsMeanAndStd() => AssertMoments(Sample(new NormalInitializer(0.5, 2), [Rows, Columns]), 0.5, 2);

    [Test]
    public void TruncatedNormalStaysInItsBoundsWithTheTruncatedMoments()
    {
        // N(1, 2) truncated to [0, 5]: alpha = -0.5, beta = 2; the moments of a truncated normal, from its density.
        double[] v = Sample(new TruncatedNormalInitializer(1, 2, 0, 5), [Rows, Columns]);
        Assert.That(v.Min(), Is.GreaterThanOrEqualTo(0.0));
        Assert.That(v.Max(), Is.LessThanOrEqualTo(5.0));
        static double Pdf(double z) => Math.Exp(-z * z / 2) / Math.Sqrt(2 * Math.PI);
        double alpha = -0.5, beta = 2, z = 0.9772498680518208 - 0.3085375387259869; // Phi(2) - Phi(-0.5)
        double mean = 1 + 2 * (Pdf(alpha) - Pdf(beta)) / z;
        double variance = 4 * (1 + (alpha * Pdf(alpha) - beta * Pdf(beta)) / z - Math.Pow((Pdf(alpha) - Pdf(beta)) / z, 2));
        AssertMoments(v, mean, Math.Sqrt(variance));
    }

    [Test]
    public void TruncatedNormalDefaultsCutAtTwoAbsolute()
    {
        double[] v = Sample(new TruncatedNormalInitializer(Std: 0.02), [100, 100]);
        Assert.That(v.Select(Math.Abs).Max(), Is.LessThan(0.02 * 5), "std 0.02 rarely reaches the bounds +-2, which are absolute");
        AssertMoments(v, 0, 0.02);
    }

    [Test]
    public void FansFollowPyTorch()
    {
        Assert.That(Initializer.Fans([6, 4, 3, 2]), Is.EqualTo((24L, 36L)));
        Assert.That(Initializer.Fans([5, 7]), Is.EqualTo((7L, 5L)));
        Assert.That(Initializer.Fans([9]), Is.EqualTo((9L, 9L)));
    }

    [Test]
    public void XavierUniformAndNormalUseBothFansAndTheGain()
    {
        long[] shape = [Rows, Columns / 10, 10]; // fan-in 500, fan-out 4000
        double std = 2 * Math.Sqrt(2.0 / (500 + 4000));
        double[] u = Sample(new XavierUniformInitializer(2), shape);
        Assert.That(u.Select(Math.Abs).Max(), Is.LessThanOrEqualTo(std * Math.Sqrt(3)));
        AssertMoments(u, 0, std);
        AssertMoments(Sample(new XavierNormalInitializer(2), shape), 0, std);
    }

    [Test]
    public void KaimingUniformAndNormalUseTheChosenFanAndGain()
    {
        long[] shape = [Rows, Columns];
        double fanIn = Math.Sqrt(2) / Math.Sqrt(Columns), fanOut = Math.Sqrt(2 / (1 + 0.04)) / Math.Sqrt(Rows);
        double[] u = Sample(new KaimingUniformInitializer(Nonlinearity: "relu"), shape);
        Assert.That(u.Select(Math.Abs).Max(), Is.LessThanOrEqualTo(fanIn * Math.Sqrt(3)));
        AssertMoments(u, 0, fanIn);
        AssertMoments(Sample(new KaimingNormalInitializer(0.2, FanMode.FanOut), shape), 0, fanOut);
    }

    [Test]
    public void LeCunUsesFanInAndTheLinearGain()
    {
        AssertMoments(Sample(new LeCunUniformInitializer(), [Rows, Columns]), 0, 1 / Math.Sqrt(Columns));
        AssertMoments(Sample(new LeCunNormalInitializer(), [Rows, Columns]), 0, 1 / Math.Sqrt(Columns));
    }

    [Test]
    public void GainsMatchCalculateGain()
    {
        Assert.That(Initializer.CalculateGain("linear"), Is.EqualTo(1.0));
        Assert.That(Initializer.CalculateGain("conv2d"), Is.EqualTo(1.0));
        Assert.That(Initializer.CalculateGain("sigmoid"), Is.EqualTo(1.0));
        Assert.That(Initializer.CalculateGain("tanh"), Is.EqualTo(5.0 / 3));
        Assert.That(Initializer.CalculateGain("relu"), Is.EqualTo(Math.Sqrt(2)));
        Assert.That(Initializer.CalculateGain("leaky_relu"), Is.EqualTo(Math.Sqrt(2 / 1.0001)).Within(1e-15));
        Assert.That(Initializer.CalculateGain("leaky_relu", 0.5), Is.EqualTo(Math.Sqrt(2 / 1.25)).Within(1e-15));
        Assert.That(Initializer.CalculateGain("selu"), Is.EqualTo(0.75));
    }

    [TestCase(3, 5)]
    [TestCase(6, 2)]
    [TestCase(4, 4)]
    public void OrthogonalRowsOrColumnsAreOrthonormalTimesTheGain(int rows, int columns)
    {
        double gain = 1.5;
        double[] w = Sample(new OrthogonalInitializer(gain), [rows, columns]);
        // For rows <= columns the rows are orthonormal (W W^T = gain² I); otherwise the columns (W^T W = gain² I).
        int n = Math.Min(rows, columns);
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double dot = 0;
                if (rows <= columns)
                {
                    for (int k = 0; k < columns; k++) dot += w[i * columns + k] * w[j * columns + k];
                }
                else
                {
                    for (int k = 0; k < rows; k++) dot += w[k * columns + i] * w[k * columns + j];
                }

                Assert.That(dot, Is.EqualTo(i == j ? gain * gain : 0).Within(1e-12), $"entry ({i}, {j})");
            }
        }
    }

    [Test]
    public void OrthogonalFlattensTrailingAxesAndVariesWithTheSeed()
    {
        double[] a = Sample(new OrthogonalInitializer(), [4, 2, 3], seed: 1), b = Sample(new OrthogonalInitializer(), [4, 2, 3], seed: 2);
        Assert.That(a, Is.Not.EqualTo(b));
        for (int i = 0; i < 4; i++)
        {
            Assert.That(Enumerable.Range(0, 6).Sum(k => a[i * 6 + k] * a[i * 6 + k]), Is.EqualTo(1).Within(1e-12));
        }
    }

    [Test]
    public void BadArgumentsThrowNamingThem()
    {
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => _ = new NormalInitializer(0, -1))!.ParamName, Is.EqualTo("Std"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => _ = new TruncatedNormalInitializer(0, 1, 2, 1))!.ParamName, Is.EqualTo("B"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => _ = new UniformInitializer(1, 0))!.ParamName, Is.EqualTo("High"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => _ = new XavierNormalInitializer(-2))!.ParamName, Is.EqualTo("Gain"));
        var unknown = Assert.Throws<ArgumentException>(() => _ = new KaimingNormalInitializer(Nonlinearity: "swishy"));
        Assert.That(unknown!.Message, Does.Contain("'swishy'").And.Contain("leaky_relu"));
        Assert.That(Assert.Throws<ArgumentException>(() => Initializer.CalculateGain("gelu"))!.Message, Does.Contain("'gelu'"));
        Assert.Throws<ArgumentException>(() => new OrthogonalInitializer().Create([5]));
    }
}

using Myelin.Tests.TestSupport;
using NUnit.Framework;

namespace Myelin.Tests.Tensors.Ops;

public class ReductionTests
{
    private TensorScope _scope = null!;

    [SetUp]
    public void OpenScope() => _scope = new TensorScope();

    [TearDown]
    public void CloseScope() => _scope.Dispose();

    private static readonly Dictionary<ReduceOp, Func<IReadOnlyList<double>, double>> s_references = new()
    {
        [ReduceOp.Sum] = values => values.Sum(),
        [ReduceOp.Mean] = values => values.Count == 0 ? double.NaN : values.Average(),
        [ReduceOp.Max] = values => values.Max(),
        [ReduceOp.Min] = values => values.Min(),
        [ReduceOp.Prod] = values => values.Aggregate(1.0, (product, v) => product * v),
        [ReduceOp.L1] = values => values.Sum(Math.Abs),
        [ReduceOp.L2] = values => Math.Sqrt(values.Sum(v => v * v)),
        [ReduceOp.SumSquare] = values => values.Sum(v => v * v),
        [ReduceOp.LogSumExp] = values => Math.Log(values.Sum(Math.Exp)),
    };

    private static readonly (long[] Dims, int[] Axes)[] s_cases =
    [
        ([3, 4, 5], []),
        ([3, 4, 5], [1]),
        ([3, 4, 5], [0, 2]),
        ([3, 4, 5], [-1]),
        ([7], [0]),
        ([1, 6], [0]),
        ([2, 1, 3], [0, 1, 2]),
        ([], []),
    ];

    [Test]
    public void MatchesTheReference([Values] ReduceOp op, [Values] bool keepDims)
    {
        var random = new Random((int)op * 2 + (keepDims ? 1 : 0));
        foreach ((long[] dims, int[] axes) in s_cases)
        {
            double[] x = Reference.RandomValues(random, Reference.Count(dims));
            (double[] expected, long[] expectedDims) = Reference.Reduce(x, dims, axes, keepDims, s_references[op]);
            Tensor result = Tensor.FromArray(x, new Shape(dims)).Reduce(op, axes, keepDims);
            string label = $"{op} of {new Shape(dims)} over [{string.Join(",", axes)}] keepDims={keepDims}";
            Assert.That(result.Shape, Is.EqualTo(new Shape(expectedDims)), label);
            Approx.AssertClose(result.ToArray<double>(), expected, 1e-12, 1e-12);
        }
    }

    [Test]
    public void ConvenienceMethodsPickTheOpAndAxes()
    {
        Tensor x = Tensor.FromArray(new[] { 1.0, 2, 3, 4, 5, 6 }, 2, 3);
        Assert.That(x.Sum().Item<double>(), Is.EqualTo(21));
        Assert.That(x.Sum(1).ToArray<double>(), Is.EqualTo(new[] { 6.0, 15 }));
        Assert.That(x.Mean([0], keepDims: true).Shape, Is.EqualTo(new Shape(1, 3)));
        Assert.That(x.Mean(0).ToArray<double>(), Is.EqualTo(new[] { 2.5, 3.5, 4.5 }));
        Assert.That(x.Max().Item<double>(), Is.EqualTo(6));
        Assert.That(x.Min(-1).ToArray<double>(), Is.EqualTo(new[] { 1.0, 4 }));
        Assert.That(x.Max([1], true).ToArray<double>(), Is.EqualTo(new[] { 3.0, 6 }));
        Assert.That(x.Min([0, 1], false).Rank, Is.Zero);
    }

    [Test]
    public void ReducesNonContiguousViews()
    {
        double[] values = Reference.RandomValues(new Random(4), 20);
        Tensor x = Tensor.FromArray(values, 4, 5).Transpose();
        (double[] expected, _) = Reference.Reduce(x.ToArray<double>(), [5, 4], [1], false, v => v.Sum());
        Approx.AssertClose(x.Sum(1).ToArray<double>(), expected);
    }

    [Test]
    public void SumOfF32IsAccurate()
    {
        float[] values = Enumerable.Range(0, 10_000).Select(i => 0.1f).ToArray();
        Tensor x = Tensor.FromArray(values);
        Assert.That(x.Sum().Item<float>(), Is.EqualTo(1000f).Within(0.01f));
    }

    [Test]
    public void EmptyReductionsFollowTheNativeRules()
    {
        Tensor empty = Tensor.Zeros([0, 3]);
        Assert.That(empty.Sum(0).ToArray<float>(), Is.EqualTo(new[] { 0f, 0f, 0f }));
        Assert.That(empty.Mean(0).ToArray<float>(), Is.All.NaN);
        Assert.That(() => empty.Max(0), Throws.TypeOf<MyelinException>());
    }

    [Test]
    public void BadAxesAreRejected()
    {
        Tensor x = Tensor.Zeros([2, 3]);
        Assert.That(() => x.Sum(2), Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("2x3"));
        Assert.That(() => x.Sum(1, -1), Throws.ArgumentException.With.Message.Contains("twice"));
    }
}

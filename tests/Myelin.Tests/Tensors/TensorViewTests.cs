using Myelin.Tests.TestSupport;
using NUnit.Framework;

namespace Myelin.Tests.Tensors;

public class TensorViewTests
{
    private TensorScope _scope = null!;

    [SetUp]
    public void OpenScope() => _scope = new TensorScope();

    [TearDown]
    public void CloseScope() => _scope.Dispose();

    private static Tensor Iota(params long[] dims) => Tensor.Arange(Reference.Count(dims), DType.F64).Reshape(dims);

    private static double[] Sequence(long count) => Enumerable.Range(0, (int)count).Select(i => (double)i).ToArray();

    [Test]
    public void ReshapeIsAViewThatSharesStorage()
    {
        Tensor original = Tensor.Zeros([2, 3]);
        Tensor reshaped = original.Reshape(3, -1);
        Assert.That(TensorScope.Current, Is.SameAs(_scope), "the scope opened in SetUp owns the test's tensors");
        Assert.That(_scope.Count, Is.EqualTo(2));
        Assert.That(reshaped.Shape, Is.EqualTo(new Shape(3, 2)));
        Assert.That(reshaped.SharesStorageWith(original), Is.True);
        original.AsSpan<float>()[5] = 7;
        Assert.That(reshaped.ToArray<float>()[5], Is.EqualTo(7f));
    }

    [Test]
    public void ReshapeRejectsBadShapesAndNonContiguousTensors()
    {
        Tensor tensor = Tensor.Zeros([2, 3]);
        Assert.That(() => tensor.Reshape(4, 2), Throws.ArgumentException.With.Message.Contains("4x2"));
        Assert.That(() => tensor.Reshape(-1, -1), Throws.ArgumentException.With.Message.Contains("only one"));
        Assert.That(() => tensor.Reshape(4, -1), Throws.ArgumentException.With.Message.Contains("-1"));
        Assert.That(() => tensor.Transpose().Reshape(6), Throws.InvalidOperationException.With.Message.Contains("Contiguous()"));
    }

    [Test]
    public void TransposeSwapsAxesWithoutCopying()
    {
        Tensor matrix = Iota(2, 3);
        Tensor transposed = matrix.Transpose();
        Assert.That(transposed.Shape, Is.EqualTo(new Shape(3, 2)));
        Assert.That(transposed.Strides.ToArray(), Is.EqualTo(new long[] { 1, 3 }));
        Assert.That(transposed.IsContiguous, Is.False);
        Assert.That(transposed.ToArray<double>(), Is.EqualTo(new double[] { 0, 3, 1, 4, 2, 5 }));
    }

    [Test]
    public void PermuteReordersEveryAxis()
    {
        Tensor tensor = Iota(2, 3, 4);
        Tensor permuted = tensor.Permute(2, 0, 1);
        Assert.That(permuted.Shape, Is.EqualTo(new Shape(4, 2, 3)));
        double[] values = permuted.ToArray<double>();
        for (int k = 0; k < 4; k++)
        {
            for (int i = 0; i < 2; i++)
            {
                for (int j = 0; j < 3; j++)
                {
                    Assert.That(values[k * 6 + i * 3 + j], Is.EqualTo(i * 12 + j * 4 + k));
                }
            }
        }

        Assert.That(() => tensor.Permute(0, 0, 1), Throws.ArgumentException.With.Message.Contains("twice"));
        Assert.That(() => tensor.Permute(0, 1), Throws.ArgumentException.With.Message.Contains("3 axes"));
    }

    [Test]
    public void SliceAndNarrowSelectRangesWithSteps()
    {
        Tensor tensor = Iota(4, 5);
        Assert.That(tensor.Narrow(1, 1, 3).ToArray<double>(), Is.EqualTo(new double[] { 1, 2, 3, 6, 7, 8, 11, 12, 13, 16, 17, 18 }));
        Assert.That(tensor.Slice(0, 0, 4, step: 2).Slice(1, 1, 5, step: 3).ToArray<double>(), Is.EqualTo(new double[] { 1, 4, 11, 14 }));
        Assert.That(tensor.Narrow(0, 2, 2).ToArray<double>(), Is.EqualTo(new double[] { 10, 11, 12, 13, 14, 15, 16, 17, 18, 19 }));
        Assert.That(tensor.Slice(0, 1, 4, step: 2).Narrow(1, 3, 2).ToArray<double>(), Is.EqualTo(new double[] { 8, 9, 18, 19 }));
        Assert.That(tensor.Slice(1, 2, 2).Shape, Is.EqualTo(new Shape(4, 0)));
        Assert.That(() => tensor.Slice(1, 3, 6), Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("size 5"));
    }

    [Test]
    public void SelectDropsTheAxis()
    {
        Tensor tensor = Iota(3, 4);
        Assert.That(tensor.Select(0, 1).ToArray<double>(), Is.EqualTo(new double[] { 4, 5, 6, 7 }));
        Assert.That(tensor.Select(1, -1).ToArray<double>(), Is.EqualTo(new double[] { 3, 7, 11 }));
        Tensor element = tensor.Select(0, 2).Select(0, 3);
        Assert.That(element.Rank, Is.Zero);
        Assert.That(element.Item<double>(), Is.EqualTo(11));
        Assert.That(() => tensor.Select(0, 3), Throws.TypeOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void ExpandBroadcastsWithZeroStrides()
    {
        Tensor column = Tensor.FromArray(new[] { 1.0, 2.0, 3.0 }, 3, 1);
        Tensor expanded = column.Expand([2, 3, 4]);
        Assert.That(expanded.Strides.ToArray(), Is.EqualTo(new long[] { 0, 1, 0 }));
        double[] values = expanded.ToArray<double>();
        Assert.That(values, Has.Length.EqualTo(24));
        Assert.That(values.Take(12), Is.EqualTo(new double[] { 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3 }));
        Assert.That(() => column.Expand([2, 2]), Throws.ArgumentException.With.Message.Contains("2x2"));
    }

    [Test]
    public void UnsqueezeInsertsAnAxisOfSizeOne()
    {
        Tensor tensor = Iota(2, 3);
        Assert.That(tensor.Unsqueeze(0).Shape, Is.EqualTo(new Shape(1, 2, 3)));
        Assert.That(tensor.Unsqueeze(-1).Shape, Is.EqualTo(new Shape(2, 3, 1)));
        Assert.That(tensor.Unsqueeze(1).IsContiguous, Is.True);
    }

    [Test]
    public void ContiguousCopiesOnlyWhenNeeded()
    {
        Tensor matrix = Iota(3, 4);
        Tensor same = matrix.Contiguous();
        Assert.That(same.SharesStorageWith(matrix), Is.True);
        Tensor transposed = matrix.Transpose();
        Tensor copy = transposed.Contiguous();
        Assert.That(copy.SharesStorageWith(matrix), Is.False);
        Assert.That(copy.IsContiguous, Is.True);
        Assert.That(copy.ToArray<double>(), Is.EqualTo(transposed.ToArray<double>()));
        Tensor clone = matrix.Clone();
        Assert.That(clone.SharesStorageWith(matrix), Is.False);
        Assert.That(clone.ToArray<double>(), Is.EqualTo(Sequence(12)));
    }

    [Test]
    public void AViewKeepsStorageAliveAfterTheOriginalIsDisposed()
    {
        Tensor original = Iota(2, 2);
        Tensor view = original.Transpose();
        original.Dispose();
        Assert.That(view.ToArray<double>(), Is.EqualTo(new double[] { 0, 2, 1, 3 }));
    }

    [Test]
    public void CopyToWritesIntoAStridedView()
    {
        Tensor destination = Tensor.Zeros([3, 3], DType.F64);
        Tensor source = Tensor.Full([3], 1, DType.F64);
        source.CopyTo(destination.Select(1, 1));
        Assert.That(destination.ToArray<double>(), Is.EqualTo(new double[] { 0, 1, 0, 0, 1, 0, 0, 1, 0 }));
        Assert.That(() => source.CopyTo(Tensor.Zeros([4], DType.F64)), Throws.TypeOf<MyelinException>());
    }
}

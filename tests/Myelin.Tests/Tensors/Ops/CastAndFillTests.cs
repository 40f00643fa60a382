using NUnit.Framework;

namespace Myelin.Tests.Tensors.Ops;

public class CastAndFillTests
{
    private TensorScope _scope = null!;

    [SetUp]
    public void OpenScope() => _scope = new TensorScope();

    [TearDown]
    public void CloseScope() => _scope.Dispose();

    [Test]
    public void FloatToIntegerTruncatesTowardZero()
    {
        Tensor x = Tensor.FromArray(new[] { 1.9f, -1.9f, 0.5f, 100.2f });
        Assert.That(x.Cast(DType.I32).ToArray<int>(), Is.EqualTo(new[] { 1, -1, 0, 100 }));
        Assert.That(x.Cast(DType.I64).ToArray<long>(), Is.EqualTo(new[] { 1L, -1, 0, 100 }));
    }

    [Test]
    public void ToBoolIsNonzeroIncludingNaN()
    {
        Tensor x = Tensor.FromArray(new[] { 0f, -0f, 2f, float.NaN });
        Assert.That(x.Cast(DType.Bool).ToArray<bool>(), Is.EqualTo(new[] { false, false, true, true }));
    }

    [Test]
    public void HalfAndBFloat16RoundToNearestEvenLikeTheManagedTypes()
    {
        float[] values = [1f + 1f / 256, 1f + 3f / 256, 3.14159f, -65504f, 1e-3f, 70000f];
        Tensor x = Tensor.FromArray(values);
        Assert.That(x.Cast(DType.Bf16).ToArray<BFloat16>(), Is.EqualTo(values.Select(v => (BFloat16)v).ToArray()));
        Assert.That(x.Cast(DType.F16).ToArray<Half>(), Is.EqualTo(values.Select(v => (Half)v).ToArray()));
    }

    [Test]
    public void CastOfAStridedViewKeepsTheLogicalOrder()
    {
        Tensor x = Tensor.FromArray(new[] { 1, 2, 3, 4, 5, 6 }, 2, 3).Transpose();
        Assert.That(x.Cast(DType.F64).ToArray<double>(), Is.EqualTo(new[] { 1.0, 4, 2, 5, 3, 6 }));
    }

    [Test]
    public void FillWritesOnlyTheView()
    {
        Tensor x = Tensor.Zeros([3, 3], DType.I32);
        Tensor diagonalRow = x.Select(0, 1);
        Assert.That(diagonalRow.Fill(7), Is.SameAs(diagonalRow));
        Assert.That(x.ToArray<int>(), Is.EqualTo(new[] { 0, 0, 0, 7, 7, 7, 0, 0, 0 }));
    }

    [Test]
    public void FillOfABroadcastViewIsRejected()
    {
        Tensor x = Tensor.Zeros([1, 3]).Expand([4, 3]);
        Assert.That(() => x.Fill(1), Throws.TypeOf<MyelinException>());
    }
}

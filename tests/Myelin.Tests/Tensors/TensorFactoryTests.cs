using NUnit.Framework;

namespace Myelin.Tests.Tensors;

public class TensorFactoryTests
{
    [Test]
    public void FromArrayRoundTripsEveryElementType()
    {
        RoundTrip(new[] { 1.5f, -2f, 3.25f, 0f, 1e-30f, float.NaN }, DType.F32);
        RoundTrip(new[] { 1.5, -2, Math.PI, double.Epsilon, 1e300, double.NegativeInfinity }, DType.F64);
        RoundTrip(new[] { 1, -2, int.MaxValue, int.MinValue, 0, 7 }, DType.I32);
        RoundTrip(new[] { 1L, -2L, long.MaxValue, long.MinValue, 0L, 7L }, DType.I64);
        RoundTrip(new byte[] { 0, 1, 127, 128, 255, 9 }, DType.U8);
        RoundTrip(new sbyte[] { 0, 1, -128, 127, -1, 9 }, DType.I8);
        RoundTrip(new[] { true, false, true, true, false, false }, DType.Bool);
        RoundTrip(new[] { (Half)1.5, (Half)(-2), Half.MaxValue, Half.Epsilon, (Half)0, Half.NaN }, DType.F16);
        RoundTrip(new[] { (BFloat16)1.5f, (BFloat16)(-2f), (BFloat16)3e38f, (BFloat16)0f, (BFloat16)1e-30f, (BFloat16)7f }, DType.Bf16);

        static void RoundTrip<T>(T[] data, DType dtype) where T : unmanaged
        {
            using Tensor tensor = Tensor.FromArray(data, 2, 3);
            Assert.That(tensor.DType, Is.EqualTo(dtype));
            Assert.That(tensor.Shape, Is.EqualTo(new Shape(2, 3)));
            Assert.That(tensor.ToArray<T>(), Is.EqualTo(data), dtype.ToString());
        }
    }

    [Test]
    public void FromArrayWithoutShapeIsOneDimensional()
    {
        using Tensor tensor = Tensor.FromArray(new[] { 1f, 2f, 3f });
        Assert.That(tensor.Shape, Is.EqualTo(new Shape(3)));
        Assert.That(tensor.IsContiguous, Is.True);
        Assert.That(tensor.Strides.ToArray(), Is.EqualTo(new long[] { 1 }));
    }

    [Test]
    public void FromArrayWithWrongLengthNamesShapeAndLength()
    {
        var exception = Assert.Throws<ArgumentException>(() => Tensor.FromArray(new float[5], 2, 3));
        Assert.That(exception!.Message, Does.Contain("2x3").And.Contain("6").And.Contain("5"));
    }

    [Test]
    public void FromArrayOfUnsupportedElementTypeIsRejected()
    {
        Assert.That(() => Tensor.FromArray(new ushort[2], 2), Throws.TypeOf<NotSupportedException>().With.Message.Contains("UInt16"));
    }

    [Test]
    public void ToArrayOfWrongTypeSaysWhatTheTensorHolds()
    {
        using Tensor tensor = Tensor.Zeros([2, 2]);
        var exception = Assert.Throws<InvalidCastException>(() => tensor.ToArray<int>());
        Assert.That(exception!.Message, Does.Contain("f32").And.Contain("Single").And.Contain("Int32"));
        Assert.That(() => tensor.AsSpan<double>(), Throws.TypeOf<InvalidCastException>());
    }

    [TestCase(DType.F32)]
    [TestCase(DType.F64)]
    [TestCase(DType.I32)]
    [TestCase(DType.I64)]
    [TestCase(DType.U8)]
    [TestCase(DType.Bool)]
    [TestCase(DType.F16)]
    [TestCase(DType.Bf16)]
    public void ZerosOnesAndFullHaveTheRequestedValue(DType dtype)
    {
        using Tensor zeros = Tensor.Zeros([2, 3], dtype);
        using Tensor ones = Tensor.Ones([4], dtype);
        using Tensor full = Tensor.Full([3, 1], 5, dtype);
        using Tensor zerosF64 = zeros.Cast(DType.F64);
        using Tensor onesF64 = ones.Cast(DType.F64);
        using Tensor fullF64 = full.Cast(DType.F64);
        Assert.That(zerosF64.ToArray<double>(), Is.All.EqualTo(0.0));
        Assert.That(onesF64.ToArray<double>(), Is.All.EqualTo(1.0));
        Assert.That(fullF64.ToArray<double>(), Is.All.EqualTo(dtype == DType.Bool ? 1.0 : 5.0));
        Assert.That(full.DType, Is.EqualTo(dtype));
    }

    [Test]
    public void ScalarIsZeroDimensional()
    {
        using Tensor scalar = Tensor.Scalar(2.5);
        Assert.That(scalar.Rank, Is.Zero);
        Assert.That(scalar.ElementCount, Is.EqualTo(1));
        Assert.That(scalar.Item<double>(), Is.EqualTo(2.5));
    }

    [Test]
    public void ItemNeedsExactlyOneElement()
    {
        using Tensor tensor = Tensor.Zeros([2]);
        Assert.That(() => tensor.Item<float>(), Throws.InvalidOperationException.With.Message.Contains("2"));
        using Tensor single = Tensor.Full([1, 1], 4);
        Assert.That(single.Item<float>(), Is.EqualTo(4f));
    }

    [Test]
    public void ZeroSizedTensorsWork()
    {
        using Tensor empty = Tensor.FromArray(Array.Empty<float>(), 0, 3);
        Assert.That(empty.ElementCount, Is.Zero);
        Assert.That(empty.ToArray<float>(), Is.Empty);
        Assert.That(empty.AsSpan<float>().Length, Is.Zero);
        Assert.That(empty.ToString(), Does.Contain("0x3"));
    }

    [Test]
    public void RandIsDeterministicForASeedAndInTheUnitInterval()
    {
        using Tensor a = Tensor.Rand([1000], generator: new Generator(3));
        using Tensor b = Tensor.Rand([1000], generator: new Generator(3));
        using Tensor c = Tensor.Rand([1000], generator: new Generator(4));
        float[] values = a.ToArray<float>();
        Assert.That(b.ToArray<float>(), Is.EqualTo(values));
        Assert.That(c.ToArray<float>(), Is.Not.EqualTo(values));
        Assert.That(values, Is.All.InRange(0f, 0.99999994f));
        Assert.That(values.Average(), Is.EqualTo(0.5).Within(0.05));
    }

    [Test]
    public void RandMatchesTheGeneratorSequence()
    {
        using Tensor tensor = Tensor.Rand([4], DType.F64, new Generator(9));
        var generator = new Generator(9);
        double[] expected = Enumerable.Range(0, 4).Select(_ => generator.NextDouble()).ToArray();
        Assert.That(tensor.ToArray<double>(), Is.EqualTo(expected));
    }

    [Test]
    public void RandNHasRoughlyStandardMoments()
    {
        using Tensor tensor = Tensor.RandN([100, 100], generator: new Generator(21));
        float[] values = tensor.ToArray<float>();
        double mean = values.Average(v => (double)v);
        double variance = values.Average(v => (v - mean) * (v - mean));
        Assert.That(mean, Is.EqualTo(0).Within(0.05));
        Assert.That(variance, Is.EqualTo(1).Within(0.1));
    }

    [Test]
    public void RandOfHalfPrecisionCastsTheFloatSamples()
    {
        using Tensor tensor = Tensor.Rand([64], DType.F16, new Generator(2));
        Assert.That(tensor.DType, Is.EqualTo(DType.F16));
        Assert.That(tensor.ToArray<Half>().Select(h => (float)h), Is.All.InRange(0f, 1f));
    }

    [Test]
    public void RandomFactoriesNeedAFloatingPointDtype()
    {
        Assert.That(() => Tensor.Rand([2], DType.I32), Throws.ArgumentException.With.Message.Contains("i32"));
        Assert.That(() => Tensor.RandN([2], DType.Bool), Throws.ArgumentException.With.Message.Contains("RandN"));
    }

    [Test]
    public void ArangeCountsFromZero()
    {
        using Tensor tensor = Tensor.Arange(5, DType.I64);
        Assert.That(tensor.ToArray<long>(), Is.EqualTo(new long[] { 0, 1, 2, 3, 4 }));
    }

    [Test]
    public void AsSpanWritesThroughToTheTensor()
    {
        using Tensor tensor = Tensor.Zeros([2, 2]);
        tensor.AsSpan<float>()[3] = 9;
        Assert.That(tensor.ToArray<float>(), Is.EqualTo(new[] { 0f, 0f, 0f, 9f }));
    }

    [Test]
    public void AsSpanOfANonContiguousViewThrows()
    {
        using Tensor tensor = Tensor.Zeros([2, 3]);
        using Tensor transposed = tensor.Transpose();
        Assert.That(() => transposed.AsSpan<float>(), Throws.InvalidOperationException.With.Message.Contains("contiguous"));
    }

    [Test]
    public void ToStringShowsDtypeShapeAndLeadingValues()
    {
        using Tensor flat = Tensor.Arange(20);
        using Tensor tensor = flat.Reshape(4, 5);
        string text = tensor.ToString();
        Assert.That(text, Does.StartWith("Tensor(f32, 4x5, cpu:0) [0, 1, 2, 3, 4, 5, 6, 7, ...]"));
        using Tensor small = Tensor.FromArray(new[] { 1.5, 2.0 });
        Assert.That(small.ToString(), Is.EqualTo("Tensor(f64, 2, cpu:0) [1.5, 2]"));
    }
}

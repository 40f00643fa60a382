using Myelin.Graphs;
using NUnit.Framework;
using static Myelin.Tests.Ops.OpRunner;

namespace Myelin.Tests.Ops;

public class QuantizationOpTests
{
    private static Value Const<T>(Graph g, T[] values, params long[] shape) where T : unmanaged => g.Constant(Tensor.FromArray(values, shape).MoveToOuterScope());

    /// <summary>The reference quantization: round halves to even, add the zero point, saturate to [min, max].</summary>
    private static double Quantize(double real, double scale, double zeroPoint, double min, double max) =>
        Math.Clamp(Math.Round(real / scale, MidpointRounding.ToEven) + zeroPoint, min, max);

    private static double[] Values(Tensor t) => t.Cast(DType.F64).ToArray<double>();

    [Test]
    public void QuantizeLinearRoundsHalvesToEvenAndSaturatesToU8()
    {
        // x / 2 lands on ties (-0.5, 0.5, 1.5, 2.5) and beyond both ends of u8 once 128 is added.
        float[] x = [-1, 1, 3, 5, 300, -300, 0.9f, 2.9f, -7];
        Tensor y = Run((g, v) => g.Apply("QuantizeLinear", [v[0].Cast(DType.F32), g.Scalar(2, DType.F32), Const(g, new byte[] { 128 })]), new Feed(x.Select(f => (double)f).ToArray(), [9]))[0];
        Assert.That(y.DType, Is.EqualTo(DType.U8));
        Assert.That(Values(y), Is.EqualTo(x.Select(f => Quantize(f / 2f, 1, 128, 0, 255)).ToArray()));
        Assert.That(Values(y).Take(4), Is.EqualTo(new double[] { 128, 128, 130, 130 }));
    }

    [Test]
    public void QuantizeLinearWithoutZeroPointGivesU8FromZero()
    {
        double[] x = [-3, 0.5, 1.5, 99, 1000];
        Tensor y = Run((g, v) => g.Apply("QuantizeLinear", [v[0].Cast(DType.F32), g.Scalar(1, DType.F32)]), new Feed(x, [5]))[0];
        Assert.That(y.DType, Is.EqualTo(DType.U8));
        Assert.That(Values(y), Is.EqualTo(x.Select(f => Quantize(f, 1, 0, 0, 255)).ToArray()));
    }

    [TestCase(0L)]
    [TestCase(-1L)]
    public void QuantizeLinearPerAxisUsesEachSlicesScaleAndZeroPointInI8(long axis)
    {
        // x is [2, 3] for axis -1 (3 scales) and [3, 2] for axis 0.
        long[] shape = axis == 0 ? [3, 2] : [2, 3];
        double[] x = [-200, -2.5, 7, 13, 250, 0.75];
        float[] scale = [0.5f, 2, 0.25f];
        sbyte[] zero = [-10, 3, 100];
        Tensor y = Run((g, v) => g.Apply("QuantizeLinear", [v[0].Cast(DType.F32), Const(g, scale, 3), Const(g, zero, 3)], new Dictionary<string, object> { ["axis"] = axis }),
            new Feed(x, shape))[0];
        Assert.That(y.DType, Is.EqualTo(DType.I8));
        double[] expected = x.Select((value, i) =>
        {
            int channel = axis == 0 ? i / 2 : i % 3;
            return Quantize((float)value / scale[channel], 1, zero[channel], -128, 127);
        }).ToArray();
        Assert.That(Values(y), Is.EqualTo(expected));
    }

    [Test]
    public void QuantizeLinearRefusesAPerAxisScaleOfTheWrongLength()
    {
        var graph = new Graph();
        Value x = graph.Input("x", DType.F32, 2, 4);
        var error = Assert.Throws<GraphValidationException>(() => graph.Apply("QuantizeLinear", [x, Const(graph, new float[] { 1, 2, 3 }, 3)], name: "q"));
        Assert.That(error!.Message, Does.Contain("node 'q' (QuantizeLinear)").And.Contain("y_scale (input 1) has 3 values"));
        error = Assert.Throws<GraphValidationException>(() => graph.Apply("QuantizeLinear", [x, graph.Scalar(1, DType.F32), Const(graph, new int[] { 0 })], name: "q"));
        Assert.That(error!.Message, Does.Contain("y_zero_point (input 2) is i32"));
    }

    [Test]
    public void DequantizeLinearSubtractsThePerAxisZeroPointAndScales()
    {
        double[] x = [0, 255, 17, 128, 3, 200];
        float[] scale = [0.5f, 3];
        byte[] zero = [128, 7];
        Tensor y = Run((g, v) => g.Apply("DequantizeLinear", [v[0].Cast(DType.U8), Const(g, scale, 2), Const(g, zero, 2)], new Dictionary<string, object> { ["axis"] = 0L }),
            new Feed(x, [2, 3]))[0];
        Assert.That(y.DType, Is.EqualTo(DType.F32));
        Assert.That(y.ToArray<float>(), Is.EqualTo(x.Select((value, i) => (float)((value - zero[i / 3]) * scale[i / 3])).ToArray()));
    }

    [Test]
    public void DequantizeLinearTakesI32WithoutZeroPointExactly()
    {
        // 2^24 + 1 is not an f32: the difference must not pass through f32 before scaling.
        int[] x = [16_777_217, -5, 0];
        Tensor y = Run((g, v) => g.Apply("DequantizeLinear", [Const(g, x, 3), g.Scalar(0.5, DType.F64)]))[0];
        Assert.That(y.ToArray<double>(), Is.EqualTo(x.Select(value => value * 0.5).ToArray()));
    }

    [Test]
    public void DynamicQuantizeLinearCoversTheRangeWithZero()
    {
        float[] x = [1.5f, 4, 0.25f, 9, 2.5f, 7.75f];
        Tensor[] outputs = Run((g, v) => g.Apply("DynamicQuantizeLinear", [v[0].Cast(DType.F32)]), new Feed(x.Select(f => (double)f).ToArray(), [2, 3]));

        // All positive: the range is [0, max], so the zero point is 0.
        float scale = (9f - 0f) / 255f;
        float zero = (float)Math.Round(Math.Clamp(0f - (0f / scale), 0, 255), MidpointRounding.ToEven);
        Assert.That(outputs[1].Item<float>(), Is.EqualTo(scale));
        Assert.That(Values(outputs[2]), Is.EqualTo(new double[] { zero }));
        Assert.That(Values(outputs[0]), Is.EqualTo(x.Select(f => Quantize(f / scale, 1, zero, 0, 255)).ToArray()));

        float[] mixed = [-3, 2, -0.5f, 1];
        outputs = Run((g, v) => g.Apply("DynamicQuantizeLinear", [v[0].Cast(DType.F32)]), new Feed(mixed.Select(f => (double)f).ToArray(), [4]));
        scale = (2f - -3f) / 255f;
        zero = (float)Math.Round(Math.Clamp(0f - (-3f / scale), 0, 255), MidpointRounding.ToEven);
        Assert.That(outputs[1].Item<float>(), Is.EqualTo(scale));
        Assert.That(Values(outputs[2]), Is.EqualTo(new double[] { zero }));
        Assert.That(Values(outputs[0]), Is.EqualTo(mixed.Select(f => Quantize(f / scale, 1, zero, 0, 255)).ToArray()));
    }

    /// <summary>The reference integer product: (a[m, k] - aZero[m]) * (b[k, n] - bZero[n]) summed over k.</summary>
    private static long[] IntegerMatMul(int[] a, int[] b, int m, int k, int n, int[] aZero, int[] bZero)
    {
        var y = new long[m * n];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                for (int p = 0; p < k; p++) y[(i * n) + j] += (long)(a[(i * k) + p] - aZero[i]) * (b[(p * n) + j] - bZero[j]);
            }
        }

        return y;
    }

    [Test]
    public void MatMulIntegerSubtractsPerRowAndPerColumnZeroPoints()
    {
        byte[] a = [255, 0, 17, 200, 3, 99, 128, 64, 250, 1, 2, 3];
        sbyte[] b = [-128, 127, 5, -1, 0, 77, 100, -100];
        byte[] aZero = [10, 250, 0];
        sbyte[] bZero = [-3, 120];
        Tensor y = Run((g, _) => g.Apply("MatMulInteger", [Const(g, a, 3, 4), Const(g, b, 4, 2), Const(g, aZero, 3), Const(g, bZero, 2)]))[0];
        Assert.That(y.DType, Is.EqualTo(DType.I32));
        long[] expected = IntegerMatMul(a.Select(v => (int)v).ToArray(), b.Select(v => (int)v).ToArray(), 3, 4, 2, aZero.Select(v => (int)v).ToArray(), bZero.Select(v => (int)v).ToArray());
        Assert.That(y.ToArray<int>().Select(v => (long)v), Is.EqualTo(expected));
    }

    [Test]
    public void QLinearMatMulRequantizesTheIntegerProduct()
    {
        byte[] a = [208, 236, 0, 238, 3, 214, 255, 29];
        byte[] b = [152, 51, 244, 60, 26, 255, 0, 127, 246, 127, 254, 247];
        const float aScale = 0.0066f, bScale = 0.00705f, yScale = 0.0107f;
        Tensor y = Run((g, _) => g.Apply("QLinearMatMul", [Const(g, a, 2, 4), g.Scalar(aScale, DType.F32), Const(g, new byte[] { 113 }, 1), Const(g, b, 4, 3), g.Scalar(bScale, DType.F32),
            Const(g, new byte[] { 114 }, 1), g.Scalar(yScale, DType.F32), Const(g, new byte[] { 118 }, 1)]))[0];
        Assert.That(y.DType, Is.EqualTo(DType.U8));
        long[] product = IntegerMatMul(a.Select(v => (int)v).ToArray(), b.Select(v => (int)v).ToArray(), 2, 4, 3, [113, 113], [114, 114, 114]);
        Assert.That(Values(y), Is.EqualTo(product.Select(p => Quantize(p * (double)aScale * bScale, yScale, 118, 0, 255)).ToArray()));
    }

    /// <summary>The reference 2-d convolution of one image: (x - xZero) padded with zeros, by (w[o] - wZero[o]), stride 1.</summary>
    private static long[] IntegerConv(int[] x, int h, int wid, int xZero, int[] w, int outChannels, int kh, int kw, int[] wZero, int pad)
    {
        int oh = h + (2 * pad) - kh + 1, ow = wid + (2 * pad) - kw + 1;
        var y = new long[outChannels * oh * ow];
        for (int o = 0; o < outChannels; o++)
        {
            for (int i = 0; i < oh; i++)
            {
                for (int j = 0; j < ow; j++)
                {
                    long sum = 0;
                    for (int u = 0; u < kh; u++)
                    {
                        for (int v = 0; v < kw; v++)
                        {
                            int r = i + u - pad, c = j + v - pad;
                            if (r < 0 || r >= h || c < 0 || c >= wid) continue;
                            sum += (long)(x[(r * wid) + c] - xZero) * (w[(o * kh * kw) + (u * kw) + v] - wZero[o]);
                        }
                    }

                    y[(o * oh * ow) + (i * ow) + j] = sum;
                }
            }
        }

        return y;
    }

    [Test]
    public void ConvIntegerPadsTheShiftedInputWithZerosAndTakesPerChannelWeightZeroPoints()
    {
        byte[] x = [2, 3, 4, 5, 6, 7, 8, 9, 10, 250, 0, 128];
        byte[] w = [1, 1, 1, 1, 200, 0, 3, 255];
        byte[] wZero = [0, 100];
        Tensor y = Run((g, _) => g.Apply("ConvInteger", [Const(g, x, 1, 1, 3, 4), Const(g, w, 2, 1, 2, 2), Const(g, new byte[] { 5 }), Const(g, wZero, 2)],
            new Dictionary<string, object> { ["pads"] = new long[] { 1, 1, 1, 1 } }))[0];
        Assert.That(y.DType, Is.EqualTo(DType.I32));
        Assert.That(y.Shape.ToArray(), Is.EqualTo(new long[] { 1, 2, 4, 5 }));
        long[] expected = IntegerConv(x.Select(v => (int)v).ToArray(), 3, 4, 5, w.Select(v => (int)v).ToArray(), 2, 2, 2, [0, 100], 1);
        Assert.That(y.ToArray<int>().Select(v => (long)v), Is.EqualTo(expected));
    }

    [Test]
    public void QLinearConvAddsTheBiasAndRequantizesPerOutputChannel()
    {
        sbyte[] x = [-128, 5, 17, 127, -3, 0, 44, -90, 60];
        sbyte[] w = [1, -2, 3, 4, -100, 50, 25, 127];
        float[] wScale = [0.02f, 0.005f];
        int[] bias = [300, -7000];
        const float xScale = 0.1f, yScale = 0.25f;
        Tensor y = Run((g, _) => g.Apply("QLinearConv", [Const(g, x, 1, 1, 3, 3), g.Scalar(xScale, DType.F32), Const(g, new sbyte[] { -1 }), Const(g, w, 2, 1, 2, 2),
            Const(g, wScale, 2), Const(g, new sbyte[] { 0, 2 }, 2), g.Scalar(yScale, DType.F32), Const(g, new sbyte[] { 10 }), Const(g, bias, 2)]))[0];
        Assert.That(y.DType, Is.EqualTo(DType.I8));
        long[] accumulator = IntegerConv(x.Select(v => (int)v).ToArray(), 3, 3, -1, w.Select(v => (int)v).ToArray(), 2, 2, 2, [0, 2], 0);
        double[] expected = accumulator.Select((sum, i) => Quantize((sum + bias[i / 4]) * ((double)xScale * wScale[i / 4]), yScale, 10, -128, 127)).ToArray();
        Assert.That(Values(y), Is.EqualTo(expected));
    }
}

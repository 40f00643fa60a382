using Myelin.Graphs;
using Myelin.Tests.TestSupport;
using NUnit.Framework;
using static Myelin.Tests.Ops.OpRunner;

namespace Myelin.Tests.Ops;

/// <summary>Resize's managed side (scales, sizes, axes, aspect-ratio policies, the legacy Upsample) against plain C# interpolation.</summary>
public class ResizeOpTests
{
    private static Value Floats(Graph graph, params float[] values) => graph.Constant(Tensor.FromArray(values).MoveToOuterScope());

    /// <summary>Half-pixel bilinear resize of the last two axes of an [h, w] image by its definition.</summary>
    private static double[] Bilinear(double[] x, long h, long w, long outH, long outW, double scaleH, double scaleW)
    {
        static (long Low, long High, double Fraction) Taps(long o, double scale, long n)
        {
            double c = (o + 0.5) / scale - 0.5;
            long low = (long)Math.Floor(c);
            return (Math.Clamp(low, 0, n - 1), Math.Clamp(low + 1, 0, n - 1), c - low);
        }

        var y = new double[outH * outW];
        for (long i = 0; i < outH; i++)
        {
            (long r0, long r1, double fr) = Taps(i, scaleH, h);
            for (long j = 0; j < outW; j++)
            {
                (long c0, long c1, double fc) = Taps(j, scaleW, w);
                double top = x[r0 * w + c0] * (1 - fc) + x[r0 * w + c1] * fc;
                double bottom = x[r1 * w + c0] * (1 - fc) + x[r1 * w + c1] * fc;
                y[i * outW + j] = top * (1 - fr) + bottom * fr;
            }
        }

        return y;
    }

    [TestCase("stretch", 3L, 3L, 3.0 / 4, 3.0 / 6)]
    [TestCase("not_larger", 2L, 3L, 0.5, 0.5)]
    [TestCase("not_smaller", 3L, 5L, 0.75, 0.75)]
    public void SizesWithAxesAndAspectRatioPolicyMatchBilinearInterpolation(string policy, long outH, long outW, double scaleH, double scaleW)
    {
        // x is 1 x 4 x 6 with sizes 3 x 3 on axes (1, 2): not_larger keeps scale min(3/4, 3/6), not_smaller max(...),
        // and the output is round(scale * in) (5 = round(4.5) away from zero).
        double[] x = Reference.RandomValues(new Random(3), 24);
        Tensor y = Run((g, v) => [g.Apply("Resize", [v[0], Floats(g), Floats(g), Longs(g, 3, 3)], new Dictionary<string, object>
        {
            ["mode"] = "linear", ["axes"] = new long[] { 1, -1 }, ["keep_aspect_ratio_policy"] = policy,
        })[0]], new Feed(x, [1, 4, 6]))[0];
        Assert.That(y.Shape.ToArray(), Is.EqualTo(new[] { 1, outH, outW }));
        Approx.AssertClose(y.ToArray<double>(), Bilinear(x, 4, 6, outH, outW, scaleH, scaleW), 1e-12, 1e-12);
    }

    [Test]
    public void UpsampleRepeatsEachElementByFloorOfTheAsymmetricCoordinate()
    {
        // Upsample (opset 9) nearest with scales 2 x 1.5: output (o_h, o_w) reads x[floor(o_h / 2)][floor(o_w / 1.5)].
        double[] x = Distinct(6);
        Tensor y = Run((g, v) => [g.Apply("Upsample", [v[0], Floats(g, 1, 2, 1.5f)])[0]], new Feed(x, [1, 2, 3]))[0];
        Assert.That(y.Shape.ToArray(), Is.EqualTo(new long[] { 1, 4, 4 }));
        var expected = new double[16];
        for (int i = 0; i < 4; i++)
        {
            for (int j = 0; j < 4; j++) expected[i * 4 + j] = x[(i / 2) * 3 + (int)Math.Floor(j / 1.5)];
        }

        Approx.AssertClose(y.ToArray<double>(), expected);
    }

    [Test]
    public void BadInputsFailNamingTheNode()
    {
        var g = new Graph();
        Value x = g.Input("x", DType.F32, 1, 1, 4, 4);
        GraphValidationException Fails(string name, Value[] inputs, Dictionary<string, object>? attributes = null)
        {
            var error = Assert.Throws<GraphValidationException>(() => g.Apply("Resize", inputs, attributes, name: name))!;
            Assert.That(error.Message, Does.Contain($"node '{name}' (Resize)"));
            return error;
        }

        Value empty = Floats(g);
        Assert.That(Fails("both", [x, empty, Floats(g, 1, 1, 2, 2), Longs(g, 1, 1, 8, 8)]).Message, Does.Contain("exactly one of the scales and sizes"));
        Assert.That(Fails("count", [x, empty, Floats(g, 2, 2)]).Message, Does.Contain("scales has 2 values but x has 4 axes"));
        Assert.That(Fails("variable", [x, empty, g.Input("s", DType.F32, 4)]).Message, Does.Contain("scales input must be a constant"));
        Assert.That(Fails("mode", [x, empty, Floats(g, 1, 1, 2, 2)], new() { ["mode"] = "area" }).Message, Does.Contain("mode 'area' is not one of nearest, linear, cubic"));
        Assert.That(Fails("antialias", [x, empty, Floats(g, 1, 1, 0.5f, 0.5f)], new() { ["antialias"] = 1L }).Message, Does.Contain("antialias = 1 is not supported"));
        Assert.That(Fails("crop", [x, empty, Floats(g, 1, 1, 2, 2)], new() { ["coordinate_transformation_mode"] = "tf_crop_and_resize" }).Message,
            Does.Contain("tf_crop_and_resize needs a constant roi"));
    }
}

using Myelin.Graphs;
using Myelin.Tests.TestSupport;
using NUnit.Framework;
using static Myelin.Tests.Ops.OpRunner;

namespace Myelin.Tests.Ops;

public class ConvTransposeOpTests
{
    /// <summary>ConvTranspose by its definition: every input element scatters x * w into the output window it reaches.</summary>
    private static (double[] Y, long[] Dims) Scatter(double[] x, long[] xDims, double[] w, long[] wDims, double[]? bias,
        long[] strides, long[] pads, long[] dilations, long[] outputPadding, long group)
    {
        int r = xDims.Length - 2;
        long inPerGroup = xDims[1] / group, outPerGroup = wDims[1];
        long[] inSpatial = xDims[2..], kernel = wDims[2..];
        long[] outSpatial = Enumerable.Range(0, r)
            .Select(i => (inSpatial[i] - 1) * strides[i] + outputPadding[i] + dilations[i] * (kernel[i] - 1) + 1 - pads[i] - pads[r + i]).ToArray();
        long[] yDims = [xDims[0], outPerGroup * group, .. outSpatial];
        var y = new double[Reference.Count(yDims)];
        long[] yStrides = Reference.Strides(yDims);
        for (long flat = 0; flat < x.Length; flat++)
        {
            long[] xi = Reference.Unravel(flat, xDims);
            long n = xi[0], ci = xi[1], g = ci / inPerGroup;
            for (long col = 0; col < outPerGroup; col++)
            {
                long co = g * outPerGroup + col;
                for (long kFlat = 0; kFlat < Reference.Count(kernel); kFlat++)
                {
                    long[] k = Reference.Unravel(kFlat, kernel);
                    long offset = n * yStrides[0] + co * yStrides[1];
                    bool inside = true;
                    for (int a = 0; a < r && inside; a++)
                    {
                        long o = xi[2 + a] * strides[a] + k[a] * dilations[a] - pads[a];
                        inside = o >= 0 && o < outSpatial[a];
                        offset += o * yStrides[2 + a];
                    }

                    if (inside) y[offset] += x[flat] * w[(ci * outPerGroup + col) * Reference.Count(kernel) + kFlat];
                }
            }
        }

        if (bias is not null)
        {
            for (long flat = 0; flat < y.Length; flat++) y[flat] += bias[Reference.Unravel(flat, yDims)[1]];
        }

        return (y, yDims);
    }

    private static Dictionary<string, object> Attributes(long[] strides, long[] pads, long[] dilations, long[] outputPadding, long group) => new()
    {
        ["strides"] = strides, ["pads"] = pads, ["dilations"] = dilations, ["output_padding"] = outputPadding, ["group"] = group,
    };

    private static void CheckAgainstScatter(long[] xDims, long[] wDims, bool withBias, long[] strides, long[] pads, long[] dilations, long[] outputPadding, long group)
    {
        var random = new Random(5);
        double[] x = Reference.RandomValues(random, Reference.Count(xDims)), w = Reference.RandomValues(random, Reference.Count(wDims));
        double[]? bias = withBias ? Reference.RandomValues(random, wDims[1] * group) : null;
        var feeds = new List<Feed> { new(x, xDims), new(w, wDims) };
        if (bias is not null) feeds.Add(new(bias, [bias.Length]));
        Tensor y = Run((g, v) => [g.Apply("ConvTranspose", v, Attributes(strides, pads, dilations, outputPadding, group))[0]], [.. feeds])[0];
        (double[] expected, long[] dims) = Scatter(x, xDims, w, wDims, bias, strides, pads, dilations, outputPadding, group);
        Assert.That(y.Shape.ToArray(), Is.EqualTo(dims));
        Approx.AssertClose(y.ToArray<double>(), expected, 1e-12, 1e-10);
    }

    [Test]
    public void OneDimensionalWithStridePadsDilationGroupsAndOutputPaddingMatchesTheScatter() =>
        CheckAgainstScatter([2, 4, 5], [4, 3, 3], withBias: true, strides: [2], pads: [1, 2], dilations: [2], outputPadding: [1], group: 2);

    [Test]
    public void TwoDimensionalWithStridePadsDilationGroupsAndOutputPaddingMatchesTheScatter() =>
        CheckAgainstScatter([2, 4, 3, 4], [4, 1, 3, 2], withBias: true, strides: [2, 2], pads: [1, 0, 0, 1], dilations: [1, 2], outputPadding: [1, 1], group: 2);

    [Test]
    public void TwoDimensionalPlainWithoutBiasMatchesTheScatter() =>
        CheckAgainstScatter([1, 2, 3, 3], [2, 3, 2, 2], withBias: false, strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], outputPadding: [0, 0], group: 1);

    [Test]
    public void OutputShapeDerivesThePadsWithTheLargerHalfFirst()
    {
        // in 5, stride 2, kernel 3: the unpadded size is 11; output_shape 8 takes total padding 3, so pads are 2 (begin) and 1 (end).
        var random = new Random(9);
        double[] x = Reference.RandomValues(random, 10), w = Reference.RandomValues(random, 18);
        Tensor y = Run((g, v) => [g.Apply("ConvTranspose", v, new Dictionary<string, object> { ["strides"] = new long[] { 2 }, ["output_shape"] = new long[] { 8 } })[0]],
            new Feed(x, [1, 2, 5]), new Feed(w, [2, 3, 3]))[0];
        (double[] expected, long[] dims) = Scatter(x, [1, 2, 5], w, [2, 3, 3], null, [2], [2, 1], [1], [0], 1);
        Assert.That(y.Shape.ToArray(), Is.EqualTo(dims));
        Approx.AssertClose(y.ToArray<double>(), expected, 1e-12, 1e-10);
    }

    // in 5, stride 2, kernel 3: the unpadded size is 11 and SAME asks for 10, total padding 1: SAME_UPPER puts it at
    // the end, SAME_LOWER at the start. output_shape 12 goes one past the unpadded size: an output padding of 1.
    [TestCase("SAME_UPPER", null, 0L, 1L, 0L)]
    [TestCase("SAME_LOWER", null, 1L, 0L, 0L)]
    [TestCase("NOTSET", 12L, 0L, 0L, 1L)]
    public void AutoPadAndOutputShapeMatchTheScatterWithTheSpecsPads(string autoPad, long? outputShape, long padBegin, long padEnd, long outputPadding)
    {
        var random = new Random(11);
        double[] x = Reference.RandomValues(random, 10), w = Reference.RandomValues(random, 18);
        var attributes = new Dictionary<string, object> { ["strides"] = new long[] { 2 }, ["auto_pad"] = autoPad };
        if (outputShape is long shape) attributes["output_shape"] = new[] { shape };
        Tensor y = Run((g, v) => [g.Apply("ConvTranspose", v, attributes)[0]], new Feed(x, [1, 2, 5]), new Feed(w, [2, 3, 3]))[0];
        (double[] expected, long[] dims) = Scatter(x, [1, 2, 5], w, [2, 3, 3], null, [2], [padBegin, padEnd], [1], [outputPadding], 1);
        Assert.That(y.Shape.ToArray(), Is.EqualTo(dims));
        Approx.AssertClose(y.ToArray<double>(), expected, 1e-12, 1e-10);
    }

    [TestCase("d1", new long[] { 3 }, new long[] { 1, 1 }, new long[] { 2 }, new long[] { 2 }, 1L)]
    [TestCase("d2", new long[] { 2, 2 }, new long[] { 1, 0, 1, 0 }, new long[] { 1, 2 }, new long[] { 1, 1 }, 2L)]
    public void ForwardAndGradientsMatchPyTorch(string prefix, long[] strides, long[] pads, long[] dilations, long[] outputPadding, long group)
    {
        // tests/fixtures/make_ops_fixtures.py: torch conv_transpose1d/2d and the gradients of sum(y * r).
        using Fixture fixture = Fixture.Load("nn/conv_transpose.myfx");
        Feed FeedOf(string name) => new(fixture[$"{prefix}.{name}"].ToArray<double>(), fixture[$"{prefix}.{name}"].Shape.ToArray());
        double[] r = fixture[$"{prefix}.r"].ToArray<double>();
        Tensor[] results = Run((g, v) =>
        {
            Value y = g.Apply("ConvTranspose", v, Attributes(strides, pads, dilations, outputPadding, group))[0];
            Value loss = (y * g.Constant(Tensor.FromArray(r, y.Type.ToShape()).MoveToOuterScope())).Sum();
            return [y, .. Myelin.Autodiff.Gradients.Of(loss, v).Select(d => d!)];
        }, FeedOf("x"), FeedOf("w"), FeedOf("b"));
        string[] names = ["y", "dx", "dw", "db"];
        for (int i = 0; i < names.Length; i++)
        {
            Tensor expected = fixture[$"{prefix}.{names[i]}"];
            Assert.That(results[i].Shape, Is.EqualTo(expected.Shape), names[i]);
            Approx.AssertClose(results[i].ToArray<double>(), expected.ToArray<double>(), 1e-10, 1e-10);
        }
    }

    [Test]
    public void UnsupportedOrInconsistentAttributesFailNamingTheNode()
    {
        var g = new Graph();
        Value x = g.Input("x", DType.F32, 1, 4, 5, 5), w = g.Input("w", DType.F32, 4, 2, 3, 3);
        GraphValidationException Fails(string name, Dictionary<string, object> attributes, Value? weights = null)
        {
            var error = Assert.Throws<GraphValidationException>(() => g.Apply("ConvTranspose", [x, weights ?? w], attributes, name: name))!;
            Assert.That(error.Message, Does.Contain($"node '{name}' (ConvTranspose)"));
            Assert.That(error.NodeName, Is.EqualTo(name));
            return error;
        }

        Assert.That(Fails("same", new() { ["auto_pad"] = "SAME" }).Message, Does.Contain("auto_pad 'SAME' is not one of NOTSET, VALID, SAME_UPPER and SAME_LOWER"));
        Assert.That(Fails("padding", new() { ["strides"] = new long[] { 2, 2 }, ["output_padding"] = new long[] { 2, 0 } }).Message, Does.Contain("output_padding 2"));
        Assert.That(Fails("channels", new(), g.Input("w3", DType.F32, 3, 2, 3, 3)).Message, Does.Contain("x has 4 channels"));
        Assert.That(Fails("groups", new() { ["group"] = 3L }).Message, Does.Contain("group 3"));
        Assert.That(Fails("big", new() { ["output_shape"] = new long[] { 9, 9 } }).Message, Does.Contain("output_shape 9").And.Contain("exceeds the unpadded size 7 by 2"));
        Assert.That(Fails("kernel", new() { ["kernel_shape"] = new long[] { 2, 2 } }).Message, Does.Contain("kernel_shape [2, 2]"));
    }
}

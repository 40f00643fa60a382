using Myelin.Graphs;
using Myelin.Tests.TestSupport;
using NUnit.Framework;
using static Myelin.Tests.Ops.OpRunner;

namespace Myelin.Tests.Ops;

/// <summary>The spatial composites and MaxPool's column-major indices against their definitions written as loops.</summary>
public class SpatialOpTests
{
    [Test]
    public void TileRepeatsEveryAxis()
    {
        double[] x = Distinct(6);
        Tensor y = Run((g, v) => [g.Apply("Tile", [v[0], Longs(g, 2, 3)])[0]], new Feed(x, [2, 3]))[0];
        Assert.That(y.Shape.ToArray(), Is.EqualTo(new long[] { 4, 9 }));
        var expected = new double[36];
        for (int i = 0; i < 4; i++)
        {
            for (int j = 0; j < 9; j++) expected[i * 9 + j] = x[(i % 2) * 3 + j % 3];
        }

        Approx.AssertClose(y.ToArray<double>(), expected);
    }

    [TestCase("DCR")]
    [TestCase("CRD")]
    public void DepthToSpaceMovesChannelBlocksIntoSpaceAndSpaceToDepthUndoesIt(string mode)
    {
        // x: 1 x 8 x 2 x 3 with blocksize 2 gives 1 x 2 x 4 x 6: y[c][h*2 + i][w*2 + j] = x[channel][h][w] with
        // channel = (i*2 + j)*2 + c (DCR) or c*4 + i*2 + j (CRD).
        double[] x = Distinct(48);
        var attributes = new Dictionary<string, object> { ["blocksize"] = 2L, ["mode"] = mode };
        Tensor[] results = Run((g, v) =>
        {
            Value space = g.Apply("DepthToSpace", [v[0]], attributes)[0];
            return mode == "CRD" ? [space, g.Apply("SpaceToDepth", [space], new Dictionary<string, object> { ["blocksize"] = 2L })[0]] : [space];
        }, new Feed(x, [1, 8, 2, 3]));
        var expected = new double[48];
        for (int c = 0; c < 2; c++)
        {
            for (int h = 0; h < 2; h++)
            {
                for (int w = 0; w < 3; w++)
                {
                    for (int i = 0; i < 2; i++)
                    {
                        for (int j = 0; j < 2; j++)
                        {
                            int channel = mode == "DCR" ? (i * 2 + j) * 2 + c : c * 4 + i * 2 + j;
                            expected[(c * 4 + h * 2 + i) * 6 + w * 2 + j] = x[(channel * 2 + h) * 3 + w];
                        }
                    }
                }
            }
        }

        Approx.AssertClose(results[0].ToArray<double>(), expected);
        if (mode == "CRD")
        {
            // SpaceToDepth's channel order is (i, j, c): it inverts DepthToSpace's DCR, not CRD; check it by the same formula.
            var depth = new double[48];
            for (int k = 0; k < 48; k++)
            {
                int w = k % 3, h = k / 3 % 2, channel = k / 6, c = channel % 2, ij = channel / 2;
                depth[k] = expected[(c * 4 + h * 2 + ij / 2) * 6 + w * 2 + ij % 2];
            }

            Approx.AssertClose(results[1].ToArray<double>(), depth);
        }
    }

    [Test]
    public void LrnDividesByTheWindowSumOfSquares()
    {
        double[] x = Reference.RandomValues(new Random(4), 2 * 5 * 3);
        (long size, double alpha, double beta, double bias) = (4, 0.3, 0.6, 1.5);
        Tensor y = Run((g, v) => [g.Apply("LRN", [v[0]], new Dictionary<string, object> { ["size"] = size, ["alpha"] = alpha, ["beta"] = beta, ["bias"] = bias })[0]],
            new Feed(x, [2, 5, 3]))[0];
        var expected = new double[x.Length];
        for (int n = 0; n < 2; n++)
        {
            for (int c = 0; c < 5; c++)
            {
                for (int s = 0; s < 3; s++)
                {
                    double sum = 0;
                    for (long k = Math.Max(0, c - (size - 1) / 2); k <= Math.Min(4, c + size / 2); k++) sum += Math.Pow(x[(n * 5 + k) * 3 + s], 2);
                    expected[(n * 5 + c) * 3 + s] = x[(n * 5 + c) * 3 + s] / Math.Pow(bias + alpha / size * sum, beta);
                }
            }
        }

        Approx.AssertClose(y.ToArray<double>(), expected, 1e-12, 1e-10);
    }

    [Test]
    public void InstanceAndMeanVarianceNormalizationUsePerChannelStatistics()
    {
        double[] x = Reference.RandomValues(new Random(6), 2 * 3 * 4), scale = [0.5, 2, -1], bias = [0.1, 0.2, 0.3];
        Tensor[] y = Run((g, v) =>
        [
            g.Apply("InstanceNormalization", v, new Dictionary<string, object> { ["epsilon"] = 0.01 })[0],
            g.Apply("MeanVarianceNormalization", [v[0]], new Dictionary<string, object> { ["axes"] = new long[] { 0, 2 } })[0],
        ], new Feed(x, [2, 3, 4]), new Feed(scale, [3]), new Feed(bias, [3]));
        var instance = new double[x.Length];
        var mvn = new double[x.Length];
        for (int c = 0; c < 3; c++)
        {
            for (int n = 0; n < 2; n++)
            {
                double[] plane = x.Skip((n * 3 + c) * 4).Take(4).ToArray();
                double mean = plane.Average(), variance = plane.Select(v => (v - mean) * (v - mean)).Average();
                for (int s = 0; s < 4; s++) instance[(n * 3 + c) * 4 + s] = (plane[s] - mean) / Math.Sqrt(variance + 0.01) * scale[c] + bias[c];
            }

            double[] channel = [.. x.Skip(c * 4).Take(4), .. x.Skip((3 + c) * 4).Take(4)];
            double m = channel.Average(), sd = Math.Sqrt(channel.Select(v => (v - m) * (v - m)).Average());
            for (int n = 0; n < 2; n++)
            {
                for (int s = 0; s < 4; s++) mvn[(n * 3 + c) * 4 + s] = (x[(n * 3 + c) * 4 + s] - m) / (sd + 1e-9);
            }
        }

        Approx.AssertClose(y[0].ToArray<double>(), instance, 1e-10, 1e-10);
        Approx.AssertClose(y[1].ToArray<double>(), mvn, 1e-10, 1e-10);
    }

    [Test]
    public void MaxPoolStorageOrderOneGivesColumnMajorIndicesAndTheSameGradient()
    {
        // x: 1 x 2 x 4 x 5, kernel 2, stride 2: indices are plane * 20 + w * 4 + h in column-major order.
        double[] x = Reference.RandomValues(new Random(8), 40);
        var attributes = new Dictionary<string, object> { ["kernel_shape"] = new long[] { 2, 2 }, ["strides"] = new long[] { 2, 2 }, ["storage_order"] = 1L };
        Tensor[] results = Run((g, v) =>
        {
            Value[] pooled = g.Apply("MaxPool", [v[0]], attributes);
            return [pooled[1], Myelin.Autodiff.Gradients.Of(pooled[0].Sum(), [v[0]])[0]!];
        }, new Feed(x, [1, 2, 4, 5]));
        var indices = new long[8];
        var gradient = new double[40];
        for (int plane = 0; plane < 2; plane++)
        {
            for (int oh = 0; oh < 2; oh++)
            {
                for (int ow = 0; ow < 2; ow++)
                {
                    int best = -1;
                    for (int h = oh * 2; h < oh * 2 + 2; h++)
                    {
                        for (int w = ow * 2; w < ow * 2 + 2; w++)
                        {
                            if (best < 0 || x[plane * 20 + h * 5 + w] > x[best]) best = plane * 20 + h * 5 + w;
                        }
                    }

                    int within = best - plane * 20;
                    indices[(plane * 2 + oh) * 2 + ow] = plane * 20 + within % 5 * 4 + within / 5;
                    gradient[best] += 1;
                }
            }
        }

        Assert.That(results[0].ToArray<long>(), Is.EqualTo(indices));
        Approx.AssertClose(results[1].ToArray<double>(), gradient);
    }
}

using Myelin.Graphs;
using Myelin.Tests.TestSupport;
using NUnit.Framework;
using static Myelin.Tests.Ops.OpRunner;

namespace Myelin.Tests.Ops;

public class RecurrentOpTests
{
    private const int T = 3, N = 2, I = 2, H = 3, D = 2;
    private static readonly int[] s_lengths = [3, 1];

    private static double[] Values(int count, int seed) =>
        Enumerable.Range(0, count).Select(i => Math.Sin((i + 1) * 0.7 + seed) * 0.6).ToArray();

    private static double Sigmoid(double v) => 1 / (1 + Math.Exp(-v));

    /// <summary>
    /// Plain ONNX recurrence over one batch row and direction: <paramref name="cell"/> maps (t, h, c) to the new
    /// states; steps at or past the row's length keep the state and give zeros in Y.
    /// </summary>
    private static void Unroll(double[] y, double[] yH, double[]? yC, int d, int b, double[] h, double[] c, Func<int, double[], double[], (double[] H, double[] C)> cell)
    {
        for (int s = 0; s < T; s++)
        {
            int t = d == 1 ? T - 1 - s : s;
            if (t >= s_lengths[b]) continue;
            (h, c) = cell(t, h, c);
            for (int k = 0; k < H; k++) y[(((t * D) + d) * N + b) * H + k] = h[k];
        }

        for (int k = 0; k < H; k++)
        {
            yH[(d * N + b) * H + k] = h[k];
            if (yC is not null) yC[(d * N + b) * H + k] = c[k];
        }
    }

    /// <summary>Pre-activation of gate row <paramref name="row"/>: x_t W^T + Wb + h R^T + Rb.</summary>
    private static double Pre(double[] x, double[] w, double[] r, double[] bias, int gates, int d, int b, int t, double[] h, int row, bool withHidden = true)
    {
        double sum = bias[d * 2 * gates * H + row];
        for (int j = 0; j < I; j++) sum += x[(t * N + b) * I + j] * w[(d * gates * H + row) * I + j];
        if (!withHidden) return sum;
        sum += bias[d * 2 * gates * H + gates * H + row];
        for (int j = 0; j < H; j++) sum += h[j] * r[(d * gates * H + row) * H + j];
        return sum;
    }

    [TestCase(0L)]
    [TestCase(1L)]
    public void BidirectionalLstmWithPeepholesAndSequenceLengthsMatchesAPlainReference(long inputForget)
    {
        double[] x = Values(T * N * I, 1), w = Values(D * 4 * H * I, 2), r = Values(D * 4 * H * H, 3), bias = Values(D * 8 * H, 4);
        double[] h0 = Values(D * N * H, 5), c0 = Values(D * N * H, 6), p = Values(D * 3 * H, 7);
        Tensor[] outputs = Run((g, v) => g.Apply("LSTM", [v[0], v[1], v[2], v[3], g.Constant(Tensor.FromArray(s_lengths).MoveToOuterScope()), v[4], v[5], v[6]],
                new Dictionary<string, object> { ["direction"] = "bidirectional", ["hidden_size"] = (long)H, ["input_forget"] = inputForget }),
            new Feed(x, [T, N, I]), new Feed(w, [D, 4 * H, I]), new Feed(r, [D, 4 * H, H]), new Feed(bias, [D, 8 * H]),
            new Feed(h0, [D, N, H]), new Feed(c0, [D, N, H]), new Feed(p, [D, 3 * H]));

        double[] y = new double[T * D * N * H], yH = new double[D * N * H], yC = new double[D * N * H];
        for (int d = 0; d < D; d++)
        {
            for (int b = 0; b < N; b++)
            {
                int dir = d, row = b;
                Unroll(y, yH, yC, d, b, h0.Skip((d * N + b) * H).Take(H).ToArray(), c0.Skip((d * N + b) * H).Take(H).ToArray(), (t, h, c) =>
                {
                    // Gate blocks i, o, f, c; peepholes i, o, f.
                    double Gate(int block, int k) => Pre(x, w, r, bias, 4, dir, row, t, h, block * H + k);
                    double Peephole(int block, int k) => p[(dir * 3 + block) * H + k];
                    var newC = new double[H];
                    var newH = new double[H];
                    for (int k = 0; k < H; k++)
                    {
                        double i = Sigmoid(Gate(0, k) + Peephole(0, k) * c[k]);
                        double f = inputForget != 0 ? 1 - i : Sigmoid(Gate(2, k) + Peephole(2, k) * c[k]);
                        newC[k] = f * c[k] + i * Math.Tanh(Gate(3, k));
                        double o = Sigmoid(Gate(1, k) + Peephole(1, k) * newC[k]);
                        newH[k] = o * Math.Tanh(newC[k]);
                    }

                    return (newH, newC);
                });
            }
        }

        Assert.That(outputs[0].Shape.ToArray(), Is.EqualTo(new long[] { T, D, N, H }));
        Approx.AssertClose(outputs[0].ToArray<double>(), y);
        Approx.AssertClose(outputs[1].ToArray<double>(), yH);
        Approx.AssertClose(outputs[2].ToArray<double>(), yC);
    }

    [TestCase(0L)]
    [TestCase(1L)]
    public void BidirectionalGruWithSequenceLengthsMatchesAPlainReference(long linearBeforeReset)
    {
        double[] x = Values(T * N * I, 8), w = Values(D * 3 * H * I, 9), r = Values(D * 3 * H * H, 10), bias = Values(D * 6 * H, 11);
        Tensor[] outputs = Run((g, v) =>
            {
                Value omitted = g.Constant(Tensor.Zeros(new Shape(0), DType.F64).MoveToOuterScope());
                // initial_h omitted (zeros) through the importer's stand-in.
                return g.Apply("GRU", [v[0], v[1], v[2], v[3], g.Constant(Tensor.FromArray(s_lengths).MoveToOuterScope()), omitted],
                    new Dictionary<string, object> { ["direction"] = "bidirectional", ["linear_before_reset"] = linearBeforeReset });
            },
            new Feed(x, [T, N, I]), new Feed(w, [D, 3 * H, I]), new Feed(r, [D, 3 * H, H]), new Feed(bias, [D, 6 * H]));

        double[] y = new double[T * D * N * H], yH = new double[D * N * H];
        for (int d = 0; d < D; d++)
        {
            for (int b = 0; b < N; b++)
            {
                int dir = d, row = b;
                Unroll(y, yH, null, d, b, new double[H], new double[H], (t, h, c) =>
                {
                    // Gate blocks z, r, h.
                    double[] z = Enumerable.Range(0, H).Select(k => Sigmoid(Pre(x, w, r, bias, 3, dir, row, t, h, k))).ToArray();
                    double[] reset = Enumerable.Range(0, H).Select(k => Sigmoid(Pre(x, w, r, bias, 3, dir, row, t, h, H + k))).ToArray();
                    double[] resetHidden = h.Select((value, k) => reset[k] * value).ToArray();
                    var newH = new double[H];
                    for (int k = 0; k < H; k++)
                    {
                        double input = Pre(x, w, r, bias, 3, dir, row, t, h, 2 * H + k, withHidden: false);
                        double recurrent = linearBeforeReset != 0
                            ? reset[k] * (Pre(x, w, r, bias, 3, dir, row, t, h, 2 * H + k) - input)
                            : Pre(x, w, r, bias, 3, dir, row, t, resetHidden, 2 * H + k) - input;
                        double candidate = Math.Tanh(input + recurrent);
                        newH[k] = (1 - z[k]) * candidate + z[k] * h[k];
                    }

                    return (newH, c);
                });
            }
        }

        Approx.AssertClose(outputs[0].ToArray<double>(), y);
        Approx.AssertClose(outputs[1].ToArray<double>(), yH);
    }

    [Test]
    public void ReverseRnnWithAnAlternativeActivationAndClipMatchesAPlainReference()
    {
        // LeakyRelu with alpha 0.2 of the pre-activation clipped to ±0.5, reading the sequence backwards from zeros.
        double[] x = Values(T * N * I, 12), w = Values(H * I, 13), r = Values(H * H, 14);
        Tensor[] outputs = Run((g, v) => g.Apply("RNN", [v[0], v[1], v[2]], new Dictionary<string, object>
            {
                ["direction"] = "reverse", ["activations"] = new[] { "leakyrelu" }, ["activation_alpha"] = new[] { 0.2 }, ["clip"] = 0.5,
            }),
            new Feed(x, [T, N, I]), new Feed(w, [1, H, I]), new Feed(r, [1, H, H]));

        var yH = new double[N * H];
        for (int b = 0; b < N; b++)
        {
            var h = new double[H];
            for (int t = T - 1; t >= 0; t--)
            {
                h = Enumerable.Range(0, H).Select(k =>
                {
                    double pre = Enumerable.Range(0, I).Sum(j => x[(t * N + b) * I + j] * w[k * I + j]) + Enumerable.Range(0, H).Sum(j => h[j] * r[k * H + j]);
                    pre = Math.Clamp(pre, -0.5, 0.5);
                    return pre < 0 ? 0.2 * pre : pre;
                }).ToArray();
            }

            Array.Copy(h, 0, yH, b * H, H);
        }

        Approx.AssertClose(outputs[1].ToArray<double>(), yH);
    }

    [Test]
    public void AnUnsupportedActivationFailsNamingTheNodeAndTheActivation()
    {
        var g = new Graph();
        Value x = g.Input("x", DType.F32, 2, 1, 3), w = g.Input("w", DType.F32, 1, 4, 3), r = g.Input("r", DType.F32, 1, 4, 4);
        var error = Assert.Throws<GraphValidationException>(() => g.Apply("RNN", [x, w, r], new Dictionary<string, object> { ["activations"] = new[] { "Swish" } }, "cell"));
        Assert.That(error!.Message, Does.Contain("node 'cell' (RNN)").And.Contain("'Swish'"));
    }

    [Test]
    public void ASymbolicSequenceLengthFailsNamingTheNode()
    {
        var g = new Graph();
        Value x = g.Input("x", DType.F32, Dim.Sym("T"), 1, 3), w = g.Input("w", DType.F32, 1, 4, 3), r = g.Input("r", DType.F32, 1, 4, 4);
        var error = Assert.Throws<GraphValidationException>(() => g.Apply("RNN", [x, w, r], name: "cell"));
        Assert.That(error!.Message, Does.Contain("node 'cell' (RNN)").And.Contain("known sequence length"));
    }

    [Test]
    public void AWeightOfTheWrongShapeFailsNamingTheInput()
    {
        var g = new Graph();
        Value x = g.Input("x", DType.F32, 2, 1, 3), w = g.Input("w", DType.F32, 1, 8, 3), r = g.Input("r", DType.F32, 1, 12, 4);
        var error = Assert.Throws<GraphValidationException>(() => g.Apply("GRU", [x, w, r], name: "cell"));
        Assert.That(error!.Message, Does.Contain("node 'cell' (GRU)").And.Contain("W must be f32 [1, 12, 3]"));
    }
}

using Myelin.Execution;
using Myelin.Graphs;
using Myelin.Tests.TestSupport;
using NUnit.Framework;

namespace Myelin.Tests.Ops;

/// <summary>The ai.onnx.preview.training optimizer steps against the ONNX formulas written as loops, with T fed at run time.</summary>
public class TrainingOptimizerOpTests
{
    private static readonly Random s_random = new(11);

    /// <summary>Runs <paramref name="op"/> on R, T (an i64 graph input) and the tensors, each of the two X of shape [2] and [3].</summary>
    private static double[][] Step(string op, Dictionary<string, object> attributes, double rate, long count, double[][] tensors)
    {
        var graph = new Graph();
        Value r = graph.Input("R", DType.F64);
        Value t = graph.Input("T", DType.I64);
        Value[] inputs = tensors.Select((v, i) => graph.Input($"v{i}", DType.F64, Dim.Of(v.Length))).ToArray();
        graph.MarkOutput(graph.Apply(op, [r, t, .. inputs], attributes));
        using CompiledGraph compiled = CompiledGraph.Compile(graph);
        var feeds = new Dictionary<string, Tensor>
        {
            ["R"] = Tensor.Scalar(rate).MoveToOuterScope(),
            ["T"] = Tensor.Scalar(count).MoveToOuterScope(),
        };
        for (int i = 0; i < tensors.Length; i++) feeds[$"v{i}"] = Tensor.FromArray(tensors[i], tensors[i].Length).MoveToOuterScope();
        return compiled.Run(feeds).Select(y => y.ToArray<double>()).ToArray();
    }

    /// <summary>Per X: X, G and the states, each of length 2 for the first X and 3 for the second, in ONNX's input order.</summary>
    private static double[][] Tensors(int states, double low = -1) =>
        Enumerable.Range(0, 2 + states).SelectMany(k => new[] { 2, 3 }.Select(n => Enumerable.Range(0, n).Select(_ => k >= 2 ? 0.1 + s_random.NextDouble() : low + 2 * s_random.NextDouble()).ToArray())).ToArray();

    [TestCase(0L)]
    [TestCase(3L)]
    public void AdagradDecaysTheRateAndAccumulatesSquaredGradients(long count)
    {
        double[][] v = Tensors(1);
        (double decay, double epsilon, double norm, double rate) = (0.1, 1e-3, 0.02, 0.5);
        double[][] y = Step("Adagrad", new() { ["decay_factor"] = decay, ["epsilon"] = epsilon, ["norm_coefficient"] = norm }, rate, count, v);
        for (int i = 0; i < 2; i++)
        {
            double[] x = v[i], g = v[2 + i], h = v[4 + i];
            double r = rate / (1 + count * decay);
            double[] regularized = x.Select((xi, j) => norm * xi + g[j]).ToArray();
            double[] hNew = h.Select((hj, j) => hj + regularized[j] * regularized[j]).ToArray();
            Approx.AssertClose(y[i], x.Select((xj, j) => xj - r * regularized[j] / (Math.Sqrt(hNew[j]) + epsilon)).ToArray());
            Approx.AssertClose(y[2 + i], hNew);
        }
    }

    [TestCase("standard", 0L)]
    [TestCase("standard", 2L)]
    [TestCase("nesterov", 0L)]
    [TestCase("nesterov", 2L)]
    public void MomentumUsesBetaAfterTheFirstStep(string mode, long count)
    {
        double[][] v = Tensors(1);
        (double alpha, double beta, double norm, double rate) = (0.9, 0.3, 0.05, 0.2);
        double[][] y = Step("Momentum", new() { ["alpha"] = alpha, ["beta"] = beta, ["mode"] = mode, ["norm_coefficient"] = norm }, rate, count, v);
        for (int i = 0; i < 2; i++)
        {
            double[] x = v[i], g = v[2 + i], velocity = v[4 + i];
            double adjusted = count > 0 ? beta : 1;
            double[] regularized = x.Select((xi, j) => norm * xi + g[j]).ToArray();
            double[] vNew = velocity.Select((vj, j) => alpha * vj + adjusted * regularized[j]).ToArray();
            double[] expected = x.Select((xj, j) => xj - rate * (mode == "standard" ? vNew[j] : regularized[j] + alpha * vNew[j])).ToArray();
            Approx.AssertClose(y[i], expected);
            Approx.AssertClose(y[2 + i], vNew);
        }
    }

    [TestCase(0L)]
    [TestCase(4L)]
    public void AdamCorrectsTheRateAfterTheFirstStep(long count)
    {
        double[][] v = Tensors(2);
        (double alpha, double beta, double epsilon, double norm, double post, double rate) = (0.8, 0.7, 1e-2, 0.03, 0.1, 0.3);
        double[][] y = Step("Adam", new() { ["alpha"] = alpha, ["beta"] = beta, ["epsilon"] = epsilon, ["norm_coefficient"] = norm, ["norm_coefficient_post"] = post }, rate, count, v);
        for (int i = 0; i < 2; i++)
        {
            double[] x = v[i], g = v[2 + i], m = v[4 + i], h = v[6 + i];
            double[] regularized = x.Select((xi, j) => norm * xi + g[j]).ToArray();
            double[] mNew = m.Select((mj, j) => alpha * mj + (1 - alpha) * regularized[j]).ToArray();
            double[] hNew = h.Select((hj, j) => beta * hj + (1 - beta) * regularized[j] * regularized[j]).ToArray();
            double r = count > 0 ? rate * Math.Sqrt(1 - Math.Pow(beta, count)) / (1 - Math.Pow(alpha, count)) : rate;
            double[] expected = x.Select((xj, j) => (1 - post) * (xj - r * mNew[j] / (Math.Sqrt(hNew[j]) + epsilon))).ToArray();
            Approx.AssertClose(y[i], expected, 1e-12, 1e-10);
            Approx.AssertClose(y[2 + i], mNew);
            Approx.AssertClose(y[4 + i], hNew);
        }
    }

    [Test]
    public void AnIncompleteGroupOfTensorsIsRefused()
    {
        var graph = new Graph();
        Value r = graph.Input("R", DType.F32), t = graph.Input("T", DType.I64), x = graph.Input("x", DType.F32, Dim.Of(2));
        var error = Assert.Throws<GraphValidationException>(() => graph.Apply("Adam", [r, t, x, x, x, x, x]));
        Assert.That(error!.Message, Does.Contain("Adam").And.Contain("4 tensors per optimized tensor"));
    }

    [Test]
    public void AnUnknownMomentumModeIsRefused()
    {
        var graph = new Graph();
        Value r = graph.Input("R", DType.F32), t = graph.Input("T", DType.I64), x = graph.Input("x", DType.F32, Dim.Of(2));
        var error = Assert.Throws<GraphValidationException>(() =>
            graph.Apply("Momentum", [r, t, x, x, x], new Dictionary<string, object> { ["alpha"] = 0.9, ["beta"] = 0.1, ["mode"] = "heavy", ["norm_coefficient"] = 0.0 }));
        Assert.That(error!.Message, Does.Contain("'mode' is 'heavy'"));
    }
}

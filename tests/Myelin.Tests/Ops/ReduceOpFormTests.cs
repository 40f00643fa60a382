using Myelin.Autodiff;
using Myelin.Graphs;
using Myelin.Tests.TestSupport;
using NUnit.Framework;
using static Myelin.Tests.Ops.OpRunner;

namespace Myelin.Tests.Ops;

/// <summary>The newer reduction form (axes as a constant input, noop_with_empty_axes) next to the attribute form.</summary>
public class ReduceOpFormTests
{
    private static readonly Dictionary<string, Func<IReadOnlyList<double>, double>> s_references = new()
    {
        ["ReduceSum"] = v => v.Sum(), ["ReduceMean"] = v => v.Average(), ["ReduceMax"] = v => v.Max(), ["ReduceMin"] = v => v.Min(),
        ["ReduceProd"] = v => v.Aggregate(1.0, (p, e) => p * e), ["ReduceL1"] = v => v.Sum(Math.Abs),
        ["ReduceL2"] = v => Math.Sqrt(v.Sum(e => e * e)), ["ReduceSumSquare"] = v => v.Sum(e => e * e),
        ["ReduceLogSumExp"] = v => Math.Log(v.Sum(Math.Exp)), ["ReduceLogSum"] = v => Math.Log(v.Sum()),
    };

    private static readonly string[] s_ops = ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSumExp", "ReduceLogSum"];

    // ReduceLogSum needs positive sums.
    private static double[] Values(int seed, string op) => Reference.RandomValues(new Random(seed), 24, op == "ReduceLogSum" ? 0.1 : -2, 2);

    private static readonly long[] s_dims = [2, 3, 4];

    [Test]
    public void AxesInputAndAxesAttributeGiveTheReference([ValueSource(nameof(s_ops))] string op, [Values] bool keepDims)
    {
        double[] x = Values(3, op);
        (double[] expected, long[] expectedDims) = Reference.Reduce(x, s_dims, [0, 2], keepDims, s_references[op]);
        long keep = keepDims ? 1 : 0;
        Tensor[] results = Run((g, v) =>
        [
            g.Apply(op, [v[0], Longs(g, -1, 0)], new Dictionary<string, object> { ["keepdims"] = keep })[0],
            g.Apply(op, [v[0]], new Dictionary<string, object> { ["axes"] = new long[] { 0, -1 }, ["keepdims"] = keep })[0],
        ], new Feed(x, s_dims));
        foreach (Tensor result in results)
        {
            Assert.That(result.Shape.ToArray(), Is.EqualTo(expectedDims));
            Approx.AssertClose(result.ToArray<double>(), expected, 1e-12, 1e-12);
        }
    }

    [Test]
    public void EmptyAxesReduceEverythingUnlessNoopWithEmptyAxes([ValueSource(nameof(s_ops))] string op)
    {
        double[] x = Values(4, op);
        Tensor[] results = Run((g, v) =>
        [
            g.Apply(op, [v[0], Longs(g)], new Dictionary<string, object> { ["keepdims"] = 0L })[0],
            g.Apply(op, [v[0], Longs(g)], new Dictionary<string, object> { ["noop_with_empty_axes"] = 1L })[0],
            g.Apply(op, [v[0]], new Dictionary<string, object> { ["noop_with_empty_axes"] = 1L })[0],
        ], new Feed(x, s_dims));
        Approx.AssertClose(results[0].ToArray<double>(), [s_references[op](x)], 1e-12, 1e-12);
        Assert.That(results[0].Rank, Is.Zero);
        for (int i = 1; i < 3; i++)
        {
            Assert.That(results[i].Shape.ToArray(), Is.EqualTo(s_dims));
            Approx.AssertClose(results[i].ToArray<double>(), x);
        }
    }

    [Test]
    public void GradientsOfTheInputFormMatchFiniteDifferences([ValueSource(nameof(s_ops))] string op, [Values] bool noop)
    {
        // Distinct values away from 0 keep Max/Min and L1 differentiable (and LogSum's sums positive); the noop case
        // checks the identity's gradient.
        double[] x = Enumerable.Range(0, 24).Select(i => ((i * 7) % 24) / 10.0 + 0.05).ToArray();
        GradCheckResult result = GradCheck.Check(op, (g, v) =>
            [g.Apply(op, [v[0], noop ? Longs(g) : Longs(g, 1)], new Dictionary<string, object> { ["keepdims"] = 0L, ["noop_with_empty_axes"] = noop ? 1L : 0L })[0]],
            [x], [s_dims]);
        Assert.That(result.Ok, Is.True, result.Message);
    }

    [Test]
    public void BadAxesFailNamingTheNode()
    {
        var g = new Graph();
        Value x = g.Input("x", DType.F32, 2, 3);
        var error = Assert.Throws<GraphValidationException>(() =>
            g.Apply("ReduceMean", [x, Longs(g, 1)], new Dictionary<string, object> { ["axes"] = new long[] { 1 } }, name: "both"));
        Assert.That(error!.Message, Does.Contain("node 'both' (ReduceMean)").And.Contain("both as the attribute and as the input"));
        error = Assert.Throws<GraphValidationException>(() => g.Apply("ReduceSum", [x, g.Input("axes", DType.I64, 1)], name: "fed"));
        Assert.That(error!.Message, Does.Contain("node 'fed' (ReduceSum)").And.Contain("constant 1-d i64"));
        error = Assert.Throws<GraphValidationException>(() => g.Apply("ReduceMax", [x, Longs(g, 2)], name: "range"));
        Assert.That(error!.Message, Does.Contain("node 'range' (ReduceMax)").And.Contain("axis 2 is out of range"));
        error = Assert.Throws<GraphValidationException>(() => g.Apply("ReduceMin", [x, Longs(g, 1, -1)], name: "twice"));
        Assert.That(error!.Message, Does.Contain("node 'twice' (ReduceMin)").And.Contain("appears twice"));
    }

    [Test]
    public void BothFormsAreFoundForOldAndNewOpsets()
    {
        foreach (string op in s_ops)
        {
            Assert.That(Myelin.Ops.OpRegistry.FindOnnx("", op, 11)?.Name, Is.EqualTo(op));
            Assert.That(Myelin.Ops.OpRegistry.FindOnnx("", op, 18)?.Name, Is.EqualTo(op));
        }
    }

    [Test]
    public void ProdGradientIsTheProductOfTheOthersEvenWithZeros()
    {
        // Rows: no zero, one zero, two zeros. d prod / d x_i is the product of the other elements of the row.
        double[] x = [2, 3, 4, 0, 5, 6, 0, 7, 0];
        var graph = new Graph();
        Value input = graph.Input("x", DType.F64, 3, 3);
        Value y = graph.Apply("ReduceProd", [input], new Dictionary<string, object> { ["axes"] = new long[] { 1 }, ["keepdims"] = 0L })[0];
        Value dx = Gradients.Of(y.Sum(), [input])[0]!;
        graph.MarkOutput(y, dx);
        using var compiled = Myelin.Execution.CompiledGraph.Compile(graph);
        using var scope = new TensorScope();
        IReadOnlyList<Tensor> results = compiled.Run(new Dictionary<string, Tensor> { ["x"] = Tensor.FromArray(x, 3, 3) });
        double[] expected = new double[9];
        for (int i = 0; i < 9; i++)
        {
            int row = i / 3;
            expected[i] = Enumerable.Range(row * 3, 3).Where(j => j != i).Aggregate(1.0, (p, j) => p * x[j]);
        }

        Assert.That(results[0].ToArray<double>(), Is.EqualTo(new double[] { 24, 0, 0 }));
        Assert.That(results[1].ToArray<double>(), Is.EqualTo(expected));
    }

    [Test]
    public void LogSumExpDoesNotOverflow()
    {
        double[] x = [1000, 1000, -1000, 710];
        Tensor[] results = Run((g, v) => [g.Apply("ReduceLogSumExp", [v[0]], new Dictionary<string, object> { ["keepdims"] = 0L })[0]], new Feed(x, [4]));
        Approx.AssertClose(results[0].ToArray<double>(), [1000 + Math.Log(2 + Math.Exp(-290))], 1e-12, 1e-12);
    }
}

using Myelin.Autodiff;
using Myelin.Graphs;
using Myelin.Tests.TestSupport;
using NUnit.Framework;
using static Myelin.Tests.Ops.OpRunner;

namespace Myelin.Tests.Ops;

/// <summary>ArgMax, ArgMin, TopK, CumSum and Hardmax against plain loops over the rows along the axis.</summary>
public class AxisOpTests
{
    private static readonly long[] s_dims = [3, 4, 5];

    /// <summary>Calls <paramref name="visit"/> with the flat positions of every row along <paramref name="axis"/> of <paramref name="dims"/>, in row-major order of the other axes.</summary>
    private static void ForEachRow(long[] dims, int axis, Action<long[]> visit)
    {
        long inner = dims[(axis + 1)..].Aggregate(1L, (a, b) => a * b), outer = dims[..axis].Aggregate(1L, (a, b) => a * b);
        for (long o = 0; o < outer; o++)
        {
            for (long j = 0; j < inner; j++)
            {
                visit(Enumerable.Range(0, (int)dims[axis]).Select(i => (o * dims[axis] + i) * inner + j).ToArray());
            }
        }
    }

    // Small integers, so rows have ties.
    private static double[] WithTies(int seed) => Reference.RandomValues(new Random(seed), Reference.Count(s_dims), -3, 3).Select(v => Math.Round(v)).ToArray();

    [Test]
    public void ArgMaxAndArgMinGiveTheFirstOrLastExtreme([Values("ArgMax", "ArgMin")] string op, [Values(0, 1, -1)] int axis, [Values] bool keepDims, [Values] bool last)
    {
        double[] x = WithTies(axis + 5);
        Tensor result = Run((g, v) => [g.Apply(op, [v[0]], new Dictionary<string, object>
        {
            ["axis"] = (long)axis, ["keepdims"] = keepDims ? 1L : 0L, ["select_last_index"] = last ? 1L : 0L,
        })[0]], new Feed(x, s_dims))[0];
        int a = axis < 0 ? axis + 3 : axis;
        var expected = new List<long>();
        ForEachRow(s_dims, a, row =>
        {
            double extreme = op == "ArgMax" ? row.Max(p => x[p]) : row.Min(p => x[p]);
            int[] hits = Enumerable.Range(0, row.Length).Where(i => x[row[i]] == extreme).ToArray();
            expected.Add(last ? hits[^1] : hits[0]);
        });
        long[] dims = [.. s_dims];
        dims[a] = 1;
        Assert.That(result.DType, Is.EqualTo(DType.I64));
        Assert.That(result.Shape.ToArray(), Is.EqualTo(keepDims ? dims : dims.Where((_, d) => d != a).ToArray()));
        Assert.That(result.ToArray<long>(), Is.EqualTo(expected));
    }

    [Test]
    public void TopKGivesTheMostExtremeInOrderWithTiesByPosition([Values(0, 1, -1)] int axis, [Values] bool largest)
    {
        double[] x = WithTies(axis + 11);
        const long k = 3;
        Tensor[] results = Run((g, v) => g.Apply("TopK", [v[0], Longs(g, k)], new Dictionary<string, object> { ["axis"] = (long)axis, ["largest"] = largest ? 1L : 0L }),
            new Feed(x, s_dims));
        int a = axis < 0 ? axis + 3 : axis;
        var rows = new List<long[]>();
        ForEachRow(s_dims, a, rows.Add);
        long[] outDims = [.. s_dims];
        outDims[a] = k;
        var values = new double[Reference.Count(outDims)];
        var indices = new long[values.Length];
        // The output rows follow the same row order with k positions each.
        var outRows = new List<long[]>();
        ForEachRow(outDims, a, outRows.Add);
        for (int r = 0; r < rows.Count; r++)
        {
            long[] row = rows[r];
            int[] order = Enumerable.Range(0, row.Length).OrderBy(i => largest ? -x[row[i]] : x[row[i]]).ThenBy(i => i).Take((int)k).ToArray();
            for (int n = 0; n < k; n++)
            {
                values[outRows[r][n]] = x[row[order[n]]];
                indices[outRows[r][n]] = order[n];
            }
        }

        Assert.That(results[0].Shape.ToArray(), Is.EqualTo(outDims));
        Assert.That(results[0].ToArray<double>(), Is.EqualTo(values));
        Assert.That(results[1].ToArray<long>(), Is.EqualTo(indices));
    }

    [Test]
    public void TopKGradientScattersToTheSources()
    {
        // d(sum of w * values)/dx is w at each selected source and 0 elsewhere.
        double[] x = Distinct(60).Select(v => Math.Sin(v * 3)).ToArray();
        double[] w = Distinct(30).ToArray();
        var graph = new Graph();
        Value input = graph.Input("x", DType.F64, s_dims.Select(Dim.Of).ToArray());
        Value weight = graph.Input("w", DType.F64, 3, 2, 5);
        Value[] top = graph.Apply("TopK", [input, Longs(graph, 2)], new Dictionary<string, object> { ["axis"] = 1L });
        Value dx = Gradients.Of((top[0] * weight).Sum(), [input])[0]!;
        graph.MarkOutput(top[1], dx);
        using var compiled = Myelin.Execution.CompiledGraph.Compile(graph);
        using var scope = new TensorScope();
        IReadOnlyList<Tensor> results = compiled.Run(new Dictionary<string, Tensor> { ["x"] = Tensor.FromArray(x, s_dims), ["w"] = Tensor.FromArray(w, 3, 2, 5) });
        long[] indices = results[0].ToArray<long>();
        var expected = new double[60];
        for (int o = 0; o < 3; o++)
        {
            for (int n = 0; n < 2; n++)
            {
                for (int j = 0; j < 5; j++)
                {
                    int slot = (o * 2 + n) * 5 + j;
                    expected[(o * 4 + indices[slot]) * 5 + j] += w[slot];
                }
            }
        }

        Assert.That(results[1].ToArray<double>(), Is.EqualTo(expected));
    }

    [Test]
    public void CumSumMatchesRunningSums([Values(0, 1, -1)] int axis, [Values] bool exclusive, [Values] bool reverse)
    {
        double[] x = Reference.RandomValues(new Random(axis + 20), Reference.Count(s_dims));
        Tensor result = Run((g, v) => [g.Apply("CumSum", [v[0], g.Constant(Tensor.Scalar(axis).MoveToOuterScope())],
            new Dictionary<string, object> { ["exclusive"] = exclusive ? 1L : 0L, ["reverse"] = reverse ? 1L : 0L })[0]], new Feed(x, s_dims))[0];
        var expected = new double[x.Length];
        ForEachRow(s_dims, axis < 0 ? axis + 3 : axis, row =>
        {
            long[] walk = reverse ? row.Reverse().ToArray() : row;
            double sum = 0;
            foreach (long p in walk)
            {
                if (exclusive) expected[p] = sum;
                sum += x[p];
                if (!exclusive) expected[p] = sum;
            }
        });
        Approx.AssertClose(result.ToArray<double>(), expected, 1e-12, 1e-12);
    }

    [Test]
    public void HardmaxMarksTheFirstMaximum([Values(0, 1, -1)] int axis)
    {
        double[] x = WithTies(axis + 30);
        Tensor result = Run((g, v) => [g.Apply("Hardmax", [v[0]], new Dictionary<string, object> { ["axis"] = (long)axis })[0]], new Feed(x, s_dims))[0];
        var expected = new double[x.Length];
        ForEachRow(s_dims, axis < 0 ? axis + 3 : axis, row => expected[row.First(p => x[p] == row.Max(q => x[q]))] = 1);
        Assert.That(result.ToArray<double>(), Is.EqualTo(expected));
    }

    [Test]
    public void BadInputsFailNamingTheNode()
    {
        var g = new Graph();
        Value x = g.Input("x", DType.F32, 2, 3);
        var error = Assert.Throws<GraphValidationException>(() => g.Apply("TopK", [x, Longs(g, 4)], name: "big"));
        Assert.That(error!.Message, Does.Contain("node 'big' (TopK)").And.Contain("k is 4"));
        error = Assert.Throws<GraphValidationException>(() => g.Apply("TopK", [x, g.Input("k", DType.I64, 1)], name: "fed"));
        Assert.That(error!.Message, Does.Contain("node 'fed' (TopK)").And.Contain("constant 1-d i64"));
        error = Assert.Throws<GraphValidationException>(() => g.Apply("CumSum", [x, g.Input("axis", DType.I32)], name: "sum"));
        Assert.That(error!.Message, Does.Contain("node 'sum' (CumSum)").And.Contain("axis input must be a constant"));
        error = Assert.Throws<GraphValidationException>(() => g.Apply("ArgMax", [x], new Dictionary<string, object> { ["axis"] = 2L }, name: "arg"));
        Assert.That(error!.Message, Does.Contain("node 'arg' (ArgMax)").And.Contain("axis 2 is out of range"));
        error = Assert.Throws<GraphValidationException>(() => g.Apply("ArgMin", [g.Input("empty", DType.F32, 2, 0)], new Dictionary<string, object> { ["axis"] = 1L }, name: "none"));
        Assert.That(error!.Message, Does.Contain("node 'none' (ArgMin)").And.Contain("empty"));
    }
}

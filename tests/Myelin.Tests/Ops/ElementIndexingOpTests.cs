using Myelin.Execution;
using Myelin.Graphs;
using Myelin.Tests.TestSupport;
using NUnit.Framework;
using static Myelin.Tests.Ops.OpRunner;

namespace Myelin.Tests.Ops;

public class ElementIndexingOpTests
{
    private static Value Indices(Graph g, long[] values, params long[] shape) => g.Constant(Tensor.FromArray(values, new Shape(shape)).MoveToOuterScope());

    [Test]
    public void GatherElementsReadsAlongTheAxisWithNegativeIndices()
    {
        long[] indices = [2, -1, 0, 1, 0, -3];
        double[] x = Distinct(12);
        Tensor y = Run((g, v) => g.Apply("GatherElements", [v[0], Indices(g, indices, 3, 2)], new Dictionary<string, object> { ["axis"] = 0L }), new Feed(x, [3, 4]))[0];
        var expected = new double[6];
        for (int i = 0; i < 3; i++)
        {
            for (int j = 0; j < 2; j++)
            {
                long row = indices[i * 2 + j] < 0 ? indices[i * 2 + j] + 3 : indices[i * 2 + j];
                expected[i * 2 + j] = x[row * 4 + j];
            }
        }

        Assert.That(y.Shape.ToArray(), Is.EqualTo(new long[] { 3, 2 }));
        Approx.AssertClose(y.ToArray<double>(), expected);
    }

    [TestCase("none")]
    [TestCase("add")]
    [TestCase("mul")]
    [TestCase("max")]
    [TestCase("min")]
    public void ScatterElementsCombinesRepeatedIndicesInOrder(string reduction)
    {
        long[] indices = [1, 1, 3, -4, 0, 0];
        double[] data = Distinct(8), updates = [5, -2, 7, 1, 3, 4];
        Tensor y = Run((g, v) => g.Apply("ScatterElements", [v[0], Indices(g, indices, 2, 3), v[1]], new Dictionary<string, object> { ["axis"] = 1L, ["reduction"] = reduction }),
            new Feed(data, [2, 4]), new Feed(updates, [2, 3]))[0];
        double[] expected = (double[])data.Clone();
        for (int i = 0; i < 2; i++)
        {
            for (int j = 0; j < 3; j++)
            {
                long column = indices[i * 3 + j] < 0 ? indices[i * 3 + j] + 4 : indices[i * 3 + j];
                ref double target = ref expected[i * 4 + column];
                double u = updates[i * 3 + j];
                target = reduction switch { "add" => target + u, "mul" => target * u, "max" => Math.Max(target, u), "min" => Math.Min(target, u), _ => u };
            }
        }

        Approx.AssertClose(y.ToArray<double>(), expected);
    }

    [Test]
    public void AnOutOfRangeIndexFailsNamingItsValue()
    {
        var error = Assert.Catch(() => Run((g, v) => g.Apply("GatherElements", [v[0], Indices(g, [0, 4], 1, 2)], new Dictionary<string, object> { ["axis"] = 1L }), new Feed(Distinct(8), [2, 4])));
        Assert.That(error!.Message, Does.Contain("indices[0,1] is 4").And.Contain("valid -4..3"));
    }

    [Test]
    public void GatherNdWithABatchDimensionAndScatterNdAdd()
    {
        // data [2, 3, 2]; per batch two 1-tuples picking rows.
        double[] x = Distinct(12);
        long[] indices = [2, 0, -1, 1];
        Tensor y = Run((g, v) => g.Apply("GatherND", [v[0], Indices(g, indices, 2, 2, 1)], new Dictionary<string, object> { ["batch_dims"] = 1L }), new Feed(x, [2, 3, 2]))[0];
        var expected = new List<double>();
        for (int b = 0; b < 2; b++)
        {
            for (int t = 0; t < 2; t++)
            {
                long row = indices[b * 2 + t] < 0 ? indices[b * 2 + t] + 3 : indices[b * 2 + t];
                expected.AddRange(x.Skip((int)(b * 6 + row * 2)).Take(2));
            }
        }

        Assert.That(y.Shape.ToArray(), Is.EqualTo(new long[] { 2, 2, 2 }));
        Approx.AssertClose(y.ToArray<double>(), [.. expected]);

        // ScatterND add of two rows into [3, 2], row 1 twice.
        Tensor s = Run((g, v) => g.Apply("ScatterND", [v[0], Indices(g, [1, 1], 2, 1), v[1]], new Dictionary<string, object> { ["reduction"] = "add" }),
            new Feed([1, 2, 3, 4, 5, 6], [3, 2]), new Feed([10, 20, 30, 40], [2, 2]))[0];
        Approx.AssertClose(s.ToArray<double>(), [1, 2, 43, 64, 5, 6]);
    }

    [TestCase(1L, 0L)]
    [TestCase(1L, -1L)]
    [TestCase(0L, 2L)]
    [TestCase(0L, -3L)]
    public void TriluKeepsOneSideOfTheDiagonal(long upper, long k)
    {
        double[] x = Distinct(2 * 3 * 4);
        Tensor y = Run((g, v) => g.Apply("Trilu", [v[0], g.Constant(Tensor.Scalar(k).MoveToOuterScope())], new Dictionary<string, object> { ["upper"] = upper }), new Feed(x, [2, 3, 4]))[0];
        double[] expected = x.Select((value, flat) =>
        {
            int i = flat / 4 % 3, j = flat % 4;
            return (upper != 0 ? j - i >= k : j - i <= k) ? value : 0;
        }).ToArray();
        Approx.AssertClose(y.ToArray<double>(), expected);
    }

    [Test]
    public void TriluNeedsAConstantDiagonal()
    {
        var graph = new Graph();
        Value x = graph.Input("x", DType.F32, 3, 3);
        Value k = graph.Input("k", DType.I64);
        var error = Assert.Throws<GraphValidationException>(() => graph.Apply("Trilu", [x, k], name: "band"));
        Assert.That(error!.Message, Does.Contain("node 'band' (Trilu)").And.Contain("k must be a constant"));
    }

    [TestCase(0L, 1L)]
    [TestCase(1L, 0L)]
    public void ReverseSequenceReversesThePrefixOfEachBatchEntryWithLengthsFedAtRunTime(long batchAxis, long timeAxis)
    {
        // x: 3 x 4 x 2 with batch and time on axes 0 and 1 in either order; y[.., t, b, ..] = x[.., len[b] - 1 - t, b, ..] for t < len[b].
        long[] lengths = [4, 1, 3];
        long[] dims = batchAxis == 0 ? [3, 4, 2] : [4, 3, 2];
        double[] x = Distinct(24);
        var graph = new Graph();
        Value input = graph.Input("x", DType.F64, dims.Select(Dim.Of).ToArray());
        Value lens = graph.Input("lens", DType.I64, Dim.Of(3));
        graph.MarkOutput(graph.Apply("ReverseSequence", [input, lens], new Dictionary<string, object> { ["batch_axis"] = batchAxis, ["time_axis"] = timeAxis }));
        using CompiledGraph compiled = CompiledGraph.Compile(graph);
        double[] y = compiled.Run(new Dictionary<string, Tensor>
        {
            ["x"] = Tensor.FromArray(x, new Shape(dims)).MoveToOuterScope(),
            ["lens"] = Tensor.FromArray(lengths, 3).MoveToOuterScope(),
        })[0].ToArray<double>();
        var expected = new double[24];
        for (int b = 0; b < 3; b++)
        {
            for (int t = 0; t < 4; t++)
            {
                long source = t < lengths[b] ? lengths[b] - 1 - t : t;
                for (int k = 0; k < 2; k++)
                {
                    expected[Offset(b, t, k)] = x[Offset(b, source, k)];
                }
            }
        }

        Assert.That(y, Is.EqualTo(expected));
        long Offset(long b, long t, long k) => (batchAxis == 0 ? b * 4 + t : t * 3 + b) * 2 + k;
    }

    [Test]
    public void ReverseSequenceRefusesLengthsOfAnotherBatchSize()
    {
        var graph = new Graph();
        Value x = graph.Input("x", DType.F32, Dim.Of(4), Dim.Of(3));
        Value lens = graph.Input("lens", DType.I64, Dim.Of(4));
        var error = Assert.Throws<GraphValidationException>(() => graph.Apply("ReverseSequence", [x, lens], name: "rev"));
        Assert.That(error!.Message, Does.Contain("node 'rev' (ReverseSequence)").And.Contain("batch size [3]"));
    }
}

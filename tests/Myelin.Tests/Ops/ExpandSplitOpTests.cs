using Myelin.Graphs;
using Myelin.Tests.TestSupport;
using NUnit.Framework;
using static Myelin.Tests.Ops.OpRunner;

namespace Myelin.Tests.Ops;

public class ExpandOpTests
{
    private static double[] Broadcast(double[] x, long[] xDims, long[] outDims)
    {
        var result = new double[Reference.Count(outDims)];
        for (long flat = 0; flat < result.Length; flat++) result[flat] = x[Reference.BroadcastSource(Reference.Unravel(flat, outDims), xDims)];
        return result;
    }

    [TestCase(new long[] { 3, 1 }, new long[] { 2, 1, 4 }, new long[] { 2, 3, 4 })]
    [TestCase(new long[] { 2, 3 }, new long[] { 3 }, new long[] { 2, 3 })]
    [TestCase(new long[] { 1, 3 }, new long[] { 4, 1 }, new long[] { 4, 3 })]
    public void ExpandBroadcastsBothWaysLikeNumPy(long[] xDims, long[] shape, long[] expectedDims)
    {
        double[] x = Distinct(Reference.Count(xDims));
        Tensor y = Run((g, v) => [g.Apply("Expand", [v[0], Longs(g, shape)])[0]], new Feed(x, xDims))[0];
        Assert.That(y.Shape.ToArray(), Is.EqualTo(expectedDims));
        Approx.AssertClose(y.ToArray<double>(), Broadcast(x, xDims, expectedDims));
    }

    [Test]
    public void ExpandToAnIncompatibleShapeFailsNamingTheNode()
    {
        var g = new Graph();
        Value x = g.Input("x", DType.F32, 3, 2);
        var error = Assert.Throws<GraphValidationException>(() => g.Apply("Expand", [x, Longs(g, 4, 4)], name: "grow"));
        Assert.That(error!.Message, Does.Contain("node 'grow' (Expand)").And.Contain("do not broadcast"));
        Assert.That(error.NodeName, Is.EqualTo("grow"));
    }

    [Test]
    public void ExpandNeedsAConstantI64Shape()
    {
        var g = new Graph();
        Value x = g.Input("x", DType.F32, 3);
        Value shape = g.Input("shape", DType.I64, 2);
        var error = Assert.Throws<GraphValidationException>(() => g.Apply("Expand", [x, shape], name: "e"));
        Assert.That(error!.Message, Does.Contain("node 'e' (Expand)").And.Contain("constant 1-d i64"));
        error = Assert.Throws<GraphValidationException>(() => g.Apply("Expand", [x, Longs(g, -1, 3)], name: "neg"));
        Assert.That(error!.Message, Does.Contain("node 'neg' (Expand)").And.Contain("-1"));
    }
}

public class SplitOpTests
{
    /// <summary>Columns [start, start + count) of a row-major [rows, cols] array.</summary>
    private static double[] Columns(double[] x, long rows, long cols, long start, long count)
    {
        var result = new List<double>();
        for (long r = 0; r < rows; r++)
        {
            for (long c = start; c < start + count; c++) result.Add(x[r * cols + c]);
        }

        return [.. result];
    }

    [Test]
    public void SplitBySizesGivesTheColumnBlocks()
    {
        double[] x = Distinct(14);
        Tensor[] parts = Run((g, v) => g.Apply("Split", [v[0], Longs(g, 2, 4, 1)], new Dictionary<string, object> { ["axis"] = 1L }), new Feed(x, [2, 7]));
        Assert.That(parts.Select(p => p.Shape.ToArray()), Is.EqualTo(new[] { new long[] { 2, 2 }, [2, 4], [2, 1] }));
        Approx.AssertClose(parts[0].ToArray<double>(), Columns(x, 2, 7, 0, 2));
        Approx.AssertClose(parts[1].ToArray<double>(), Columns(x, 2, 7, 2, 4));
        Approx.AssertClose(parts[2].ToArray<double>(), Columns(x, 2, 7, 6, 1));
    }

    [Test]
    public void SplitPartsAreViewsSoOnlyTheirConsumersLaunch()
    {
        var graph = new Graph();
        Value x = graph.Input("x", DType.F64, 3, 4);
        Value[] parts = graph.Apply("Split", [x], new Dictionary<string, object> { ["num_outputs"] = 3L });
        graph.MarkOutput(parts.Select(p => p * 2.0).ToArray());
        using Myelin.Execution.CompiledGraph compiled = Myelin.Execution.CompiledGraph.Compile(graph);
        var feeds = new Dictionary<string, Tensor> { ["x"] = Tensor.FromArray(Distinct(12), new Shape(3, 4)).MoveToOuterScope() };
        Assert.That(compiled.PlanFor(feeds).LaunchCount, Is.EqualTo(3), "three Mul launches and no copy for the split");
        IReadOnlyList<Tensor> results = compiled.Run(feeds);
        for (int i = 0; i < 3; i++) Approx.AssertClose(results[i].ToArray<double>(), Distinct(12)[(4 * i)..(4 * i + 4)].Select(v => 2 * v).ToArray());
    }

    [Test]
    public void SplitOfATransposedViewReadsTheRightElements()
    {
        // x is [3, 4]; its transpose [4, 3] is a strided view, split into rows 0..1 and 2..3 (num_outputs 2).
        double[] x = Distinct(12);
        Tensor[] parts = Run((g, v) => g.Apply("Split", [v[0].Transpose(1, 0)], new Dictionary<string, object> { ["num_outputs"] = 2L }), new Feed(x, [3, 4]));
        double[] transposed = Enumerable.Range(0, 12).Select(i => x[(i % 3) * 4 + i / 3]).ToArray();
        Approx.AssertClose(parts[0].ToArray<double>(), transposed[..6]);
        Approx.AssertClose(parts[1].ToArray<double>(), transposed[6..]);
    }

    [TestCase(6, 3, new long[] { 2, 2, 2 })]
    [TestCase(7, 3, new long[] { 3, 3, 1 })]
    [TestCase(5, 1, new long[] { 5 })]
    public void NumOutputsSplitsIntoCeilSizedPartsWithASmallerLast(int dim, long count, long[] sizes)
    {
        double[] x = Distinct(dim);
        Tensor[] parts = Run((g, v) => g.Apply("Split", [v[0]], new Dictionary<string, object> { ["num_outputs"] = count }), new Feed(x, [dim]));
        Assert.That(parts.Select(p => p.Shape[0]), Is.EqualTo(sizes));
        Approx.AssertClose(parts.SelectMany(p => p.ToArray<double>()).ToArray(), x);
    }

    [Test]
    public void GradientConcatenatesWithZerosForAnUnusedPart()
    {
        // loss = sum(3 * part0) + sum(part2 * part2): dx is 3 on part 0, 0 on part 1, 2 x on part 2.
        double[] x = Distinct(6);
        Tensor dx = Run((g, v) =>
        {
            Value[] parts = g.Apply("Split", [v[0], Longs(g, 1, 3, 2)]);
            Value loss = (parts[0] * 3.0).Sum() + (parts[2] * parts[2]).Sum();
            return [Myelin.Autodiff.Gradients.Of(loss, [v[0]])[0]!];
        }, new Feed(x, [6]))[0];
        Approx.AssertClose(dx.ToArray<double>(), [3, 0, 0, 0, 2 * x[4], 2 * x[5]]);
    }

    [Test]
    public void BadSplitsFailNamingTheNode()
    {
        var g = new Graph();
        Value x = g.Input("x", DType.F32, 2, 7);
        var error = Assert.Throws<GraphValidationException>(() => g.Apply("Split", [x, Longs(g, 2, 4)], new Dictionary<string, object> { ["axis"] = 1L }, name: "cut"));
        Assert.That(error!.Message, Does.Contain("node 'cut' (Split)").And.Contain("add up to the axis size 7"));
        error = Assert.Throws<GraphValidationException>(() => g.Apply("Split", [x], name: "none"));
        Assert.That(error!.Message, Does.Contain("node 'none' (Split)").And.Contain("neither"));
        error = Assert.Throws<GraphValidationException>(() => g.Apply("Split", [x, Longs(g, 1, 1)], new Dictionary<string, object> { ["num_outputs"] = 2L }, name: "both"));
        Assert.That(error!.Message, Does.Contain("node 'both' (Split)").And.Contain("both"));
        error = Assert.Throws<GraphValidationException>(() => g.Apply("Split", [x], new Dictionary<string, object> { ["num_outputs"] = 5L, ["axis"] = 1L }, name: "five"));
        Assert.That(error!.Message, Does.Contain("node 'five' (Split)").And.Contain("5 parts"));
        error = Assert.Throws<GraphValidationException>(() => g.Apply("Split", [x], new Dictionary<string, object> { ["num_outputs"] = 2L, ["axis"] = 2L }, name: "axis"));
        Assert.That(error!.Message, Does.Contain("node 'axis' (Split)").And.Contain("axis 2 is out of range"));
    }
}

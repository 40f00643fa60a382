using Myelin.Graphs;
using NUnit.Framework;
using static Myelin.Tests.Ops.OpRunner;

namespace Myelin.Tests.Ops;

/// <summary>The pooling composites against their definitions written as loops.</summary>
public class PoolOpTests
{
    private static readonly Dictionary<string, object> s_window = new() { ["kernel_shape"] = new long[] { 2, 2 }, ["strides"] = new long[] { 2, 2 } };

    [Test]
    public void MaxUnpoolPutsEachValueAtItsFlatIndexAcrossBatchAndChannels()
    {
        // x: 2 x 1 x 2 x 2 unpools to 2 x 1 x 4 x 4 (32 elements); the indices run over the whole tensor, as MaxPool's do.
        long[] indices = [0, 3, 10, 14, 16, 21, 27, 30];
        double[] x = Distinct(8);
        Tensor y = Run((g, v) => g.Apply("MaxUnpool", [v[0], g.Constant(Tensor.FromArray(indices, new Shape(2, 1, 2, 2)).MoveToOuterScope())], s_window),
            new Feed(x, [2, 1, 2, 2]))[0];
        Assert.That(y.Shape.ToArray(), Is.EqualTo(new long[] { 2, 1, 4, 4 }));
        var expected = new double[32];
        for (int i = 0; i < 8; i++) expected[indices[i]] = x[i];
        Assert.That(y.ToArray<double>(), Is.EqualTo(expected));
    }

    [Test]
    public void MaxUnpoolPadsTheUnpooledTensorAtTheEndToTheGivenOutputShape()
    {
        // With output_shape 1 x 1 x 5 x 6 the indices still address the unpooled 4 x 4 plane, which fills the top-left corner.
        long[] indices = [1, 2, 13, 15];
        double[] x = Distinct(4);
        Tensor y = Run((g, v) => g.Apply("MaxUnpool", [v[0], g.Constant(Tensor.FromArray(indices, new Shape(1, 1, 2, 2)).MoveToOuterScope()), Longs(g, 1, 1, 5, 6)], s_window),
            new Feed(x, [1, 1, 2, 2]))[0];
        Assert.That(y.Shape.ToArray(), Is.EqualTo(new long[] { 1, 1, 5, 6 }));
        var expected = new double[30];
        for (int i = 0; i < 4; i++) expected[indices[i] / 4 * 6 + indices[i] % 4] = x[i];
        Assert.That(y.ToArray<double>(), Is.EqualTo(expected));
    }

    [Test]
    public void MaxUnpoolRefusesAnOutputShapeSmallerThanTheUnpooledOne()
    {
        var graph = new Graph();
        Value x = graph.Input("x", DType.F32, Dim.Of(1), Dim.Of(1), Dim.Of(2), Dim.Of(2));
        Value i = graph.Input("i", DType.I64, Dim.Of(1), Dim.Of(1), Dim.Of(2), Dim.Of(2));
        var error = Assert.Throws<GraphValidationException>(() => graph.Apply("MaxUnpool", [x, i, Longs(graph, 1, 1, 3, 4)], s_window, "unpool"));
        Assert.That(error!.Message, Does.Contain("node 'unpool' (MaxUnpool)").And.Contain("at least the unpooled [4, 4]"));
    }
}

using Myelin.Autodiff;
using Myelin.Execution;
using Myelin.Graphs;
using NUnit.Framework;
using static Myelin.Tests.Ops.OpRunner;

namespace Myelin.Tests.Ops;

/// <summary>The pooling composites against their definitions written as loops.</summary>
public class PoolOpTests
{
    private static readonly Dictionary<string, object> s_window = new() { ["kernel_shape"] = new long[] { 2, 2 }, ["strides"] = new long[] { 2, 2 } };

    [TestCase(new long[] { 2, 3, 9, 9 }, new long[] { 3, 3 }, new long[] { 2, 2 }, new long[] { 1, 1, 1, 1 }, 0L, DType.U8)]
    [TestCase(new long[] { 2, 3, 9, 9 }, new long[] { 3, 3 }, new long[] { 2, 2 }, new long[] { 1, 1, 1, 1 }, 1L, DType.U8)]
    [TestCase(new long[] { 1, 2, 21, 20 }, new long[] { 16, 16 }, new long[] { 5, 4 }, new long[] { 0, 0, 0, 0 }, 0L, DType.I32)]
    public void MaxPoolGradientFromTheWorkspaceEqualsTheOneFromTheIndices(long[] shape, long[] kernel, long[] strides, long[] pads, long storageOrder, DType workspace)
    {
        // Training's PoolGrad reads MaxPool's workspace; the backward from the i64 Indices (what it read before) gives the same
        // bits, and Indices asked for in the same plan stay ONNX's flat positions in x.
        var attributes = new Dictionary<string, object> { ["kernel_shape"] = kernel, ["strides"] = strides, ["pads"] = pads, ["storage_order"] = storageOrder };
        var graph = new Graph();
        Value x = graph.Input("x", DType.F32, shape.Select(Dim.Of).ToArray());
        Value[] pooled = graph.Apply("MaxPool", [x], attributes);
        Value dy = graph.Input("dy", DType.F32, pooled[0].Type.Dims.ToArray());
        Value dx = Gradients.Of(pooled[0], [x], dy)[0]!;
        var gradAttributes = attributes.Where(a => a.Key != "storage_order").ToDictionary(a => a.Key, a => a.Value);
        gradAttributes["mode"] = 0L;
        Value rowMajor = graph.Apply("MaxPool", [x], attributes.Where(a => a.Key != "storage_order").ToDictionary(a => a.Key, a => a.Value))[1];
        Value fromIndices = graph.Apply("PoolGrad", [dy, rowMajor, x], gradAttributes)[0];
        Assert.That(pooled[2].DType, Is.EqualTo(workspace));
        Assert.That(dx.Producer!.Inputs[1], Is.SameAs(pooled[2]), "the gradient reads the workspace");
        graph.MarkOutput(dx, fromIndices, pooled[0], pooled[1]);
        using CompiledGraph compiled = CompiledGraph.Compile(graph);
        var generator = new Generator(seed: 11);
        var feeds = new Dictionary<string, Tensor>
        {
            ["x"] = Tensor.RandN(shape, generator: generator).MoveToOuterScope(),
            ["dy"] = Tensor.RandN(pooled[0].Type.Dims.ToArray().Select(d => d.Value).ToArray(), generator: generator).MoveToOuterScope(),
        };
        IReadOnlyList<Tensor> results = compiled.Run(feeds);
        Assert.That(results[0].ToArray<float>(), Is.EqualTo(results[1].ToArray<float>()));
        float[] xs = feeds["x"].ToArray<float>(), y = results[2].ToArray<float>();
        long[] indices = results[3].ToArray<long>();
        long plane = shape[2] * shape[3];
        for (int i = 0; i < y.Length; i++)
        {
            // Column-major within the plane with storage_order 1.
            long within = indices[i] % plane, row = storageOrder == 0 ? within / shape[3] : within % shape[2], column = storageOrder == 0 ? within % shape[3] : within / shape[2];
            Assert.That(xs[indices[i] - within + row * shape[3] + column], Is.EqualTo(y[i]), $"index {i} points at its maximum");
        }
    }

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

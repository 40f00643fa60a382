using Myelin.Execution;
using Myelin.Graphs;
using Myelin.Passes;
using Myelin.Tests.TestSupport;
using NUnit.Framework;
using static Myelin.Tests.Ops.OpRunner;

namespace Myelin.Tests.Ops;

public class ShapeOpTests
{
    [TestCase(null, null, new long[] { 4, 3, 5 })]
    [TestCase(1L, null, new long[] { 3, 5 })]
    [TestCase(-2L, -1L, new long[] { 3 })]
    [TestCase(0L, 10L, new long[] { 4, 3, 5 })]
    [TestCase(2L, 1L, new long[0])]
    public void ShapeKernelWritesTheFedDims(long? start, long? end, long[] expected)
    {
        // N is symbolic, so the shape is known only per plan and the node runs as a kernel (no folding).
        var attributes = new Dictionary<string, object>();
        if (start is not null) attributes["start"] = start.Value;
        if (end is not null) attributes["end"] = end.Value;
        var graph = new Graph();
        Value x = graph.Input("x", DType.F32, "N", 3, 5);
        Value shape = graph.Apply("Shape", [x], attributes)[0];
        Assert.That(shape.Type.ShapeText, Is.EqualTo($"{expected.Length}"));
        graph.MarkOutput(shape);
        using CompiledGraph compiled = CompiledGraph.Compile(graph);
        Tensor y = compiled.Run(new Dictionary<string, Tensor> { ["x"] = Tensor.Zeros([4, 3, 5]).MoveToOuterScope() })[0];
        Assert.That(y.DType, Is.EqualTo(DType.I64));
        Assert.That(y.ToArray<long>(), Is.EqualTo(expected));
        Assert.That(compiled.Run(new Dictionary<string, Tensor> { ["x"] = Tensor.Zeros([7, 3, 5]).MoveToOuterScope() })[0].ToArray<long>(),
            Is.EqualTo(expected.Select(d => d == 4 ? 7 : d).ToArray()));
    }

    [Test]
    public void ConstantFoldingReplacesShapeOfAConcreteValue()
    {
        // y = x * f32(shape(relu(x))[-1:]) = 6 x: the Shape folds although relu(x) is computed only at run time.
        var graph = new Graph();
        Value x = graph.Input("x", DType.F32, 2, 6);
        Value shape = graph.Apply("Shape", [x.Relu()], new Dictionary<string, object> { ["start"] = -1L })[0];
        Value y = x * shape.Cast(DType.F32);
        graph.MarkOutput(y);
        Assert.That(ConstantFolding.Run(graph), Is.GreaterThanOrEqualTo(1));
        Assert.That(graph.Nodes.Select(n => n.Op.Name), Has.None.EqualTo("Shape"));
        using CompiledGraph compiled = CompiledGraph.Compile(graph);
        float[] input = Enumerable.Range(0, 12).Select(i => (float)i).ToArray();
        Assert.That(compiled.Run(new Dictionary<string, Tensor> { ["x"] = Tensor.FromArray(input, new Shape(2, 6)).MoveToOuterScope() })[0].ToArray<float>(),
            Is.EqualTo(input.Select(v => 6 * v).ToArray()));
    }

    [Test]
    public void ShapeIsNotDifferentiable() => Assert.That(Myelin.Ops.OpRegistry.Get("Shape").IsDifferentiable, Is.False);
}

public class ConstantOpTests
{
    [Test]
    public void ConstantBecomesAGraphConstantWithoutANode()
    {
        var graph = new Graph();
        Tensor data = Tensor.FromArray(new double[] { 1, 2, 3, 4, 5, 6 }, new Shape(2, 3)).MoveToOuterScope();
        Value c = graph.Apply("Constant", [], new Dictionary<string, object> { ["value"] = data }, name: "table")[0];
        Assert.That(graph.Nodes, Is.Empty);
        Assert.That(c.Kind, Is.EqualTo(ValueKind.Constant));
        Assert.That(c.Name, Is.EqualTo("table"));
        Assert.That(c.Data, Is.SameAs(data));
    }

    [Test]
    public void ScalarAndListAttributesGiveF32AndI64Tensors()
    {
        var graph = new Graph();
        Value Make(string key, object value) => graph.Apply("Constant", [], new Dictionary<string, object> { [key] = value })[0];
        Value f = Make("value_float", 2.5), fs = Make("value_floats", new[] { 1.0, -2.0 }), i = Make("value_int", 7L), ints = Make("value_ints", new long[] { 3, 4, 5 });
        Assert.That((f.Type.ToString(), fs.Type.ToString(), i.Type.ToString(), ints.Type.ToString()), Is.EqualTo(
            (new TensorType(DType.F32).ToString(), new TensorType(DType.F32, 2).ToString(), new TensorType(DType.I64).ToString(), new TensorType(DType.I64, 3).ToString())));
        Assert.That(f.Data!.Item<float>(), Is.EqualTo(2.5f));
        Assert.That(fs.Data!.ToArray<float>(), Is.EqualTo(new[] { 1f, -2f }));
        Assert.That(i.Data!.Item<long>(), Is.EqualTo(7L));
        Assert.That(ints.Data!.ToArray<long>(), Is.EqualTo(new long[] { 3, 4, 5 }));

        // A constant feeds ops like any other: y = x + [1, -2].
        Tensor y = Run((g, v) => [v[0] + g.Apply("Constant", [], new Dictionary<string, object> { ["value_floats"] = new[] { 1.0, -2.0 } })[0].Cast(DType.F64)],
            new Feed([10, 20], [2]))[0];
        Approx.AssertClose(y.ToArray<double>(), [11, 18]);
    }

    [Test]
    public void ConstantNeedsExactlyOneValueAttribute()
    {
        var graph = new Graph();
        var error = Assert.Throws<GraphValidationException>(() => graph.Apply("Constant", [], name: "empty"));
        Assert.That(error!.Message, Does.Contain("node 'empty' (Constant)").And.Contain("exactly one").And.Contain("none"));
        error = Assert.Throws<GraphValidationException>(() => graph.Apply("Constant", [], new Dictionary<string, object> { ["value_int"] = 1L, ["value_float"] = 1.0 }, name: "two"));
        Assert.That(error!.Message, Does.Contain("node 'two' (Constant)").And.Contain("value_int").And.Contain("value_float"));
        error = Assert.Throws<GraphValidationException>(() => graph.Apply("Constant", [], new Dictionary<string, object> { ["value"] = "text" }, name: "str"));
        Assert.That(error!.Message, Does.Contain("node 'str' (Constant)").And.Contain("attribute 'value' must be Tensor"));
        error = Assert.Throws<GraphValidationException>(() => graph.Apply("Constant", [], new Dictionary<string, object> { ["sparse_value"] = 1L }, name: "sparse"));
        Assert.That(error!.Message, Does.Contain("unknown attribute 'sparse_value'"));
    }
}

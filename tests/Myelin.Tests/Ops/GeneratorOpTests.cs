using Myelin.Graphs;
using Myelin.Tests.TestSupport;
using NUnit.Framework;
using static Myelin.Tests.Ops.OpRunner;

namespace Myelin.Tests.Ops;

public class GeneratorOpTests
{
    private static Value Const<T>(Graph g, T[] values, params long[] shape) where T : unmanaged => g.Constant(Tensor.FromArray(values, shape).MoveToOuterScope());

    [Test]
    public void ConstantOfShapeFillsTheGivenShapeWithTheValueAttribute()
    {
        var graph = new Graph();
        Value filled = graph.Apply("ConstantOfShape", [Const(graph, new long[] { 2, 3 }, 2)], new Dictionary<string, object> { ["value"] = Tensor.FromArray(new int[] { 7 }, new Shape(1)).MoveToOuterScope() })[0];
        Assert.That(filled.Kind, Is.EqualTo(ValueKind.Constant));
        Assert.That(filled.Type.ToString(), Is.EqualTo(new TensorType(DType.I32, 2, 3).ToString()));
        Assert.That(filled.Data!.ToArray<int>(), Is.EqualTo(Enumerable.Repeat(7, 6).ToArray()));
        Value zeros = graph.Apply("ConstantOfShape", [Const(graph, new long[] { 4 }, 1)])[0];
        Assert.That(zeros.Data!.ToArray<float>(), Is.EqualTo(new float[4]));
    }

    [Test]
    public void OpsWhoseShapeDependsOnValuesRefuseComputedInputsNamingThem()
    {
        var graph = new Graph();
        Value shape = graph.Input("shape", DType.I64, 2);
        var error = Assert.Throws<GraphValidationException>(() => graph.Apply("ConstantOfShape", [shape], name: "fill"));
        Assert.That(error!.Message, Does.Contain("node 'fill' (ConstantOfShape)").And.Contain("the shape (input 0) must be a constant"));
        Value start = graph.Input("start", DType.F32);
        error = Assert.Throws<GraphValidationException>(() => graph.Apply("Range", [start, graph.Scalar(5), graph.Scalar(1)], name: "steps"));
        Assert.That(error!.Message, Does.Contain("node 'steps' (Range)").And.Contain("start (input 0) must be a constant"));
    }

    [TestCase(1.0, 5.5, 1.5)]
    [TestCase(10.0, 4.0, -3.0)]
    [TestCase(2.0, 1.0, 1.0)]
    public void RangeCountsCeilOfTheSpanOverDelta(double start, double limit, double delta)
    {
        var graph = new Graph();
        Value range = graph.Apply("Range", [graph.Scalar(start, DType.F64), graph.Scalar(limit, DType.F64), graph.Scalar(delta, DType.F64)])[0];
        var expected = new List<double>();
        for (double v = start; delta > 0 ? v < limit : v > limit; v += delta) expected.Add(v);
        Approx.AssertClose(range.Data!.ToArray<double>(), [.. expected]);
        Value ints = graph.Apply("Range", [graph.Scalar(10, DType.I32), graph.Scalar(4, DType.I32), graph.Scalar(-3, DType.I32)])[0];
        Assert.That(ints.Data!.ToArray<int>(), Is.EqualTo(new[] { 10, 7 }));
    }

    [Test]
    public void SizeEyeLikeAndNonZeroAreConstantsOfTheirInputs()
    {
        var graph = new Graph();
        Value x = graph.Input("x", DType.F32, 3, 4);
        Assert.That(graph.Apply("Size", [x])[0].Data!.Item<long>(), Is.EqualTo(12L));
        Value eye = graph.Apply("EyeLike", [x], new Dictionary<string, object> { ["k"] = 1L, ["dtype"] = (long)DType.F64 })[0];
        double[] expected = Enumerable.Range(0, 12).Select(f => f % 4 - f / 4 == 1 ? 1.0 : 0.0).ToArray();
        Assert.That(eye.Data!.ToArray<double>(), Is.EqualTo(expected));
        Value nonzero = graph.Apply("NonZero", [Const(graph, new[] { 0f, 2f, 3f, 0f, 0f, -1f }, 2, 3)])[0];
        Assert.That(nonzero.Type.ShapeText, Is.EqualTo("2x3"));
        Assert.That(nonzero.Data!.ToArray<long>(), Is.EqualTo(new long[] { 0, 0, 1, 1, 2, 2 }));
    }

    [Test]
    public void CompressGathersTheSlicesTheConditionSelects()
    {
        double[] x = Distinct(12);
        Tensor rows = Run((g, v) => g.Apply("Compress", [v[0], Const(g, new[] { false, true, true })], new Dictionary<string, object> { ["axis"] = 0L }), new Feed(x, [3, 4]))[0];
        Approx.AssertClose(rows.ToArray<double>(), x.Skip(4).ToArray());
        Tensor flat = Run((g, v) => g.Apply("Compress", [v[0], Const(g, new[] { true, false, false, true, true })]), new Feed(x, [3, 4]))[0];
        Approx.AssertClose(flat.ToArray<double>(), [x[0], x[3], x[4]]);
    }

    [TestCase(-1L)]
    [TestCase(0L)]
    public void OneHotPutsOnValuesAtWrappedIndicesAndOffValuesOutOfRange(long axis)
    {
        double[] indices = [1, -1, 0, 7];
        Tensor y = Run((g, v) => g.Apply("OneHot", [v[0], g.Scalar(3, DType.F64), v[1]], new Dictionary<string, object> { ["axis"] = axis }),
            new Feed(indices, [4]), new Feed([-2, 5], [2]))[0];
        var expected = new double[12];
        for (int i = 0; i < 4; i++)
        {
            for (int c = 0; c < 3; c++)
            {
                long index = (long)indices[i] < 0 ? (long)indices[i] + 3 : (long)indices[i];
                expected[axis == 0 ? c * 4 + i : i * 3 + c] = index == c ? 5 : -2;
            }
        }

        Assert.That(y.Shape.ToArray(), Is.EqualTo(axis == 0 ? new long[] { 3, 4 } : new long[] { 4, 3 }));
        Approx.AssertClose(y.ToArray<double>(), expected);
    }
}

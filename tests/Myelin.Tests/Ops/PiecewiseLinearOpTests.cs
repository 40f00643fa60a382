using Myelin.Graphs;
using Myelin.Ops;
using Myelin.Tests.TestSupport;
using NUnit.Framework;
using static Myelin.Tests.Ops.OpRunner;

namespace Myelin.Tests.Ops;

public class ClipOpTests
{
    private static readonly double[] s_x = [-3, -1.5, -0.25, 0, 0.75, 2, 4];

    [TestCase(-1.0, 1.0)]
    [TestCase(double.NaN, 1.0)]
    [TestCase(-1.0, double.NaN)]
    [TestCase(1.0, -1.0)]
    public void ClipMatchesMinOfMaxWithOmittedBoundsSkipped(double min, double max)
    {
        // NaN marks a bound left out: the omitted stand-in (an empty 1-d tensor) or, for max, no input at all.
        Tensor y = Run((g, v) =>
        {
            Value omitted = g.Constant(Tensor.Zeros(new Shape(0), DType.F64).MoveToOuterScope());
            Value lower = double.IsNaN(min) ? omitted : g.Scalar(min, DType.F64);
            return [g.Apply("Clip", double.IsNaN(max) ? [v[0], lower] : [v[0], lower, g.Scalar(max, DType.F64)])[0]];
        }, new Feed(s_x, [s_x.Length]))[0];
        double[] expected = s_x.Select(x => double.IsNaN(min) ? x : Math.Max(x, min)).Select(x => double.IsNaN(max) ? x : Math.Min(x, max)).ToArray();
        Approx.AssertClose(y.ToArray<double>(), expected);
    }

    [Test]
    public void ClipWithABoundThatIsNotAScalarFailsNamingTheNode()
    {
        var g = new Graph();
        Value x = g.Input("x", DType.F32, 3);
        var error = Assert.Throws<GraphValidationException>(() => g.Apply("Clip", [x, g.Input("lo", DType.F32, 3)], name: "clamp"));
        Assert.That(error!.Message, Does.Contain("node 'clamp' (Clip)").And.Contain("min (input 1)"));
    }

    [Test]
    public void OnlyOpsThatReadTheStandInTakeOmittedInputs()
    {
        Assert.That(OpRegistry.Get("Clip").TakesOmittedInputs, Is.True);
        Assert.That(OpRegistry.Get("Add").TakesOmittedInputs, Is.False);
    }
}

public class PReluOpTests
{
    [Test]
    public void PReluScalesNegativesByTheBroadcastSlope()
    {
        double[] x = [-2, -1, 0, 1, 2, -3];
        double[] slope = [0.5, 0.25, -1];
        Tensor y = Run((g, v) => [g.Apply("PRelu", [v[0], v[1]])[0]], new Feed(x, [2, 3]), new Feed(slope, [3]))[0];
        Approx.AssertClose(y.ToArray<double>(), x.Select((value, i) => value < 0 ? value * slope[i % 3] : value).ToArray());
    }

    [Test]
    public void PReluWithASlopeWiderThanXFailsNamingTheNode()
    {
        var g = new Graph();
        var error = Assert.Throws<GraphValidationException>(() => g.Apply("PRelu", [g.Input("x", DType.F32, 3), g.Input("s", DType.F32, 2, 3)], name: "act"));
        Assert.That(error!.Message, Does.Contain("node 'act' (PRelu)").And.Contain("does not broadcast to x"));
    }
}

public class ReshapeAllowZeroTests
{
    [Test]
    public void AllowZeroKeepsAZeroDimInsteadOfCopyingTheInputDim()
    {
        var g = new Graph();
        Value x = g.Input("x", DType.F32, 0, 3, 4);
        Value literal = g.Apply("Reshape", [x, Longs(g, 3, 4, 0)], new Dictionary<string, object> { ["allowzero"] = 1L })[0];
        Assert.That(literal.Type.ShapeText, Is.EqualTo("3x4x0"));
        // Without allowzero the 0 copies dim 2 (4), and 48 elements cannot come from none.
        Assert.Throws<GraphValidationException>(() => g.Apply("Reshape", [x, Longs(g, 3, 4, 0)]));
        var error = Assert.Throws<GraphValidationException>(() => g.Apply("Reshape", [x, Longs(g, 0, -1)], new Dictionary<string, object> { ["allowzero"] = 1L }, "r"));
        Assert.That(error!.Message, Does.Contain("node 'r' (Reshape)").And.Contain("both 0 and -1"));
    }
}

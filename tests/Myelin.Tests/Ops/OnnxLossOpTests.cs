using Myelin.Graphs;
using Myelin.Tests.TestSupport;
using NUnit.Framework;
using static Myelin.Tests.Ops.OpRunner;

namespace Myelin.Tests.Ops;

public class OnnxLossOpTests
{
    // input [N = 2, C = 3, d = 2] of log-probabilities; targets per (n, d); class 1 ignored.
    private static readonly double[] s_input = [-1.2, -0.3, -2.0, -0.7, -0.9, -1.5, -0.4, -2.2, -1.1, -0.6, -1.8, -0.2];
    private static readonly long[] s_target = [0, 1, 2, 0];
    private static readonly double[] s_weight = [0.5, 2.0, 1.5];

    /// <summary>The ONNX definition, element by element: -w[t] x[n, t, d], 0 where ignored; mean over the summed weights.</summary>
    private static double Reference(double[] logProbabilities, string reduction, bool weighted, long? ignore, out double[] perElement)
    {
        perElement = new double[4];
        double weightSum = 0;
        for (int n = 0; n < 2; n++)
        {
            for (int d = 0; d < 2; d++)
            {
                long t = s_target[n * 2 + d];
                if (t == ignore) continue;
                double w = weighted ? s_weight[t] : 1;
                perElement[n * 2 + d] = -w * logProbabilities[n * 6 + t * 2 + d];
                weightSum += w;
            }
        }

        double sum = perElement.Sum();
        return reduction == "sum" ? sum : sum / weightSum;
    }

    private static Dictionary<string, object> Attributes(string reduction, long? ignore)
    {
        var attributes = new Dictionary<string, object> { ["reduction"] = reduction };
        if (ignore is not null) attributes["ignore_index"] = ignore.Value;
        return attributes;
    }

    [TestCase("mean", true, 1L)]
    [TestCase("mean", false, null)]
    [TestCase("sum", true, null)]
    [TestCase("none", false, 1L)]
    public void NegativeLogLikelihoodLossFollowsTheOnnxDefinition(string reduction, bool weighted, long? ignore)
    {
        Tensor loss = Run((g, v) =>
            g.Apply("NegativeLogLikelihoodLoss", [v[0], g.Constant(Tensor.FromArray(s_target, new Shape(2, 2)).MoveToOuterScope()), .. weighted ? new[] { v[1] } : []], Attributes(reduction, ignore)),
            weighted ? [new Feed(s_input, [2, 3, 2]), new Feed(s_weight, [3])] : [new Feed(s_input, [2, 3, 2])])[0];
        double expected = Reference(s_input, reduction, weighted, ignore, out double[] perElement);
        if (reduction == "none")
        {
            Assert.That(loss.Shape.ToArray(), Is.EqualTo(new long[] { 2, 2 }));
            Approx.AssertClose(loss.ToArray<double>(), perElement);
        }
        else
        {
            Approx.AssertClose(loss.ToArray<double>(), [expected]);
        }
    }

    [Test]
    public void SoftmaxCrossEntropyIsTheLossOfTheLogSoftmaxOverClasses()
    {
        Tensor[] outputs = Run((g, v) =>
            g.Apply("SoftmaxCrossEntropyLoss", [v[0], g.Constant(Tensor.FromArray(s_target, new Shape(2, 2)).MoveToOuterScope()), v[1]], Attributes("mean", 1L)),
            new Feed(s_input, [2, 3, 2]), new Feed(s_weight, [3]));
        var logProbabilities = new double[12];
        for (int n = 0; n < 2; n++)
        {
            for (int d = 0; d < 2; d++)
            {
                double max = Enumerable.Range(0, 3).Max(c => s_input[n * 6 + c * 2 + d]);
                double logSum = Math.Log(Enumerable.Range(0, 3).Sum(c => Math.Exp(s_input[n * 6 + c * 2 + d] - max))) + max;
                for (int c = 0; c < 3; c++) logProbabilities[n * 6 + c * 2 + d] = s_input[n * 6 + c * 2 + d] - logSum;
            }
        }

        Approx.AssertClose(outputs[0].ToArray<double>(), [Reference(logProbabilities, "mean", true, 1L, out _)]);
        Approx.AssertClose(outputs[1].ToArray<double>(), logProbabilities);
    }

    [Test]
    public void ATargetOfTheWrongShapeFailsNamingTheNode()
    {
        var graph = new Graph();
        Value x = graph.Input("x", DType.F32, 2, 3, 4);
        Value t = graph.Input("t", DType.I64, 2, 3);
        var error = Assert.Throws<GraphValidationException>(() => graph.Apply("NegativeLogLikelihoodLoss", [x, t], name: "nll"));
        Assert.That(error!.Message, Does.Contain("node 'nll'").And.Contain("without its class axis"));
    }
}

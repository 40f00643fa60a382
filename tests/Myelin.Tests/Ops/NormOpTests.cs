using Myelin.Graphs;
using Myelin.Tests.TestSupport;
using NUnit.Framework;
using static Myelin.Tests.Ops.OpRunner;

namespace Myelin.Tests.Ops;

/// <summary>BatchNormalization's training form on statistics that are not parameters, against the ONNX formulas written as loops.</summary>
public class NormOpTests
{
    [Test]
    public void TrainingModeOnInputStatisticsNormalizesWithBatchStatisticsAndReturnsTheRunningOnes()
    {
        // x: 2 x 3 x 2 x 2; per channel c the batch mean and biased variance over N, H and W.
        (double epsilon, double momentum) = (1e-3, 0.7);
        double[] x = Reference.RandomValues(new Random(5), 24);
        double[] scale = [0.5, 1.5, -2], bias = [0.1, -0.2, 0.3], mean = [0.2, -0.1, 0.4], variance = [1.2, 0.8, 2.5];
        Tensor[] results = Run((g, v) => g.Apply("BatchNormalization", v, new Dictionary<string, object> { ["epsilon"] = epsilon, ["momentum"] = momentum, ["training_mode"] = 1L }),
            new Feed(x, [2, 3, 2, 2]), new Feed(scale, [3]), new Feed(bias, [3]), new Feed(mean, [3]), new Feed(variance, [3]));
        var y = new double[24];
        var runningMean = new double[3];
        var runningVariance = new double[3];
        for (int c = 0; c < 3; c++)
        {
            double[] set = [.. Enumerable.Range(0, 2).SelectMany(n => Enumerable.Range(0, 4).Select(s => x[(n * 3 + c) * 4 + s]))];
            double batchMean = set.Average();
            double batchVariance = set.Select(v => (v - batchMean) * (v - batchMean)).Average();
            for (int n = 0; n < 2; n++)
            {
                for (int s = 0; s < 4; s++)
                {
                    int i = (n * 3 + c) * 4 + s;
                    y[i] = (x[i] - batchMean) / Math.Sqrt(batchVariance + epsilon) * scale[c] + bias[c];
                }
            }

            runningMean[c] = mean[c] * momentum + batchMean * (1 - momentum);
            runningVariance[c] = variance[c] * momentum + batchVariance * (1 - momentum);
        }

        Approx.AssertClose(results[0].ToArray<double>(), y, 1e-12, 1e-10);
        Approx.AssertClose(results[1].ToArray<double>(), runningMean);
        Approx.AssertClose(results[2].ToArray<double>(), runningVariance);
    }

    [Test]
    public void TrainingModeOnParameterStatisticsKeepsTheInPlaceKernel()
    {
        var graph = new Graph();
        Value x = graph.Input("x", DType.F32, Dim.Of(2), Dim.Of(3));
        Value scale = graph.Input("scale", DType.F32, Dim.Of(3)), bias = graph.Input("bias", DType.F32, Dim.Of(3));
        Value mean = graph.Parameter("mean", Tensor.Zeros([3], DType.F32).MoveToOuterScope());
        Value variance = graph.Parameter("var", Tensor.Ones([3], DType.F32).MoveToOuterScope());
        graph.Apply("BatchNormalization", [x, scale, bias, mean, variance], new Dictionary<string, object> { ["training_mode"] = 1L });
        Assert.That(graph.Nodes.Select(n => n.Op.Name), Is.EqualTo(new[] { "BatchNormalization" }));
    }
}

using Myelin.Graphs;
using Myelin.NN;
using Myelin.Tests.TestSupport;
using NUnit.Framework;

namespace Myelin.Tests.NN;

/// <summary>
/// Compares a layer with PyTorch on the same weights and input (tests/fixtures/make_layer_fixtures.py): the output and,
/// for the loss sum(y * r), the gradients of the input and every parameter.
/// </summary>
public class LayersFixtureTests
{
    [Test]
    public void Conv1dWithStrideAndPadding() => LayerHarness.CheckForwardAndGradients(new Conv1d(4, 6, 3, stride: 2, padding: 1), "conv1d");

    [Test]
    public void Conv2dWithGroupsAndPerAxisArguments() =>
        LayerHarness.CheckForwardAndGradients(new Conv2d(4, 6, (3, 2), stride: (2, 1), padding: (1, 0), groups: 2), "conv2d_groups");

    [Test]
    public void Conv2dSamePaddingWithDilationAndNoBias()
    {
        using var conv = new Conv2d(3, 4, 3, padding: "same", dilation: 2, bias: false);
        Assert.That(conv.Bias, Is.Null);
        LayerHarness.CheckForwardAndGradients(conv, "conv2d_same");
    }

    [Test]
    public void Conv1dSamePaddingWithAnEvenKernelPadsTheEndMore() => LayerHarness.CheckForwardAndGradients(new Conv1d(2, 3, 4, padding: "same"), "conv1d_same_even");

    [Test]
    public void Conv3d() => LayerHarness.CheckForwardAndGradients(new Conv3d(2, 3, 2, stride: (1, 2, 1), padding: 1), "conv3d");

    [Test]
    public void ConvTranspose2dWithEveryArgument()
    {
        using var deconv = new ConvTranspose2d(4, 6, (3, 2), stride: (2, 1), padding: (1, 0), outputPadding: (1, 0), groups: 2, dilation: (1, 2));
        Assert.That(deconv.Weight.Shape, Is.EqualTo(new Shape(4, 3, 3, 2)), "weight [in, out / groups, kH, kW] as PyTorch");
        LayerHarness.CheckForwardAndGradients(deconv, "conv_transpose2d");
    }

    [Test]
    public void ConvTranspose2dInitializesFromTheFanInOfItsWeightsSecondAxis()
    {
        // PyTorch: fan_in = weight.size(1) * kH * kW = 4 * 9 = 36, so both parameters lie in ±1/6; the Conv2d-style fan
        // of in_channels (16 * 9) would give ±1/12. With 576 weights the largest |w| comes close to the bound.
        using var deconv = new ConvTranspose2d(16, 4, 3, generator: new Generator(11));
        double bound = 1 / Math.Sqrt(36);
        float[] weights = deconv.Weight.ToArray<float>(), biases = deconv.Bias!.ToArray<float>();
        Assert.That(weights.Max(Math.Abs), Is.LessThanOrEqualTo(bound).And.GreaterThan(0.95 * bound));
        Assert.That(biases.Max(Math.Abs), Is.LessThanOrEqualTo(bound));
    }

    [Test]
    public void ConvTranspose2dRejectsBadArgumentsNamingThem()
    {
        Assert.That(() => new ConvTranspose2d(4, 6, 3, groups: 4), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("ConvTranspose2d: groups (4)"));
        Assert.That(() => new ConvTranspose2d(4, 6, 3, stride: 2, outputPadding: 2),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("ConvTranspose2d: output_padding 2 on spatial axis 0 must be smaller than the stride 2"));
        using var deconv = new ConvTranspose2d(4, 6, 3);
        var graph = new Graph();
        Assert.That(() => deconv.Forward(graph.Input("x", DType.F32, 1, 5, 8, 8)),
            Throws.InstanceOf<GraphValidationException>().With.Message.Contains("ConvTranspose2d: expects N x 4 x H x W but got 1x5x8x8"));
    }

    [Test]
    public void MaxPool1dCeilMode() => LayerHarness.CheckForwardAndGradients(new MaxPool1d(2, stride: 2, ceilMode: true), "maxpool1d_ceil");

    [Test]
    public void MaxPool1dPoolsAnUnbatchedInputAsPyTorch()
    {
        using Fixture fixture = LayerHarness.Load("layers_maxpool1d_ceil");
        using var pool = new MaxPool1d(2, stride: 2, ceilMode: true);
        using Tensor sample = fixture["x"].Select(0, 1).Contiguous();
        Approx.AssertClose(LayerHarness.RunForward(pool, sample), Reference.ToDouble(fixture["y"].Select(0, 1).Contiguous().ToArray<float>()), 1e-6, 1e-6);
    }

    [Test]
    public void MaxPool2dCeilModeWithPadding() => LayerHarness.CheckForwardAndGradients(new MaxPool2d(3, stride: 2, padding: 1, ceilMode: true), "maxpool2d_ceil");

    [Test]
    public void AvgPool1dCountsPaddingAsPyTorch() => LayerHarness.CheckForwardAndGradients(new AvgPool1d(4, stride: 3, padding: 2), "avgpool1d");

    [Test]
    public void AvgPool2dCeilMode() => LayerHarness.CheckForwardAndGradients(new AvgPool2d(3, stride: 2, padding: 1, ceilMode: true), "avgpool2d_ceil");

    [Test]
    public void AvgPool2dExcludingPadding() =>
        LayerHarness.CheckForwardAndGradients(new AvgPool2d((3, 2), stride: (2, 2), padding: (1, 1), countIncludePad: false), "avgpool2d_exclude_pad");

    [Test]
    public void AdaptiveAvgPool2dWithSizesThatDoNotDivide() => LayerHarness.CheckForwardAndGradients(new AdaptiveAvgPool2d((3, 4)), "adaptive_avgpool2d");

    [Test]
    public void AdaptiveAvgPool2dToALargerAxis() => LayerHarness.CheckForwardAndGradients(new AdaptiveAvgPool2d((5, 2)), "adaptive_avgpool2d_up");

    [Test]
    public void GlobalAvgPoolIsTheSpatialMean()
    {
        var random = new Random(4);
        double[] values = Reference.RandomValues(random, 2 * 3 * 4 * 5);
        using Tensor x = Tensor.FromArray(Reference.ToSingle(values), [2, 3, 4, 5]);
        using var pool = new GlobalAvgPool();
        (double[] expected, _) = Reference.Reduce(values, [2, 3, 4, 5], [2, 3], keepDims: true, v => v.Average());
        Approx.AssertClose(LayerHarness.RunForward(pool, x), expected, 1e-6, 1e-6);
    }

    [TestCase("batchnorm2d", 2, 3, 0.1, true)]
    [TestCase("batchnorm1d", 1, 5, 0.3, true)]
    [TestCase("batchnorm1d_ncl", 1, 4, 0.1, false)]
    public void BatchNormTrainingStepUpdatesRunningStatisticsAndEvalUsesThem(string name, int dims, long channels, double momentum, bool affine)
    {
        using BatchNormLayer bn = dims == 2 ? new BatchNorm2d(channels, momentum: momentum) : new BatchNorm1d(channels, momentum: momentum, affine: affine);
        LayerHarness.CheckForwardAndGradients(bn, name);
        using Fixture fixture = LayerHarness.Load($"layers_{name}");
        LayerHarness.AssertClose(bn.RunningMean, fixture["running_mean"], $"{name}: running_mean");
        LayerHarness.AssertClose(bn.RunningVar, fixture["running_var"], $"{name}: running_var");
        bn.Eval();
        Approx.AssertClose(LayerHarness.RunForward(bn, fixture["x_eval"]), Reference.ToDouble(fixture["y_eval"].ToArray<float>()), 1e-4, 1e-4);
    }

    [Test]
    public void LayerNormOverTwoTrailingAxes() => LayerHarness.CheckForwardAndGradients(new LayerNorm([4, 5]), "layernorm");

    [Test]
    public void GroupNorm() => LayerHarness.CheckForwardAndGradients(new GroupNorm(2, 6), "groupnorm");

    [Test]
    public void EmbeddingPaddingRowStartsAtZeroAndGetsNoGradient()
    {
        using var embedding = new Embedding(10, 4, paddingIdx: 2, generator: new Generator(5));
        float[] row = embedding.Weight.Select(0, 2).Contiguous().ToArray<float>();
        Assert.That(row, Is.All.EqualTo(0f), "the padding row starts at zero");
        LayerHarness.CheckForwardAndGradients(embedding, "embedding");
    }

    [Test]
    public void PReLUPerChannel() => LayerHarness.CheckForwardAndGradients(new PReLU(3), "prelu_channels");

    [Test]
    public void PReLUShared() => LayerHarness.CheckForwardAndGradients(new PReLU(), "prelu_shared");

    [Test]
    public void ResidualWithProjection() =>
        LayerHarness.CheckForwardAndGradients(new Residual(new Sequential(new Linear(4, 5), new ReLU(), new Linear(5, 6)), new Linear(4, 6)), "residual");

    [Test]
    public void SmallCnnMatchesPyTorchIncludingItsParameterCount()
    {
        using Sequential cnn = SmallCnn();
        using Fixture fixture = LayerHarness.Load("layers_cnn");
        Assert.That(cnn.ParameterCount, Is.EqualTo(fixture["parameter_count"].ToArray<long>()[0]));
        LayerHarness.CheckForwardAndGradients(cnn, "cnn");
    }

    /// <summary>The CNN of make_layer_fixtures.py.</summary>
    internal static Sequential SmallCnn() => new(new Conv2d(3, 8, 3, padding: 1), new BatchNorm2d(8), new ReLU(), new MaxPool2d(2),
        new Conv2d(8, 16, 3), new ReLU(), new AdaptiveAvgPool2d(1), new Flatten(), new Linear(16, 10));
}

using Myelin.Autodiff;
using Myelin.Execution;
using Myelin.Graphs;
using Myelin.NN;
using Myelin.Tests.TestSupport;
using NUnit.Framework;

namespace Myelin.Tests.NN;

/// <summary>
/// Compares a layer with PyTorch on the same weights and input (tests/fixtures/make_layer_fixtures.py): the output and,
/// for the loss sum(y * r), the gradients of the input and every parameter.
/// </summary>
internal static class LayersHarness
{
    public const double Tolerance = 1e-4;

    public static Fixture Load(string name) => Fixture.Load($"nn/layers_{name}.myfx");

    /// <summary>Copies the fixture's "p.&lt;path&gt;" and "b.&lt;path&gt;" tensors into the module's parameters and buffers.</summary>
    public static void LoadState(Module module, Fixture fixture)
    {
        foreach ((string path, Tensor tensor) in module.NamedParameters()) fixture["p." + path].CopyTo(tensor);
        foreach ((string path, Tensor tensor) in module.NamedBuffers()) fixture["b." + path].CopyTo(tensor);
    }

    public static void AssertClose(Tensor actual, Tensor expected, string what, double tolerance = Tolerance)
    {
        Assert.That(actual.Shape, Is.EqualTo(expected.Shape), $"{what}: shape");
        double[] want = expected.DType == DType.F64 ? expected.ToArray<double>() : Reference.ToDouble(expected.ToArray<float>());
        try
        {
            Approx.AssertClose(actual.ToArray<float>(), want, tolerance, tolerance);
        }
        catch (AssertionException e)
        {
            Assert.Fail($"{what}: {e.Message}");
        }
    }

    /// <summary>Builds y = layer(x) and the gradients of sum(y * r), runs them, and checks all against the fixture.</summary>
    public static void CheckForwardAndGradients(Layer layer, string name, double tolerance = Tolerance)
    {
        using Fixture fixture = Load(name);
        LoadState(layer, fixture);
        Tensor x = fixture["x"];
        var graph = new Graph();
        Value input = graph.Input("x", x.DType, x.Shape.Select(d => Dim.Of(d)).ToArray());
        Value y = layer.Forward(input);
        Value loss = (y * graph.Constant(fixture["r"])).Sum();
        bool floatInput = x.DType.IsFloatingPoint();
        var parameters = layer.NamedParameters().ToList();
        List<Value> wrt = [.. layer.ParametersIn(graph)];
        if (floatInput) wrt.Add(input);
        Value?[] gradients = Gradients.Of(loss, wrt);
        Assert.That(gradients, Has.None.Null, "every parameter and the input get a gradient");
        graph.MarkOutput([y, .. gradients!]);
        using CompiledGraph compiled = CompiledGraph.Compile(graph);
        IReadOnlyList<Tensor> outputs = compiled.Run(new Dictionary<string, Tensor> { ["x"] = x });
        AssertClose(outputs[0], fixture["y"], $"{name}: y", tolerance);
        for (int i = 0; i < parameters.Count; i++) AssertClose(outputs[1 + i], fixture["grad." + parameters[i].Path], $"{name}: grad of {parameters[i].Path}", tolerance);
        if (floatInput) AssertClose(outputs[^1], fixture["grad.x"], $"{name}: grad of x", tolerance);
    }

    /// <summary>Runs the layer's eval-mode output for <paramref name="x"/>.</summary>
    public static float[] RunForward(Layer layer, Tensor x)
    {
        var graph = new Graph();
        Value y = layer.Forward(graph.Input("x", x.DType, x.Shape.Select(d => Dim.Of(d)).ToArray()));
        graph.MarkOutput(y);
        using CompiledGraph compiled = CompiledGraph.Compile(graph);
        return compiled.Run(new Dictionary<string, Tensor> { ["x"] = x })[0].ToArray<float>();
    }
}

public class LayersFixtureTests
{
    [Test]
    public void Conv1dWithStrideAndPadding() => LayersHarness.CheckForwardAndGradients(new Conv1d(4, 6, 3, stride: 2, padding: 1), "conv1d");

    [Test]
    public void Conv2dWithGroupsAndPerAxisArguments() =>
        LayersHarness.CheckForwardAndGradients(new Conv2d(4, 6, (3, 2), stride: (2, 1), padding: (1, 0), groups: 2), "conv2d_groups");

    [Test]
    public void Conv2dSamePaddingWithDilationAndNoBias()
    {
        using var conv = new Conv2d(3, 4, 3, padding: "same", dilation: 2, bias: false);
        Assert.That(conv.Bias, Is.Null);
        LayersHarness.CheckForwardAndGradients(conv, "conv2d_same");
    }

    [Test]
    public void Conv1dSamePaddingWithAnEvenKernelPadsTheEndMore() => LayersHarness.CheckForwardAndGradients(new Conv1d(2, 3, 4, padding: "same"), "conv1d_same_even");

    [Test]
    public void Conv3d() => LayersHarness.CheckForwardAndGradients(new Conv3d(2, 3, 2, stride: (1, 2, 1), padding: 1), "conv3d");

    [Test]
    public void MaxPool1dCeilMode() => LayersHarness.CheckForwardAndGradients(new MaxPool1d(2, stride: 2, ceilMode: true), "maxpool1d_ceil");

    [Test]
    public void MaxPool1dPoolsAnUnbatchedInputAsPyTorch()
    {
        using Fixture fixture = LayersHarness.Load("maxpool1d_ceil");
        using var pool = new MaxPool1d(2, stride: 2, ceilMode: true);
        using Tensor sample = fixture["x"].Select(0, 1).Contiguous();
        Approx.AssertClose(LayersHarness.RunForward(pool, sample), Reference.ToDouble(fixture["y"].Select(0, 1).Contiguous().ToArray<float>()), 1e-6, 1e-6);
    }

    [Test]
    public void MaxPool2dCeilModeWithPadding() => LayersHarness.CheckForwardAndGradients(new MaxPool2d(3, stride: 2, padding: 1, ceilMode: true), "maxpool2d_ceil");

    [Test]
    public void AvgPool1dCountsPaddingAsPyTorch() => LayersHarness.CheckForwardAndGradients(new AvgPool1d(4, stride: 3, padding: 2), "avgpool1d");

    [Test]
    public void AvgPool2dCeilMode() => LayersHarness.CheckForwardAndGradients(new AvgPool2d(3, stride: 2, padding: 1, ceilMode: true), "avgpool2d_ceil");

    [Test]
    public void AvgPool2dExcludingPadding() =>
        LayersHarness.CheckForwardAndGradients(new AvgPool2d((3, 2), stride: (2, 2), padding: (1, 1), countIncludePad: false), "avgpool2d_exclude_pad");

    [Test]
    public void AdaptiveAvgPool2dWithSizesThatDoNotDivide() => LayersHarness.CheckForwardAndGradients(new AdaptiveAvgPool2d((3, 4)), "adaptive_avgpool2d");

    [Test]
    public void AdaptiveAvgPool2dToALargerAxis() => LayersHarness.CheckForwardAndGradients(new AdaptiveAvgPool2d((5, 2)), "adaptive_avgpool2d_up");

    [Test]
    public void GlobalAvgPoolIsTheSpatialMean()
    {
        var random = new Random(4);
        double[] values = Reference.RandomValues(random, 2 * 3 * 4 * 5);
        using Tensor x = Tensor.FromArray(Reference.ToSingle(values), [2, 3, 4, 5]);
        using var pool = new GlobalAvgPool();
        (double[] expected, _) = Reference.Reduce(values, [2, 3, 4, 5], [2, 3], keepDims: true, v => v.Average());
        Approx.AssertClose(LayersHarness.RunForward(pool, x), expected, 1e-6, 1e-6);
    }

    [TestCase("batchnorm2d", 2, 3, 0.1, true)]
    [TestCase("batchnorm1d", 1, 5, 0.3, true)]
    [TestCase("batchnorm1d_ncl", 1, 4, 0.1, false)]
    public void BatchNormTrainingStepUpdatesRunningStatisticsAndEvalUsesThem(string name, int dims, long channels, double momentum, bool affine)
    {
        using BatchNormLayer bn = dims == 2 ? new BatchNorm2d(channels, momentum: momentum) : new BatchNorm1d(channels, momentum: momentum, affine: affine);
        LayersHarness.CheckForwardAndGradients(bn, name);
        using Fixture fixture = LayersHarness.Load(name);
        LayersHarness.AssertClose(bn.RunningMean, fixture["running_mean"], $"{name}: running_mean");
        LayersHarness.AssertClose(bn.RunningVar, fixture["running_var"], $"{name}: running_var");
        bn.Eval();
        Approx.AssertClose(LayersHarness.RunForward(bn, fixture["x_eval"]), Reference.ToDouble(fixture["y_eval"].ToArray<float>()), 1e-4, 1e-4);
    }

    [Test]
    public void LayerNormOverTwoTrailingAxes() => LayersHarness.CheckForwardAndGradients(new LayerNorm([4, 5]), "layernorm");

    [Test]
    public void GroupNorm() => LayersHarness.CheckForwardAndGradients(new GroupNorm(2, 6), "groupnorm");

    [Test]
    public void EmbeddingPaddingRowStartsAtZeroAndGetsNoGradient()
    {
        using var embedding = new Embedding(10, 4, paddingIdx: 2, generator: new Generator(5));
        float[] row = embedding.Weight.Select(0, 2).Contiguous().ToArray<float>();
        Assert.That(row, Is.All.EqualTo(0f), "the padding row starts at zero");
        LayersHarness.CheckForwardAndGradients(embedding, "embedding");
    }

    [Test]
    public void PReLUPerChannel() => LayersHarness.CheckForwardAndGradients(new PReLU(3), "prelu_channels");

    [Test]
    public void PReLUShared() => LayersHarness.CheckForwardAndGradients(new PReLU(), "prelu_shared");

    [Test]
    public void ResidualWithProjection() =>
        LayersHarness.CheckForwardAndGradients(new Residual(new Sequential(new Linear(4, 5), new ReLU(), new Linear(5, 6)), new Linear(4, 6)), "residual");

    [Test]
    public void SmallCnnMatchesPyTorchIncludingItsParameterCount()
    {
        using Sequential cnn = SmallCnn();
        using Fixture fixture = LayersHarness.Load("cnn");
        Assert.That(cnn.ParameterCount, Is.EqualTo(fixture["parameter_count"].ToArray<long>()[0]));
        LayersHarness.CheckForwardAndGradients(cnn, "cnn");
    }

    /// <summary>The CNN of make_layer_fixtures.py.</summary>
    internal static Sequential SmallCnn() => new(new Conv2d(3, 8, 3, padding: 1), new BatchNorm2d(8), new ReLU(), new MaxPool2d(2),
        new Conv2d(8, 16, 3), new ReLU(), new AdaptiveAvgPool2d(1), new Flatten(), new Linear(16, 10));
}

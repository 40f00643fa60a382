using Myelin.Execution;
using Myelin.Graphs;
using Myelin.NN;
using Myelin.Tests.TestSupport;
using NUnit.Framework;

namespace Myelin.Tests.NN;

/// <summary>Bad configuration throws in the constructor and bad input at Forward, naming the layer; and the shape-only layers.</summary>
public class LayerValidationTests
{
    private static void AssertConfigurationError(Action create, params string[] fragments)
    {
        var e = Assert.Catch<ArgumentException>(() => create());
        foreach (string fragment in fragments) Assert.That(e!.Message, Does.Contain(fragment));
    }

    [Test]
    public void BadConfigurationThrowsNamingTheLayerAndArgument()
    {
        AssertConfigurationError(() => _ = new Conv2d(0, 4, 3), "Conv2d", "in_channels (0)");
        AssertConfigurationError(() => _ = new Conv2d(4, 6, 3, groups: 4), "Conv2d", "groups (4)");
        AssertConfigurationError(() => _ = new Conv1d(2, 2, 0), "Conv1d", "kernel_size");
        AssertConfigurationError(() => _ = new Conv2d(2, 2, new long[] { 3, 3, 3 }), "Conv2d", "kernel_size has 3 entries");
        AssertConfigurationError(() => _ = new Conv2d(2, 2, 3, stride: 2, padding: "same"), "Conv2d", "\"same\" needs stride 1");
        AssertConfigurationError(() => _ = new Conv3d(2, 2, 3, padding: -1), "Conv3d", "padding");
        AssertConfigurationError(() => _ = new MaxPool2d(2, padding: 2), "MaxPool2d", "half the kernel");
        AssertConfigurationError(() => _ = new AvgPool1d(3, stride: 0), "AvgPool1d", "stride");
        AssertConfigurationError(() => _ = new AdaptiveAvgPool2d(0), "AdaptiveAvgPool2d", "output_size");
        AssertConfigurationError(() => _ = new BatchNorm2d(0), "BatchNorm2d", "num_features");
        AssertConfigurationError(() => _ = new BatchNorm1d(3, momentum: 1.5), "BatchNorm1d", "momentum");
        AssertConfigurationError(() => _ = new LayerNorm([4, 0]), "LayerNorm", "normalized_shape");
        AssertConfigurationError(() => _ = new GroupNorm(4, 6), "GroupNorm", "num_groups (4)");
        AssertConfigurationError(() => _ = new Dropout(1.0), "Dropout", "[0, 1)");
        AssertConfigurationError(() => _ = new Dropout(-0.1), "Dropout", "-0.1");
        AssertConfigurationError(() => _ = new Embedding(5, 0), "Embedding", "embedding_dim (0)");
        AssertConfigurationError(() => _ = new Embedding(5, 3, paddingIdx: 5), "Embedding", "padding_idx 5");
        AssertConfigurationError(() => _ = new Flatten(2, 1), "Flatten", "start_dim");
        AssertConfigurationError(() => _ = new Reshape(2, -1, -1), "Reshape");
    }

    private static string ForwardError(Layer layer, DType dtype, params Dim[] dims)
    {
        using var model = new Sequential(new Identity(), layer);
        return Assert.Throws<GraphValidationException>(() => model.Forward(new Graph().Input("x", dtype, dims)))!.Message;
    }

    [Test]
    public void BadInputThrowsAtForwardNamingTheLayer()
    {
        Assert.That(ForwardError(new Conv2d(3, 4, 3), DType.F32, "N", 4, 8, 8), Does.Contain("Conv2d '1'").And.Contain("N x 3"));
        Assert.That(ForwardError(new Conv2d(3, 4, 3), DType.F32, "N", 3, 8), Does.Contain("Conv2d '1'"));
        Assert.That(ForwardError(new Conv2d(3, 4, 5), DType.F32, 1, 3, 4, 4), Does.Contain("Conv2d '1'").And.Contain("kernel span"));
        Assert.That(ForwardError(new MaxPool2d(2), DType.F32, 8), Does.Contain("MaxPool2d '1'"));
        Assert.That(ForwardError(new AdaptiveAvgPool2d(2), DType.F32, 1, 3, 5), Does.Contain("AdaptiveAvgPool2d '1'"));
        Assert.That(ForwardError(new BatchNorm2d(3), DType.F32, "N", 4, 5, 5), Does.Contain("BatchNorm2d '1'").And.Contain("N x 3"));
        Assert.That(ForwardError(new BatchNorm1d(3), DType.F32, 1, 3), Does.Contain("BatchNorm1d '1'").And.Contain("more than one value"));
        Assert.That(ForwardError(new LayerNorm(6), DType.F32, "N", 5), Does.Contain("LayerNorm '1'").And.Contain("[6]"));
        Assert.That(ForwardError(new GroupNorm(2, 4), DType.F32, "N", 6, 3), Does.Contain("GroupNorm '1'"));
        Assert.That(ForwardError(new Embedding(5, 3), DType.F32, "N", 4), Does.Contain("Embedding '1'").And.Contain("indices"));
        Assert.That(ForwardError(new ReLU(), DType.I64, 4), Does.Contain("ReLU '1'"));
        Assert.That(ForwardError(new Flatten(3), DType.F32, 2, 3), Does.Contain("Flatten '1'"));
        Assert.That(ForwardError(new Residual(new Conv2d(3, 4, 1)), DType.F32, "N", 3, 4, 4), Does.Contain("Residual '1'").And.Contain("skip"));
    }

    [Test]
    public void ConvOutputSizesFollowPyTorchsFormula()
    {
        var graph = new Graph();
        Value x = graph.Input("x", DType.F32, "N", 3, 11, 9);
        using var conv = new Conv2d(3, 6, (3, 2), stride: (2, 3), padding: (1, 2), dilation: (2, 1));
        // floor((in + 2 pad - dilation (k - 1) - 1) / stride) + 1: (11 + 2 - 4 - 1) / 2 + 1 = 5, (9 + 4 - 1 - 1) / 3 + 1 = 4.
        Assert.That(conv.Forward(x).Type.ShapeText, Is.EqualTo(new TensorType(DType.F32, "N", 6, 5, 4).ShapeText));
        using var same = new Conv2d(3, 6, 4, padding: "same", dilation: 3);
        Assert.That(same.Forward(new Graph().Input("x", DType.F32, "N", 3, 11, 9)).Type.Dims.ToArray().Skip(2), Is.EqualTo(new Dim[] { 11, 9 }));
    }

    [Test]
    public void AdaptiveWindowsCoverTheAxisAsPyTorch()
    {
        // 7 -> 3: [0, 3), [2, 5), [4, 7); 3 -> 5: [0,1), [0,2), [1,2), [1,3), [2,3).
        Assert.That(Enumerable.Range(0, 3).Select(i => AdaptiveAvgPool2d.Window(i, 7, 3)), Is.EqualTo(new[] { (0L, 3L), (2L, 3L), (4L, 3L) }));
        Assert.That(Enumerable.Range(0, 5).Select(i => AdaptiveAvgPool2d.Window(i, 3, 5)), Is.EqualTo(new[] { (0L, 1L), (0L, 2L), (1L, 1L), (1L, 2L), (2L, 1L) }));
    }

    [Test]
    public void FlattenAndReshapeMoveNoElements()
    {
        var values = Enumerable.Range(0, 2 * 3 * 4 * 5).Select(i => (float)i).ToArray();
        using Tensor x = Tensor.FromArray(values, [2, 3, 4, 5]);
        var graph = new Graph();
        Value input = graph.Input("x", DType.F32, "N", 3, 4, 5);
        using var flatten = new Flatten();
        using var middle = new Flatten(1, 2);
        using var reshape = new Reshape(0, 5, -1);
        Value a = flatten.Forward(input), b = middle.Forward(input), c = reshape.Forward(input);
        Assert.That(a.Type.ShapeText, Is.EqualTo(new TensorType(DType.F32, "N", 60).ShapeText));
        Assert.That(b.Type.ShapeText, Is.EqualTo(new TensorType(DType.F32, "N", 12, 5).ShapeText));
        Assert.That(c.Type.ShapeText, Is.EqualTo(new TensorType(DType.F32, "N", 5, 12).ShapeText));
        graph.MarkOutput(a, b, c);
        using CompiledGraph compiled = CompiledGraph.Compile(graph);
        IReadOnlyList<Tensor> outputs = compiled.Run(new Dictionary<string, Tensor> { ["x"] = x });
        Assert.That(outputs[0].Shape.ToArray(), Is.EqualTo(new long[] { 2, 60 }));
        Assert.That(outputs[2].Shape.ToArray(), Is.EqualTo(new long[] { 2, 5, 12 }));
        foreach (Tensor output in outputs) Assert.That(output.Contiguous().ToArray<float>(), Is.EqualTo(values));
    }

    [Test]
    public void DropoutZeroesAboutPAndScalesTheRestInTrainingAndIsTheIdentityInEval()
    {
        const double p = 0.3;
        using var dropout = new Dropout(p, new Generator(3));
        using Tensor x = Tensor.Full([200, 100], 2.0);
        var graph = new Graph();
        Value input = graph.Input("x", DType.F32, 200, 100);
        Value y = dropout.Forward(input);
        Value dx = Myelin.Autodiff.Gradients.Of(y.Sum(), [input])[0]!;
        graph.MarkOutput(y, dx);
        using CompiledGraph compiled = CompiledGraph.Compile(graph);
        IReadOnlyList<Tensor> outputs = compiled.Run(new Dictionary<string, Tensor> { ["x"] = x });
        float[] first = outputs[0].ToArray<float>(), gradient = outputs[1].ToArray<float>();
        double kept = 2 / (1 - p);
        Assert.That(first, Has.All.Matches<float>(v => v == 0 || Math.Abs(v - kept) < 1e-5), "each element is dropped or scaled by 1 / (1 - p)");
        double dropped = first.Count(v => v == 0) / (double)first.Length;
        Assert.That(dropped, Is.EqualTo(p).Within(5 * Math.Sqrt(p * (1 - p) / first.Length)), "fraction dropped (five standard errors)");
        for (int i = 0; i < first.Length; i++) Assert.That(gradient[i], Is.EqualTo(first[i] / 2).Within(1e-5), "the gradient is mask / (1 - p)");
        float[] second = compiled.Run(new Dictionary<string, Tensor> { ["x"] = x })[0].ToArray<float>();
        Assert.That(second, Is.Not.EqualTo(first), "a new mask each run");

        dropout.Eval();
        var evalGraph = new Graph();
        Value evalInput = evalGraph.Input("x", DType.F32, 200, 100);
        Assert.That(dropout.Forward(evalInput), Is.SameAs(evalInput));
    }

    [Test]
    public void ConvDefaultInitIsPyTorchsFanInBound()
    {
        using var conv = new Conv2d(4, 8, 3, groups: 2, generator: new Generator(1));
        double bound = 1 / Math.Sqrt(2 * 9); // fan-in = in / groups * k * k
        float[] weight = conv.Weight.ToArray<float>(), bias = conv.Bias!.ToArray<float>();
        Assert.That(conv.Weight.Shape.ToArray(), Is.EqualTo(new long[] { 8, 2, 3, 3 }));
        Assert.That(weight.Concat(bias).Max(Math.Abs), Is.LessThanOrEqualTo(bound));
        Assert.That(weight.Max(Math.Abs), Is.GreaterThan(0.8 * bound), "spread over the whole range");
    }

    [Test]
    public void EmbeddingInitIsStandardNormal()
    {
        using var embedding = new Embedding(500, 200, generator: new Generator(2));
        double[] w = Reference.ToDouble(embedding.Weight.ToArray<float>());
        double mean = w.Average(), std = Math.Sqrt(w.Sum(v => (v - mean) * (v - mean)) / w.Length);
        Assert.That(mean, Is.EqualTo(0).Within(5 / Math.Sqrt(w.Length)));
        Assert.That(std, Is.EqualTo(1).Within(5 / Math.Sqrt(2.0 * w.Length)));
    }
}

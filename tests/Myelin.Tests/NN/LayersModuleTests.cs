using Myelin.Execution;
using Myelin.Graphs;
using Myelin.NN;
using Myelin.Tests.TestSupport;
using NUnit.Framework;

namespace Myelin.Tests.NN;

/// <summary>Module and Sequential basics as the layers use them: parameter paths, counts, modes, summary, names.</summary>
public class LayersModuleTests
{
    [Test]
    public void ParameterAndBufferPathsFollowPyTorch()
    {
        using Sequential cnn = LayersFixtureTests.SmallCnn();
        Assert.That(cnn.NamedParameters().Select(p => p.Path), Is.EqualTo(new[]
        {
            "0.weight", "0.bias", "1.weight", "1.bias", "4.weight", "4.bias", "8.weight", "8.bias",
        }));
        Assert.That(cnn.NamedBuffers().Select(b => b.Path), Is.EqualTo(new[] { "1.running_mean", "1.running_var" }));
        using var residual = new Residual(new Sequential(new Linear(4, 5), new ReLU()), new Linear(4, 5));
        Assert.That(residual.NamedParameters().Select(p => p.Path), Is.EqualTo(new[] { "body.0.weight", "body.0.bias", "shortcut.weight", "shortcut.bias" }));
    }

    [Test]
    public void ParameterCountsMatchPyTorch()
    {
        // PyTorch: sum(p.numel() for p in m.parameters()).
        using var conv = new Conv2d(3, 8, 3);
        Assert.That(conv.ParameterCount, Is.EqualTo(224));
        using var grouped = new Conv1d(4, 6, 5, groups: 2, bias: false);
        Assert.That(grouped.ParameterCount, Is.EqualTo(60));
        using var bn = new BatchNorm2d(8);
        Assert.That(bn.ParameterCount, Is.EqualTo(16), "buffers are not parameters");
        using var ln = new LayerNorm([4, 5], bias: false);
        Assert.That(ln.ParameterCount, Is.EqualTo(20));
        using var embedding = new Embedding(10, 4, paddingIdx: 0);
        Assert.That(embedding.ParameterCount, Is.EqualTo(40));
        using var prelu = new PReLU(3);
        Assert.That(prelu.ParameterCount, Is.EqualTo(3));
        Assert.That(prelu.Weight.ToArray<float>(), Is.All.EqualTo(0.25f), "PyTorch's initial slope");
    }

    [Test]
    public void TrainAndEvalReachNestedLayers()
    {
        using var model = new Sequential(new Residual(new Sequential(new Linear(3, 3), new Dropout(0.5))), new BatchNorm1d(3));
        Assert.That(model.Modules().All(m => m.IsTraining));
        model.Eval();
        Assert.That(model.Modules().All(m => !m.IsTraining));
        var graph = new Graph();
        Value x = graph.Input("x", DType.F32, "N", 3);
        model.Forward(x);
        Assert.That(graph.Nodes.Select(n => n.Op.Name), Has.None.EqualTo("Dropout").And.None.EqualTo("Assign"), "eval graphs neither drop nor update statistics");
        model.Train();
        var training = new Graph();
        model.Forward(training.Input("x", DType.F32, "N", 3));
        Assert.That(training.Nodes.Select(n => n.Op.Name), Has.Some.EqualTo("Dropout").And.Some.EqualTo("Assign"));
    }

    [Test]
    public void SummaryOfASmallCnn()
    {
        using var cnn = new Sequential(new Conv2d(1, 4, 3, padding: 1), new ReLU(), new MaxPool2d(2), new Flatten(), new Linear(64, 10));
        string expected = string.Join(Environment.NewLine,
            "Layer  Type       Output shape  Params",
            "0      Conv2d     Nx4x8x8           40",
            "1      ReLU       Nx4x8x8            0",
            "2      MaxPool2d  Nx4x4x4            0",
            "3      Flatten    Nx64               0",
            "4      Linear     Nx10             650",
            "Total parameters: 690");
        Assert.That(cnn.Summary(DType.F32, "N", 1, 8, 8), Is.EqualTo(expected));
    }

    [Test]
    public void SummaryListsAParentBeforeItsChildren()
    {
        using var model = new Sequential(new Linear(3, 4), new Sequential(new ReLU(), new Linear(4, 2)), new Tanh());
        string expected = string.Join(Environment.NewLine,
            "Layer  Type        Output shape  Params",
            "0      Linear      Nx4               16",
            "1      Sequential  Nx2                0",
            "1.0    ReLU        Nx4                0",
            "1.1    Linear      Nx2               10",
            "2      Tanh        Nx2                0",
            "Total parameters: 26");
        Assert.That(model.Summary(DType.F32, "N", 3), Is.EqualTo(expected));
    }

    [Test]
    public void SummaryOfALeafLayerKeepsItsRootRow()
    {
        using var linear = new Linear(3, 4);
        string expected = string.Join(Environment.NewLine,
            "Layer   Type    Output shape  Params",
            "(root)  Linear  Nx4               16",
            "Total parameters: 16");
        Assert.That(linear.Summary(DType.F32, "N", 3), Is.EqualTo(expected));
    }

    [Test]
    public void TwoRootModulesInOneGraphGetDistinctParameterNames()
    {
        using var first = new Linear(3, 4, generator: new Generator(1));
        using var second = new Linear(4, 2, generator: new Generator(2));
        var graph = new Graph();
        Value x = graph.Input("x", DType.F32, 5, 3);
        Value y = second.Forward(first.Forward(x));
        string[] names = graph.Parameters.Select(p => p.Name).ToArray();
        Assert.That(names, Is.Unique);
        Assert.That(names[..2], Is.EqualTo(new[] { "weight", "bias" }), "the first module keeps its paths");
        Assert.That(names[2], Does.StartWith("weight_"));
        Assert.That(names[3], Does.StartWith("bias_"));
        Assert.That(second.ParametersIn(graph).Select(v => v.Name), Is.EqualTo(names[2..]), "the renamed values are reused");

        // Each module computes with its own weights: y = (x W1^T + b1) W2^T + b2 in plain C#.
        double[] input = Reference.RandomValues(new Random(3), 15);
        double[] Affine(double[] v, long rows, Linear l) => Reference.Elementwise(
            Reference.MatMul(v, [rows, l.InFeatures], false, Reference.ToDouble(l.Weight.ToArray<float>()), [l.OutFeatures, l.InFeatures], true), [rows, l.OutFeatures],
            Reference.ToDouble(l.Bias!.ToArray<float>()), [l.OutFeatures], (a, b) => a + b);
        graph.MarkOutput(y);
        using CompiledGraph compiled = CompiledGraph.Compile(graph);
        using Tensor feed = Tensor.FromArray(Reference.ToSingle(input), [5, 3]);
        Approx.AssertClose(compiled.Run(new Dictionary<string, Tensor> { ["x"] = feed })[0].ToArray<float>(), Affine(Affine(input, 5, first), 5, second), 1e-5, 1e-5);
    }

    [Test]
    public void NameClashesThrow()
    {
        using var model = new Sequential(new ReLU());
        var e = Assert.Throws<ArgumentException>(() => model.Add(new Tanh(), "0"));
        Assert.That(e!.Message, Does.Contain("'0' is already taken"));
        using var inner = new ReLU();
        using var owner = new Sequential(inner);
        Assert.Throws<ArgumentException>(() => new Sequential(inner), "a layer has one parent");
    }

    [Test]
    public void ALayerAppliedTwiceSharesItsWeights()
    {
        using var conv = new Conv2d(2, 2, 1);
        var graph = new Graph();
        Value x = graph.Input("x", DType.F32, 1, 2, 3, 3);
        conv.Forward(conv.Forward(x));
        Assert.That(graph.Parameters.Select(p => p.Name), Is.EqualTo(new[] { "weight", "bias" }));
    }
}

/// <summary>The layers inside a compiled training step: fusion and planning keep batch-norm updates and dropout.</summary>
public class LayersTrainingTests
{
    [Test]
    public void ACnnWithBatchNormAndDropoutTrainsAndUpdatesItsRunningStatistics()
    {
        var generator = new Generator(8);
        using var model = new Sequential(new Conv2d(2, 4, 3, padding: 1, generator: generator), new BatchNorm2d(4), new ReLU(), new MaxPool2d(2),
            new Flatten(), new Dropout(0.2, generator), new Linear(16, 3, generator: generator));
        var graph = new Graph();
        Value x = graph.Input("x", DType.F32, "N", 2, 4, 4);
        Value target = graph.Input("target", DType.F32, "N", 3);
        Value loss = graph.Apply("MeanSquaredError", [model.Forward(x), target])[0];
        using Myelin.Execution.CompiledGraph step = Myelin.Optim.TrainingStep.Compile(loss, model.ParametersIn(graph), new Myelin.Optim.Sgd(learningRate: 0.05));
        using Tensor input = Tensor.RandN([8, 2, 4, 4], generator: new Generator(9)).MoveToOuterScope();
        using Tensor goal = Tensor.Rand([8, 3], generator: new Generator(10)).MoveToOuterScope();
        var feeds = new Dictionary<string, Tensor> { ["x"] = input, ["target"] = goal };
        var bn = (BatchNorm2d)model.Layers[1];
        float first = step.Run(feeds)[0].Item<float>();
        float[] meanAfterOne = bn.RunningMean.ToArray<float>();
        Assert.That(meanAfterOne, Has.Some.Not.EqualTo(0f), "the running mean moves after a step");
        float last = first;
        for (int i = 0; i < 80; i++) last = step.Run(feeds)[0].Item<float>();
        Assert.That(last, Is.LessThan(first * 0.7f));
        Assert.That(bn.RunningMean.ToArray<float>(), Is.Not.EqualTo(meanAfterOne), "and keeps moving");
    }
}

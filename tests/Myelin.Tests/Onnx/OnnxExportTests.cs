using Myelin.Execution;
using Myelin.Graphs;
using Myelin.NN;
using Myelin.Onnx;
using Myelin.Training;
using NUnit.Framework;
using Onnx;

namespace Myelin.Tests.Onnx;

public class OnnxExportTests
{
    private const double Tolerance = 1e-5;

    /// <summary>
    /// Exports <paramref name="outputs"/> of <paramref name="graph"/>, then runs the graph itself (compiling rewrites
    /// it, so after the export) on <paramref name="feeds"/>, and the re-imported model on those it reads; the outputs must agree.
    /// Returns the exported model for further checks.
    /// </summary>
    private static ModelProto AssertRoundTrip(Graph graph, Value[] outputs, Dictionary<string, Tensor> feeds, string[]? outputNames = null)
    {
        byte[] bytes = OnnxExporter.ToBytes(graph, outputs, outputNames);
        graph.ClearOutputs();
        graph.MarkOutput(outputs);
        using var compiled = CompiledGraph.Compile(graph);
        float[][] expected = compiled.Run(feeds).Select(t => t.ToArray<float>()).ToArray();
        using var session = InferenceSession.Load(bytes);
        // The model reads only the inputs its outputs need (the graph may have more, such as a loss's target).
        IReadOnlyList<Tensor> actual = session.Run(session.Inputs.ToDictionary(i => i.Name, i => feeds[i.Name]));
        Assert.That(actual, Has.Count.EqualTo(expected.Length));
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.That(actual[i].ToArray<float>(), Is.EqualTo(expected[i]).Within(Tolerance), $"output {i}");
        }

        return ModelProto.Parser.ParseFrom(bytes);
    }

    /// <summary>The model of <paramref name="network"/> fed <paramref name="input"/> against the network's own eval-mode graph.</summary>
    private static ModelProto AssertLayerRoundTrip(Layer network, Tensor input, params Dim[] inputDims)
    {
        byte[] bytes = OnnxExporter.ToBytes(network, input.DType, inputDims);
        var graph = new Graph();
        network.Eval();
        graph.MarkOutput(network.Forward(graph.Input("x", input.DType, inputDims)));
        network.Train();
        using var compiled = CompiledGraph.Compile(graph);
        float[] expected = compiled.Run(new Dictionary<string, Tensor> { ["x"] = input })[0].ToArray<float>();
        using var session = InferenceSession.Load(bytes);
        Assert.That(session.Inputs.Select(i => i.Name), Is.EqualTo(new[] { OnnxExporter.LayerInputName }));
        Assert.That(session.Outputs.Select(o => o.Name), Is.EqualTo(new[] { OnnxExporter.LayerOutputName }));
        float[] actual = session.Run(new Dictionary<string, Tensor> { [OnnxExporter.LayerInputName] = input })[0].ToArray<float>();
        Assert.That(actual, Is.EqualTo(expected).Within(Tolerance));
        return ModelProto.Parser.ParseFrom(bytes);
    }

    private static Tensor Random(Generator generator, params long[] shape) => Tensor.RandN(new Shape(shape), generator: generator);

    private static string[] OpTypes(ModelProto model) => model.Graph.Node.Select(n => n.OpType).ToArray();

    [Test]
    public void Mlp_MatchesAPlainReferenceAndTheGraph_WithDropoutLeftOut()
    {
        using var scope = new TensorScope();
        var generator = new Generator(3);
        using var network = new Sequential(new Linear(4, 6, generator: generator), new ReLU(), new Dropout(0.5, generator), new Linear(6, 3, generator: generator));
        using Tensor x = Random(generator, 5, 4);
        ModelProto model = AssertLayerRoundTrip(network, x, "N", 4);

        // Independent reference: relu(x W1^T + b1) W2^T + b2 from the weights themselves.
        var weights = network.NamedParameters().ToDictionary(p => p.Path, p => p.Tensor.ToArray<float>());
        float[] input = x.ToArray<float>();
        var reference = new float[5 * 3];
        for (int n = 0; n < 5; n++)
        {
            var hidden = new double[6];
            for (int j = 0; j < 6; j++)
            {
                double sum = weights["0.bias"][j];
                for (int k = 0; k < 4; k++) sum += input[n * 4 + k] * weights["0.weight"][j * 4 + k];
                hidden[j] = Math.Max(sum, 0);
            }

            for (int j = 0; j < 3; j++)
            {
                double sum = weights["3.bias"][j];
                for (int k = 0; k < 6; k++) sum += hidden[k] * weights["3.weight"][j * 6 + k];
                reference[n * 3 + j] = (float)sum;
            }
        }

        using var session = InferenceSession.Load(OnnxExporter.ToBytes(network, DType.F32, "N", 4));
        Assert.That(session.Run(new Dictionary<string, Tensor> { ["input"] = x })[0].ToArray<float>(), Is.EqualTo(reference).Within(Tolerance));
        Assert.That(OpTypes(model), Does.Not.Contain("Dropout"));
        Assert.That(model.Graph.Initializer.Select(i => i.Name), Is.SupersetOf(new[] { "0.weight", "0.bias", "3.weight", "3.bias" }));
        Assert.That(model.Graph.Input.Single().Type.TensorType.Shape.Dim[0].DimParam, Is.EqualTo("N"));
        Assert.That(model.OpsetImport.Single().Version, Is.EqualTo(OnnxExporter.Opset));
        Assert.That((model.IrVersion, model.ProducerName), Is.EqualTo((OnnxExporter.IrVersion, "Myelin")));
    }

    [Test]
    public void Cnn_WithBatchNormInEval_RoundTrips()
    {
        using var scope = new TensorScope();
        var generator = new Generator(5);
        var batchNorm = new BatchNorm2d(4);
        using var network = new Sequential(new Conv2d(2, 4, 3, padding: 1, generator: generator), batchNorm, new ReLU(), new MaxPool2d(2),
            new Flatten(), new Linear(4 * 3 * 3, 5, generator: generator));
        // Running statistics away from the initial 0 and 1, so using them (and not the batch's) shows.
        using (Tensor mean = Tensor.FromArray(new[] { 0.5f, -0.25f, 1f, 0f }, [4])) mean.CopyTo(batchNorm.RunningMean);
        using (Tensor variance = Tensor.FromArray(new[] { 2f, 0.5f, 1.5f, 1f }, [4])) variance.CopyTo(batchNorm.RunningVar);
        using Tensor x = Random(generator, 3, 2, 6, 6);
        ModelProto model = AssertLayerRoundTrip(network, x, "N", 2, 6, 6);
        Assert.That(OpTypes(model), Is.SupersetOf(new[] { "Conv", "BatchNormalization", "MaxPool" }));
        Assert.That(model.Graph.Initializer.Select(i => i.Name), Is.SupersetOf(new[] { "1.running_mean", "1.running_var", "0.weight" }));
    }

    [Test]
    public void Lstm_RoundTrips()
    {
        using var scope = new TensorScope();
        var generator = new Generator(7);
        using var network = new Lstm(3, 5, numLayers: 2, generator: generator);
        using Tensor x = Random(generator, 4, 2, 3);
        ModelProto model = AssertLayerRoundTrip(network, x, 4, "N", 3);
        Assert.That(model.Graph.Initializer.Select(i => i.Name), Has.Some.StartsWith("weight_ih_l0"));
    }

    [Test]
    public void TransformerEncoderLayer_RoundTrips_WithItsDropoutsLeftOut()
    {
        using var scope = new TensorScope();
        var generator = new Generator(11);
        using var network = new TransformerEncoderLayer(8, 2, dimFeedforward: 16, dropout: 0.1, activation: "gelu", generator: generator);
        using Tensor x = Random(generator, 5, 3, 8);
        ModelProto model = AssertLayerRoundTrip(network, x, 5, "N", 8);
        Assert.That(OpTypes(model), Does.Not.Contain("Dropout"));
        Assert.That(OpTypes(model), Does.Contain("LayerNormalization"));
    }

    /// <summary>Layers beyond the models above, each with an input shape (batch symbolic where the layer allows).</summary>
    private static IEnumerable<TestCaseData> Layers()
    {
        TestCaseData Case(string name, Func<Generator, Layer> create, long[] shape, params object[] dims) => new TestCaseData(create, shape, dims) { TestName = $"Layer_RoundTrips({name})" };
        yield return Case("activations", g => new Sequential(new Linear(6, 6, generator: g), new LeakyReLU(0.2), new ELU(0.5), new SELU(), new HardSigmoid(),
            new HardSwish(), new Softplus(2), new Softsign(), new Mish(), new SiLU(), new GELU("tanh"), new PReLU(), new Softmax(), new LogSoftmax()), [4, 6], "N", 6);
        yield return Case("conv1d+avgpool", g => new Sequential(new Conv1d(3, 4, 3, padding: 1, generator: g), new AvgPool1d(2), new GroupNorm(2, 4), new GlobalAvgPool()), [2, 3, 8], "N", 3, 8);
        yield return Case("convtranspose+adaptive", g => new Sequential(new ConvTranspose2d(2, 3, 3, stride: 2, generator: g), new AvgPool2d(2, countIncludePad: false),
            new AdaptiveAvgPool2d(2), new Flatten(), new LayerNorm(12)), [2, 2, 4, 4], "N", 2, 4, 4);
        yield return Case("gru", g => new Gru(3, 4, numLayers: 2, batchFirst: true, bidirectional: true, generator: g), [2, 5, 3], "N", 5, 3);
        yield return Case("rnn", g => new Rnn(3, 4, nonlinearity: "relu", generator: g), [5, 2, 3], 5, "N", 3);
        yield return Case("attention", g => new MultiheadAttention(8, 4, dropout: 0.2, batchFirst: true, generator: g), [2, 3, 8], "N", 3, 8);
    }

    [TestCaseSource(nameof(Layers))]
    public void Layer_RoundTrips(Func<Generator, Layer> create, long[] shape, object[] dims)
    {
        using var scope = new TensorScope();
        var generator = new Generator(17);
        using Layer network = create(generator);
        using Tensor x = Random(generator, shape);
        AssertLayerRoundTrip(network, x, [.. dims.Select(d => d is string s ? Dim.Sym(s) : Dim.Of(Convert.ToInt64(d)))]);
    }

    [Test]
    public void Embedding_WithAPaddingRow_RoundTrips()
    {
        using var scope = new TensorScope();
        using var network = new Embedding(10, 4, paddingIdx: 0, generator: new Generator(19));
        using Tensor ids = Tensor.FromArray(new long[] { 0, 3, 9, 0, 5, 1 }, [2, 3]);
        ModelProto model = AssertLayerRoundTrip(network, ids, "N", 3);
        Assert.That(OpTypes(model), Does.Contain("Gather"));
    }

    [Test]
    public void CustomGraph_WithRewrittenOps_RoundTrips_AndLeavesTheLossOut()
    {
        using var scope = new TensorScope();
        var generator = new Generator(13);
        var graph = new Graph();
        Value x = graph.Input("x", DType.F32, "N", 4, 6);
        Value target = graph.Input("target", DType.F32, "N", 4, 6);
        Value scale = graph.Parameter("gn.scale", Random(generator, 4).MoveToOuterScope());
        Value shift = graph.Parameter("gn.shift", Random(generator, 4).MoveToOuterScope());
        Value h = graph.Apply("GroupNormalization", [x, scale, shift], new Dictionary<string, object> { ["num_groups"] = 2L }, "gn")[0];
        Value gelu = graph.Apply("Gelu", [h], name: "gelu")[0];
        Value geluTanh = graph.Apply("Gelu", [h], new Dictionary<string, object> { ["approximate"] = "tanh" }, "gelu_tanh")[0];
        Value mixed = graph.Apply("Silu", [gelu])[0] + graph.Apply("Mish", [geluTanh])[0] + graph.Apply("Square", [h])[0];
        // A training-mode Dropout node, with ratio 0 so that the graph's own run (the reference) is deterministic.
        Value dropped = graph.Apply("Dropout", [mixed, graph.Scalar(0, DType.F64), graph.Constant(Tensor.FromArray(new[] { true }, Shape.Scalar).MoveToOuterScope())],
            new Dictionary<string, object> { ["seed"] = 1L }, "train_dropout")[0];
        Value[] halves = graph.Apply("Split", [dropped], new Dictionary<string, object> { ["axis"] = 2L, ["num_outputs"] = 2L }, "halves");
        Value summed = halves[0].Sum([1], keepDims: true) + halves[1].Mean([1], keepDims: true);
        Value halfs = graph.Apply("ExpandLike", [graph.Scalar(0.5), summed])[0];
        Value frozen = graph.Apply("StopGradient", [graph.Apply("Log1p", [h.Sigmoid()])[0]])[0];
        Value flat = graph.Apply("ReshapeLike", [summed * halfs, graph.Input("like", DType.F32, "N", 3)])[0];
        Value output = flat + frozen.Sum([2]).Sum([1], keepDims: true);
        Value loss = graph.Apply("MeanSquaredError", [mixed, target])[0];
        graph.MarkOutput(output, loss);

        var feeds = new Dictionary<string, Tensor> { ["x"] = Random(generator, 3, 4, 6), ["like"] = Random(generator, 3, 3), ["target"] = Random(generator, 3, 4, 6) };
        ModelProto model = AssertRoundTrip(graph, [output], feeds, ["y"]);
        Assert.That(model.Graph.Input.Select(i => i.Name), Is.EqualTo(new[] { "x", "like" }), "the loss's target is not an input");
        Assert.That(model.Graph.Output.Select(o => o.Name), Is.EqualTo(new[] { "y" }));
        Assert.That(OpTypes(model), Does.Not.Contain("Dropout"));
        Assert.That(model.Graph.Node.All(n => n.Domain.Length == 0));
        Assert.That(model.Graph.Initializer.Select(i => i.Name), Is.SupersetOf(new[] { "gn.scale", "gn.shift" }));
    }

    [Test]
    public void Export_IsStable()
    {
        using var scope = new TensorScope();
        using var network = new Sequential(new Linear(3, 2, generator: new Generator(1)), new GELU());
        byte[] first = OnnxExporter.ToBytes(network, DType.F32, "N", 3);
        byte[] second = OnnxExporter.ToBytes(network, DType.F32, "N", 3);
        Assert.That(second, Is.EqualTo(first));
        ModelProto model = ModelProto.Parser.ParseFrom(first);
        Assert.That(model.Graph.Node.Select(n => n.Name), Is.Unique);
        Assert.That(model.Graph.Node.Select(n => n.Name), Has.All.StartsWith("0.").Or.StartsWith("1.").Or.StartsWith("output"));
    }

    [Test]
    public void Save_WritesAFileTheSessionLoads()
    {
        using var scope = new TensorScope();
        using var network = new Sequential(new Linear(3, 2, generator: new Generator(2)), new Tanh());
        using var model = new Model(network);
        string path = Path.Combine(Path.GetTempPath(), $"myelin-export-{Guid.NewGuid():N}.onnx");
        try
        {
            model.ExportOnnx(path, DType.F32, "batch", 3);
            using Tensor x = Random(new Generator(4), 2, 3);
            using Tensor expected = model.Predict(x);
            using var session = InferenceSession.Load(path);
            Assert.That(session.Run(new Dictionary<string, Tensor> { ["input"] = x })[0].ToArray<float>(), Is.EqualTo(expected.ToArray<float>()).Within(Tolerance));
            Assert.That(Directory.GetFiles(Path.GetDirectoryName(path)!, Path.GetFileName(path) + ".*.tmp"), Is.Empty);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void AnOpWithoutOnnxForm_IsRefused_NamingTheNode()
    {
        var graph = new Graph();
        Value x = graph.Input("x", DType.F32, 2, 3);
        Value y = graph.Apply("CountRatio", [x, x.Sum([1])], name: "ratio")[0];
        var error = Assert.Throws<OnnxExportException>(() => OnnxExporter.ToBytes(graph, [y]));
        Assert.That(error!.Message, Does.Contain("node 'ratio' (CountRatio)"));
        Assert.That(error.NodeName, Is.EqualTo("ratio"));
    }

    [Test]
    public void OutputNames_MustBeFreshAndUnique()
    {
        var graph = new Graph();
        Value x = graph.Input("x", DType.F32, 2, 3);
        Value y = x.Relu();
        Value z = x.Tanh();
        Assert.That(() => OnnxExporter.ToBytes(graph, [y], ["x"]), Throws.ArgumentException.With.Message.Contains("'x'"));
        Assert.That(() => OnnxExporter.ToBytes(graph, [y, z], ["out", "out"]), Throws.ArgumentException.With.Message.Contains("Two outputs are named 'out'"));
        Assert.That(() => OnnxExporter.ToBytes(graph, [], null), Throws.ArgumentException);
    }

    [Test]
    public void ACompiledGraphsFusedNode_IsRefused()
    {
        using var scope = new TensorScope();
        var graph = new Graph();
        Value x = graph.Input("x", DType.F32, 2, 3);
        Value w = graph.Parameter("w", Random(new Generator(1), 3, 4).MoveToOuterScope());
        Value y = x.MatMul(w).Relu();
        graph.MarkOutput(y);
        using var compiled = CompiledGraph.Compile(graph);
        var error = Assert.Throws<OnnxExportException>(() => OnnxExporter.ToBytes(graph));
        Assert.That(error!.Message, Does.Contain("(Fused").And.Contain("before autodiff and the fusion passes"));
    }

    [Test]
    public void ATrainingModeBatchNorm_IsRefused()
    {
        using var scope = new TensorScope();
        using var network = new BatchNorm1d(3);
        var graph = new Graph();
        Value y = network.Forward(graph.Input("x", DType.F32, "N", 3));
        var error = Assert.Throws<OnnxExportException>(() => OnnxExporter.ToBytes(graph, [y]));
        Assert.That(error!.Message, Does.Contain("(BatchNormalization)").And.Contain("eval mode"));
    }
}

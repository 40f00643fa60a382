using Myelin.Execution;
using Myelin.Graphs;
using Myelin.NN;
using Myelin.Ops;
using Myelin.Optim;
using Myelin.Tests.TestSupport;
using NUnit.Framework;

namespace Myelin.Tests.NN;

public class RecurrentTests
{
    private static IReadOnlyDictionary<string, Value> Outputs(RecurrentResult result)
    {
        var outputs = new Dictionary<string, Value> { ["output"] = result.Output, ["hidden"] = result.Hidden };
        if (result.Cell is not null) outputs["cell"] = result.Cell;
        return outputs;
    }

    private static void AssertMatches(string fixture, RecurrentLayer layer, bool initialStates)
    {
        using (layer)
        {
            string[] inputs = !initialStates ? ["x"] : layer is Lstm ? ["x", "h0", "c0"] : ["x", "h0"];
            LayerHarness.AssertSequenceMatches(fixture, layer, inputs, v =>
                Outputs(layer.Run(v["x"], initialStates ? v["h0"] : null, initialStates && layer is Lstm ? v["c0"] : null)));
        }
    }

    [Test]
    public void TwoLayerBidirectionalLstmWithInitialStatesMatchesPyTorch() =>
        AssertMatches("lstm_bi2_init", new Lstm(3, 4, numLayers: 2, bidirectional: true), initialStates: true);

    [Test]
    public void TwoLayerBidirectionalBatchFirstLstmMatchesPyTorch() =>
        AssertMatches("lstm_bi2_batchfirst", new Lstm(3, 4, numLayers: 2, batchFirst: true, bidirectional: true), initialStates: false);

    [Test]
    public void TwoLayerBidirectionalGruWithInitialStateMatchesPyTorch() =>
        AssertMatches("gru_bi2_init", new Gru(3, 4, numLayers: 2, bidirectional: true), initialStates: true);

    [Test]
    public void TwoLayerBidirectionalBatchFirstGruMatchesPyTorch() =>
        AssertMatches("gru_bi2_batchfirst", new Gru(3, 4, numLayers: 2, batchFirst: true, bidirectional: true), initialStates: false);

    [Test]
    public void StackedTanhRnnWithInitialStateMatchesPyTorch() =>
        AssertMatches("rnn_tanh", new Rnn(3, 4, numLayers: 2), initialStates: true);

    [Test]
    public void BidirectionalBatchFirstReluRnnMatchesPyTorch() =>
        AssertMatches("rnn_relu", new Rnn(3, 4, nonlinearity: "relu", batchFirst: true, bidirectional: true), initialStates: false);

    [Test]
    public void ParametersFollowPyTorchNamesShapesAndInitBounds()
    {
        using var lstm = new Lstm(3, 5, numLayers: 2, bidirectional: true, generator: new Generator(seed: 1));
        var parameters = lstm.NamedParameters().ToDictionary(p => p.Path, p => p.Tensor);
        Assert.That(parameters.Keys, Is.EqualTo(new[]
        {
            "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse",
            "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1", "weight_ih_l1_reverse", "weight_hh_l1_reverse", "bias_ih_l1_reverse", "bias_hh_l1_reverse",
        }));
        Assert.That(parameters["weight_ih_l0"].Shape, Is.EqualTo(new Shape(20, 3)));
        Assert.That(parameters["weight_ih_l1_reverse"].Shape, Is.EqualTo(new Shape(20, 10)));
        Assert.That(parameters["weight_hh_l1"].Shape, Is.EqualTo(new Shape(20, 5)));
        float bound = 1 / MathF.Sqrt(5);
        float[] all = parameters.Values.SelectMany(t => t.ToArray<float>()).ToArray();
        Assert.That(all.Max(), Is.LessThanOrEqualTo(bound).And.GreaterThan(bound * 0.8f));
        Assert.That(all.Min(), Is.GreaterThanOrEqualTo(-bound).And.LessThan(-bound * 0.8f));
        Assert.That(lstm.ParameterCount, Is.EqualTo((2 * ((20 * 3) + (20 * 5) + (2 * 20))) + (2 * ((20 * 10) + (20 * 5) + (2 * 20)))));
    }

    [Test]
    public void ForwardReturnsTheOutputSequenceInsideSequential()
    {
        using var model = new Sequential(new Gru(3, 4, batchFirst: true, bidirectional: true), new Linear(8, 2));
        var graph = new Graph();
        Value y = model.Forward(graph.Input("x", DType.F32, "N", 7, 3));
        Assert.That(y.Type.ShapeText, Is.EqualTo(new TensorType(DType.F32, "N", 7, 2).ShapeText));
        string summary = model.Summary(DType.F32, "N", 7, 3);
        long gru = 2 * ((12 * 3) + (12 * 4) + (2 * 12));
        Assert.That(summary, Does.Contain("Gru").And.Contain(gru.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)));
        Assert.That(model.ParameterCount, Is.EqualTo(gru + (8 * 2) + 2));
    }

    [Test]
    public void DropoutBetweenLayersOnlyInTrainingMode()
    {
        using var lstm = new Lstm(3, 4, numLayers: 3, dropout: 0.5);
        int Dropouts(bool training)
        {
            lstm.Train(training);
            var graph = new Graph();
            lstm.Forward(graph.Input("x", DType.F32, 5, 2, 3));
            return graph.Nodes.Count(n => n.Op.Name == "Dropout");
        }

        Assert.That(Dropouts(training: true), Is.EqualTo(2));
        Assert.That(Dropouts(training: false), Is.Zero);
    }

    [Test]
    public void OneGraphWithASymbolicBatchServesEveryBatchSize()
    {
        using var fixture = Fixture.Load("nn/sequence_lstm_bi2_batchfirst.myfx");
        using var lstm = new Lstm(3, 4, numLayers: 2, batchFirst: true, bidirectional: true);
        foreach ((string path, Tensor tensor) in lstm.NamedParameters()) fixture[$"p.{path}"].CopyTo(tensor);
        var graph = new Graph();
        RecurrentResult result = lstm.Run(graph.Input("x", DType.F32, "N", 5, 3));
        graph.MarkOutput(result.Output, result.Hidden, result.Cell!);
        using CompiledGraph compiled = CompiledGraph.Compile(graph);
        IReadOnlyList<Tensor> y = compiled.Run(new Dictionary<string, Tensor> { ["x"] = fixture["x"] });
        Approx.AssertClose(y[0].ToArray<float>(), Reference.ToDouble(fixture["y.output"].ToArray<float>()), 1e-5, 1e-4);
        Approx.AssertClose(y[2].ToArray<float>(), Reference.ToDouble(fixture["y.cell"].ToArray<float>()), 1e-5, 1e-4);

        // The second sequence alone gives that sequence's rows of the batched result.
        using Tensor second = fixture["x"].Slice(0, 1, 2).Contiguous();
        IReadOnlyList<Tensor> single = compiled.Run(new Dictionary<string, Tensor> { ["x"] = second });
        Assert.That(single[1].Shape, Is.EqualTo(new Shape(4, 1, 4)));
        float[] batched = fixture["y.hidden"].ToArray<float>();
        float[] alone = single[1].ToArray<float>();
        for (int s = 0; s < 4; s++)
        {
            for (int j = 0; j < 4; j++) Assert.That(alone[(s * 4) + j], Is.EqualTo(batched[(s * 8) + 4 + j]).Within(1e-5), $"h_n[{s}, 1, {j}]");
        }
    }

    [Test]
    public void TrainingModeDropoutChangesTheOutputOnlyBetweenLayers()
    {
        using var gru = new Gru(3, 4, numLayers: 2, dropout: 0.5, generator: new Generator(seed: 3));
        using Tensor input = Tensor.RandN([6, 2, 3], generator: new Generator(seed: 4));
        float[] Outputs(bool training, bool lastLayerState)
        {
            gru.Train(training);
            var graph = new Graph();
            RecurrentResult result = gru.Run(graph.Input("x", DType.F32, 6, 2, 3));
            graph.MarkOutput(lastLayerState ? result.Hidden : result.Output);
            using CompiledGraph compiled = CompiledGraph.Compile(graph);
            return compiled.Run(new Dictionary<string, Tensor> { ["x"] = input })[0].ToArray<float>();
        }

        float[] evalHidden = Outputs(false, true), trainHidden = Outputs(true, true);
        Assert.That(trainHidden[..8], Is.EqualTo(evalHidden[..8]), "layer 0 reads the input undropped");
        Assert.That(trainHidden[8..], Is.Not.EqualTo(evalHidden[8..]), "layer 1 reads layer 0's output through dropout");
        Assert.That(Outputs(true, false), Is.Not.EqualTo(Outputs(false, false)));
    }

    [Test]
    public void LstmClassifierTrainsWithAdam()
    {
        using var lstm = new Lstm(2, 8, batchFirst: true, generator: new Generator(seed: 11));
        using var head = new Linear(8, 1, generator: new Generator(seed: 12));
        var graph = new Graph();
        Value x = graph.Input("x", DType.F32, 16, 6, 2);
        Value target = graph.Input("target", DType.F32, 16, 1);
        Value last = SliceOp.Slice(lstm.Run(x).Hidden, 0, 1, axis: 0);
        Value prediction = head.Forward(graph.Apply("Reshape", [last, graph.Constant(Tensor.FromArray(new long[] { 16, 8 }).MoveToOuterScope())])[0]);
        Value loss = ((prediction - target) * (prediction - target)).Mean();
        using CompiledGraph step = TrainingStep.Compile(loss, [.. lstm.ParametersIn(graph), .. head.ParametersIn(graph)], new Adam(learningRate: 0.02));

        // The target is the sum of the sequence's first feature: the model must carry it through time.
        using Tensor xs = Tensor.RandN([16, 6, 2], generator: new Generator(seed: 13));
        float[] data = xs.ToArray<float>();
        float[] sums = Enumerable.Range(0, 16).Select(n => Enumerable.Range(0, 6).Sum(t => data[(n * 12) + (t * 2)]) / 3).ToArray();
        using Tensor targets = Tensor.FromArray(sums, 16, 1);
        var feeds = new Dictionary<string, Tensor> { ["x"] = xs, ["target"] = targets };
        float first = step.Run(feeds)[0].Item<float>(), latest = first;
        for (int i = 0; i < 150; i++) latest = step.Run(feeds)[0].Item<float>();
        Assert.That(latest, Is.LessThan(first * 0.1f));
    }

    [Test]
    public void SymbolicSequenceLengthFailsNamingTheLayer()
    {
        using var model = new Sequential(new Lstm(3, 4));
        var graph = new Graph();
        var e = Assert.Throws<GraphValidationException>(() => model.Forward(graph.Input("x", DType.F32, "T", 2, 3)));
        Assert.That(e!.Message, Does.Contain("Lstm '0'").And.Contain("sequence length"));
    }

    [Test]
    public void BadInputsAndConfigurationFailNamingTheLayer()
    {
        using var model = new Sequential(new Gru(3, 4, numLayers: 2));
        var graph = new Graph();
        var features = Assert.Throws<GraphValidationException>(() => model.Forward(graph.Input("x", DType.F32, 5, 2, 6)));
        Assert.That(features!.Message, Does.Contain("Gru '0'").And.Contain("3 input features"));
        var gru = (Gru)model.Layers[0];
        var state = Assert.Throws<GraphValidationException>(() => gru.Run(graph.Input("x2", DType.F32, 5, 2, 3), graph.Input("h0", DType.F32, 1, 2, 4)));
        Assert.That(state!.Message, Does.Contain("Gru '0'").And.Contain("h0"));
        var relu = Assert.Throws<ArgumentException>(() => _ = new Rnn(3, 4, nonlinearity: "sigmoid"));
        Assert.That(relu!.Message, Does.Contain("Rnn").And.Contain("sigmoid"));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new Lstm(3, 4, dropout: 1.5));
        using var lstm = new Lstm(3, 4);
        var missingCell = Assert.Throws<GraphValidationException>(() => lstm.Run(graph.Input("x3", DType.F32, 5, 2, 3), graph.Input("h0b", DType.F32, 1, 2, 4)));
        Assert.That(missingCell!.Message, Does.Contain("c0"));
    }
}

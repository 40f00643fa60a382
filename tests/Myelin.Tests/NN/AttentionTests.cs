using Myelin.Execution;
using Myelin.Graphs;
using Myelin.NN;
using NUnit.Framework;

namespace Myelin.Tests.NN;

public class AttentionTests
{
    private static Dictionary<string, Value> Outputs(AttentionResult result) => new() { ["output"] = result.Output, ["weights"] = result.Weights! };

    [Test]
    public void SelfAttentionMatchesPyTorch()
    {
        using var mha = new MultiheadAttention(8, 2);
        LayerHarness.AssertSequenceMatches("mha_self", mha, ["query"], v => Outputs(mha.Attend(v["query"], v["query"], v["query"])));
    }

    [Test]
    public void CrossAttentionWithBoolMasksAndOtherKeyValueSizesMatchesPyTorch()
    {
        using var mha = new MultiheadAttention(8, 2, kdim: 5, vdim: 6, batchFirst: true);
        LayerHarness.AssertSequenceMatches("mha_cross_masked", mha, ["query", "key", "value", "key_padding_mask", "attn_mask"],
            v => Outputs(mha.Attend(v["query"], v["key"], v["value"], v["key_padding_mask"], v["attn_mask"])));
    }

    [Test]
    public void PerHeadFloatMaskWithoutBiasMatchesPyTorch()
    {
        using var mha = new MultiheadAttention(8, 2, bias: false);
        LayerHarness.AssertSequenceMatches("mha_float_mask", mha, ["query", "key", "value", "attn_mask"],
            v => Outputs(mha.Attend(v["query"], v["key"], v["value"], attnMask: v["attn_mask"])));
    }

    [Test]
    public void PerHeadWeightsAverageToTheReturnedWeights()
    {
        using var mha = new MultiheadAttention(4, 2, batchFirst: true, generator: new Generator(seed: 5));
        var graph = new Graph();
        Value x = graph.Input("x", DType.F32, 2, 3, 4);
        Value perHead = mha.Attend(x, x, x, averageWeights: false).Weights!;
        Value averaged = mha.Attend(x, x, x).Weights!;
        Assert.That(perHead.Type.ShapeText, Is.EqualTo(new TensorType(DType.F32, 2, 2, 3, 3).ShapeText));
        graph.MarkOutput(perHead, averaged);
        using CompiledGraph compiled = CompiledGraph.Compile(graph);
        using Tensor input = Tensor.RandN([2, 3, 4], generator: new Generator(seed: 6));
        IReadOnlyList<Tensor> results = compiled.Run(new Dictionary<string, Tensor> { ["x"] = input });
        float[] heads = results[0].ToArray<float>(), mean = results[1].ToArray<float>();
        for (int n = 0; n < 2; n++)
        {
            for (int i = 0; i < 9; i++)
            {
                Assert.That(mean[(n * 9) + i], Is.EqualTo((heads[(n * 18) + i] + heads[(n * 18) + 9 + i]) / 2).Within(1e-6));
            }
        }
    }

    [Test]
    public void TrainingDropoutZeroesOrRescalesEachAttentionWeight()
    {
        using var mha = new MultiheadAttention(4, 2, dropout: 0.5, batchFirst: true, generator: new Generator(seed: 8));
        using Tensor input = Tensor.RandN([2, 5, 4], generator: new Generator(seed: 9));
        float[] Weights(bool training)
        {
            mha.Train(training);
            var graph = new Graph();
            Value x = graph.Input("x", DType.F32, 2, 5, 4);
            graph.MarkOutput(mha.Attend(x, x, x, averageWeights: false).Weights!);
            using CompiledGraph compiled = CompiledGraph.Compile(graph);
            return compiled.Run(new Dictionary<string, Tensor> { ["x"] = input })[0].ToArray<float>();
        }

        float[] eval = Weights(false), train = Weights(true);
        int dropped = 0;
        for (int i = 0; i < eval.Length; i++)
        {
            if (train[i] == 0) dropped++;
            else Assert.That(train[i], Is.EqualTo(eval[i] * 2).Within(1e-5), $"weight {i} is kept and scaled by 1 / (1 - p)");
        }

        Assert.That(dropped, Is.InRange(eval.Length / 4, 3 * eval.Length / 4));
    }

    [Test]
    public void AFullyMaskedQueryGivesNaNAsInPyTorch()
    {
        using var mha = new MultiheadAttention(4, 1, batchFirst: true);
        var graph = new Graph();
        Value x = graph.Input("x", DType.F32, 1, 2, 4);
        Value mask = graph.Input("mask", DType.Bool, 2, 2);
        graph.MarkOutput(mha.Attend(x, x, x, attnMask: mask).Output);
        using CompiledGraph compiled = CompiledGraph.Compile(graph);
        using Tensor input = Tensor.RandN([1, 2, 4], generator: new Generator(seed: 2));
        using Tensor masked = Tensor.FromArray(new[] { true, true, false, false }, 2, 2);
        float[] y = compiled.Run(new Dictionary<string, Tensor> { ["x"] = input, ["mask"] = masked })[0].ToArray<float>();
        Assert.That(y[..4], Has.All.NaN, "query 0 may attend to nothing");
        Assert.That(y[4..].All(float.IsFinite), "query 1 attends to both keys");
    }

    [Test]
    public void SquareSubsequentMaskMatchesPyTorch()
    {
        using var fixture = Myelin.Tests.TestSupport.Fixture.Load("nn/sequence_decoder_post.myfx");
        using Tensor mask = AttentionMasks.SquareSubsequent(4);
        Assert.That(mask.ToArray<float>(), Is.EqualTo(fixture["causal_mask"].ToArray<float>()));
    }

    [Test]
    public void BadShapesAndConfigurationFailNamingTheLayer()
    {
        Assert.That(Assert.Throws<ArgumentException>(() => _ = new MultiheadAttention(6, 4))!.Message, Does.Contain("MultiheadAttention").And.Contain("num_heads (4)"));
        using var model = new Sequential(new MultiheadAttention(8, 2));
        var graph = new Graph();
        var e = Assert.Throws<GraphValidationException>(() => model.Forward(graph.Input("x", DType.F32, 3, 2, 6)));
        Assert.That(e!.Message, Does.Contain("MultiheadAttention '0'").And.Contain("8 features"));
        var mha = (MultiheadAttention)model.Layers[0];
        Value q = graph.Input("q", DType.F32, 3, 2, 8);
        var mask = Assert.Throws<GraphValidationException>(() => mha.Attend(q, q, q, attnMask: graph.Input("m", DType.Bool, 3, 4)));
        Assert.That(mask!.Message, Does.Contain("MultiheadAttention '0'").And.Contain("attn_mask"));
        var padding = Assert.Throws<GraphValidationException>(() => mha.Attend(q, q, q, keyPaddingMask: graph.Input("p", DType.Bool, 3, 2)));
        Assert.That(padding!.Message, Does.Contain("key_padding_mask"));
    }
}

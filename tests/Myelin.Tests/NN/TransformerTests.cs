using Myelin.Graphs;
using Myelin.NN;
using NUnit.Framework;

namespace Myelin.Tests.NN;

public class TransformerTests
{
    [TestCase("encoder_post", false, "relu", true)]
    [TestCase("encoder_pre", true, "gelu", false)]
    public void EncoderLayerMatchesPyTorch(string fixture, bool normFirst, string activation, bool batchFirst)
    {
        using var layer = new TransformerEncoderLayer(8, 2, dimFeedforward: 16, activation: activation, batchFirst: batchFirst, normFirst: normFirst);
        layer.Eval();
        LayerHarness.AssertSequenceMatches(fixture, layer, ["src", "src_key_padding_mask"], v => new Dictionary<string, Value>
        {
            ["output"] = layer.Encode(v["src"], v["src"].Graph.Constant(AttentionMasks.SquareSubsequent(4).MoveToOuterScope()), v["src_key_padding_mask"]),
        });
    }

    [TestCase("decoder_post", false, "relu", true)]
    [TestCase("decoder_pre", true, "gelu", false)]
    public void DecoderLayerWithCausalMaskMatchesPyTorch(string fixture, bool normFirst, string activation, bool batchFirst)
    {
        using var layer = new TransformerDecoderLayer(8, 2, dimFeedforward: 16, activation: activation, batchFirst: batchFirst, normFirst: normFirst);
        layer.Eval();
        LayerHarness.AssertSequenceMatches(fixture, layer, ["tgt", "memory", "memory_key_padding_mask"], v => new Dictionary<string, Value>
        {
            ["output"] = layer.Forward(v["tgt"], v["memory"], memoryKeyPaddingMask: v["memory_key_padding_mask"], causal: true),
        });
    }

    [Test]
    public void DefaultsFollowPyTorch()
    {
        using var layer = new TransformerEncoderLayer(16, 4);
        var parameters = layer.NamedParameters().ToDictionary(p => p.Path, p => p.Tensor);
        Assert.That(parameters["linear1.weight"].Shape, Is.EqualTo(new Shape(2048, 16)));
        Assert.That(parameters["self_attn.in_proj_weight"].Shape, Is.EqualTo(new Shape(48, 16)));
        Assert.That(parameters["norm2.weight"].ToArray<float>(), Has.All.EqualTo(1f));
        Assert.That(parameters["self_attn.in_proj_bias"].ToArray<float>(), Has.All.EqualTo(0f));
        Assert.That(layer.SelfAttn.Dropout, Is.EqualTo(0.1));
    }

    [Test]
    public void DropoutOnlyInTrainingMode()
    {
        using var layer = new TransformerDecoderLayer(8, 2, dimFeedforward: 16);
        int Dropouts(bool training)
        {
            layer.Train(training);
            var graph = new Graph();
            layer.Forward(graph.Input("t", DType.F32, 3, 2, 8), graph.Input("m", DType.F32, 5, 2, 8), causal: true);
            return graph.Nodes.Count(n => n.Op.Name == "Dropout");
        }

        // On the weights of both attentions, inside the feed-forward block, and after each of the three blocks.
        Assert.That(Dropouts(training: true), Is.EqualTo(6));
        Assert.That(Dropouts(training: false), Is.Zero);
    }

    [Test]
    public void EncoderLayerStacksInSequential()
    {
        using var model = new Sequential(new TransformerEncoderLayer(8, 2, dimFeedforward: 16, batchFirst: true), new Linear(8, 3));
        var graph = new Graph();
        Value y = model.Forward(graph.Input("x", DType.F32, "N", 5, 8));
        Assert.That(y.Type.ShapeText, Is.EqualTo(new TensorType(DType.F32, "N", 5, 3).ShapeText));
    }

    [Test]
    public void BadConfigurationAndShapesFailNamingTheLayer()
    {
        var activation = Assert.Throws<ArgumentException>(() => _ = new TransformerEncoderLayer(8, 2, activation: "swish"));
        Assert.That(activation!.Message, Does.Contain("TransformerEncoderLayer").And.Contain("swish"));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new TransformerDecoderLayer(8, 2, dropout: -0.1));
        using var model = new Sequential(new TransformerEncoderLayer(8, 2, dimFeedforward: 16));
        var graph = new Graph();
        var shape = Assert.Throws<GraphValidationException>(() => model.Forward(graph.Input("x", DType.F32, 4, 2, 7)));
        Assert.That(shape!.Message, Does.Contain("'0.self_attn'"));
        using var decoder = new TransformerDecoderLayer(8, 2, dimFeedforward: 16);
        var causal = Assert.Throws<GraphValidationException>(() => decoder.Forward(graph.Input("t", DType.F32, "T", 2, 8), graph.Input("m", DType.F32, 5, 2, 8), causal: true));
        Assert.That(causal!.Message, Does.Contain("TransformerDecoderLayer").And.Contain("known target length"));
    }
}

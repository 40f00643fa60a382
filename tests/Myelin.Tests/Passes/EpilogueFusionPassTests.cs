using Myelin.Execution;
using Myelin.Graphs;
using Myelin.Passes;
using Myelin.Tests.TestSupport;
using NUnit.Framework;

namespace Myelin.Tests.Passes;

public class EpilogueFusionPassTests
{
    private static readonly Dictionary<string, object> SamePadding = new() { ["pads"] = new long[] { 1, 1, 1, 1 } };

    private static Value Param(Graph g, string name, long[] shape, ulong seed) =>
        g.Parameter(name, (Tensor.RandN(shape, generator: new Generator(seed)) * 0.5f).MoveToOuterScope());

    private static Value Conv(Graph g, Value x, Value w, Value? bias = null) =>
        g.Apply("Conv", bias is null ? [x, w] : [x, w, bias], SamePadding)[0];

    // Runs the graph that build makes with and without fusion; checks that the values agree and returns the fused graph.
    private static Graph CompareFusedWithPlain(Func<Graph> build, Dictionary<string, Tensor> feeds)
    {
        using CompiledGraph plain = CompiledGraph.Compile(build(), new CompileOptions { Fuse = false });
        using CompiledGraph fused = CompiledGraph.Compile(build(), new CompileOptions { Fuse = true });
        IReadOnlyList<Tensor> expected = plain.Run(feeds);
        IReadOnlyList<Tensor> actual = fused.Run(feeds);
        for (int i = 0; i < expected.Count; i++)
        {
            Approx.AssertClose(actual[i].ToArray<float>(), Reference.ToDouble(expected[i].ToArray<float>()), 1e-5, 1e-5);
        }

        return fused.Graph;
    }

    private static int Count(Graph graph, string op) => graph.Nodes.Count(n => n.Op.Name == op);

    private static Dictionary<string, Tensor> Feed(string name, long[] shape, ulong seed) =>
        new() { [name] = Tensor.RandN(shape, generator: new Generator(seed)).MoveToOuterScope() };

    [Test]
    public void ConvWithBiasInputAndReluBecomesOneFusedConv()
    {
        Graph fused = CompareFusedWithPlain(() =>
        {
            var g = new Graph();
            Value x = g.Input("x", DType.F32, "N", 3, 8, 8);
            g.MarkOutput(Conv(g, x, Param(g, "w", [4, 3, 3, 3], 1), Param(g, "b", [4], 2)).Relu());
            return g;
        }, Feed("x", [2, 3, 8, 8], 3));
        Assert.That(Count(fused, "FusedConv"), Is.EqualTo(1));
        Assert.That(fused.Nodes.Any(n => n.Op.Name is "Conv" or "Relu"), Is.False);
        Assert.That(fused.Nodes.Single(n => n.Op.Name == "FusedConv").Attributes["activation"], Is.EqualTo("Relu"));
    }

    [Test]
    public void ConvPlusChannelBiasAddAndReluBecomesOneFusedConv()
    {
        // A [1, C, 1, 1] bias added after a bias-less Conv broadcasts per channel: it becomes the conv's bias.
        Graph fused = CompareFusedWithPlain(() =>
        {
            var g = new Graph();
            Value x = g.Input("x", DType.F32, "N", 3, 6, 7);
            g.MarkOutput((Conv(g, x, Param(g, "w", [5, 3, 3, 3], 4)) + Param(g, "b", [1, 5, 1, 1], 5)).Relu());
            return g;
        }, Feed("x", [2, 3, 6, 7], 6));
        Assert.That(Count(fused, "FusedConv"), Is.EqualTo(1));
        Assert.That(fused.Nodes.Any(n => n.Op.Name is "Conv" or "Add" or "Relu"), Is.False);
    }

    [Test]
    public void ResNetBlockFusesBothConvsAndTheResidualAdd()
    {
        // y = relu(conv2(relu(conv1(x) + b1)) + b2 + x): the shortcut x is ready before conv2 runs.
        Graph fused = CompareFusedWithPlain(() =>
        {
            var g = new Graph();
            Value x = g.Input("x", DType.F32, "N", 4, 6, 6);
            Value h = Conv(g, x, Param(g, "w1", [4, 4, 3, 3], 7), Param(g, "b1", [4], 8)).Relu();
            g.MarkOutput((Conv(g, h, Param(g, "w2", [4, 4, 3, 3], 9), Param(g, "b2", [4], 10)) + x).Relu());
            return g;
        }, Feed("x", [2, 4, 6, 6], 11));
        Assert.That(Count(fused, "FusedConv"), Is.EqualTo(2));
        Assert.That(fused.Nodes.Any(n => n.Op.Name is "Conv" or "Add" or "Relu"), Is.False);
        Node second = fused.Nodes.Single(n => n.Op.Name == "FusedConv" && n.GetInt("with_residual") == 1);
        Assert.That(second.Inputs, Has.Length.EqualTo(4), "x, w, bias, residual");
        Assert.That(second.Inputs[3].Name, Is.EqualTo("x"));
    }

    [Test]
    public void LinearStyleGemmWithBiasAndReluBecomesOneFusedGemm()
    {
        // What the Linear layer emits: Gemm(x, W, b, transB = 1).
        Graph fused = CompareFusedWithPlain(() =>
        {
            var g = new Graph();
            Value x = g.Input("x", DType.F32, "N", 6);
            Value y = g.Apply("Gemm", [x, Param(g, "w", [4, 6], 12), Param(g, "b", [4], 13)], new Dictionary<string, object> { ["transB"] = 1L })[0];
            g.MarkOutput(y.Relu());
            return g;
        }, Feed("x", [5, 6], 14));
        Assert.That(Count(fused, "FusedGemm"), Is.EqualTo(1));
        Assert.That(fused.Nodes.Any(n => n.Op.Name is "Gemm" or "Relu"), Is.False);
        Node node = fused.Nodes.Single(n => n.Op.Name == "FusedGemm");
        Assert.That(node.Inputs, Has.Length.EqualTo(3));
        Assert.That(node.GetInt("transB"), Is.EqualTo(1));
    }

    [Test]
    public void MatMulBiasResidualAndGeluBecomeOneFusedGemm()
    {
        Graph fused = CompareFusedWithPlain(() =>
        {
            var g = new Graph();
            Value x = g.Input("x", DType.F32, "N", 6);
            Value skip = g.Input("skip", DType.F32, "N", 4);
            Value z = x.MatMul(Param(g, "w", [6, 4], 15)) + Param(g, "b", [4], 16);
            g.MarkOutput((skip + z).Apply("Gelu"));
            return g;
        }, new Dictionary<string, Tensor>
        {
            ["x"] = Tensor.RandN([5, 6], generator: new Generator(17)).MoveToOuterScope(),
            ["skip"] = Tensor.RandN([5, 4], generator: new Generator(18)).MoveToOuterScope(),
        });
        Assert.That(fused.Nodes.Select(n => n.Op.Name), Is.EqualTo(new[] { "FusedGemm" }));
        Node node = fused.Nodes.Single();
        Assert.That(node.Attributes["activation"], Is.EqualTo("Gelu"));
        Assert.That(node.GetInt("with_residual"), Is.EqualTo(1));
        Assert.That(node.Inputs.Select(v => v.Name).Last(), Is.EqualTo("skip"));
    }

    [Test]
    public void AnIntermediateReadTwiceStaysAndStopsTheChain()
    {
        // conv + b is a graph output too, so the ReLU must not swallow it; conv + b itself still fuses.
        Graph fused = CompareFusedWithPlain(() =>
        {
            var g = new Graph();
            Value x = g.Input("x", DType.F32, "N", 3, 5, 5);
            Value z = Conv(g, x, Param(g, "w", [4, 3, 3, 3], 19)) + Param(g, "b", [4, 1, 1], 20);
            g.MarkOutput(z.Relu(), z);
            return g;
        }, Feed("x", [2, 3, 5, 5], 21));
        Assert.That(Count(fused, "FusedConv"), Is.EqualTo(1));
        Assert.That(fused.Nodes.Single(n => n.Op.Name == "FusedConv").Attributes["activation"], Is.EqualTo("Identity"));
        Assert.That(Count(fused, "Relu"), Is.EqualTo(1));

        // The conv output read by two nodes: nothing fuses.
        var twice = new Graph();
        Value input = twice.Input("x", DType.F32, 2, 3, 5, 5);
        Value y = Conv(twice, input, Param(twice, "w", [4, 3, 3, 3], 22));
        twice.MarkOutput(y.Relu() + y.Exp());
        Assert.That(EpilogueFusion.Run(twice), Is.Zero);
        Assert.That(Count(twice, "Conv"), Is.EqualTo(1));
    }

    [Test]
    public void AResidualComputedFromTheConvOutputIsNotFused()
    {
        // y + tanh(y): the residual needs the conv's own output, so it cannot be an input of the fused call.
        Graph fused = CompareFusedWithPlain(() =>
        {
            var g = new Graph();
            Value x = g.Input("x", DType.F32, "N", 3, 5, 5);
            Value y = Conv(g, x, Param(g, "w", [3, 3, 3, 3], 23));
            g.MarkOutput((y + y.Tanh()).Relu());
            return g;
        }, Feed("x", [2, 3, 5, 5], 24));
        Assert.That(Count(fused, "FusedConv"), Is.Zero);
        Assert.That(Count(fused, "Conv"), Is.EqualTo(1));

        // y + y: the same value on both sides is not a residual either.
        var self = new Graph();
        Value input = self.Input("x", DType.F32, 2, 3, 5, 5);
        Value z = Conv(self, input, Param(self, "w", [3, 3, 3, 3], 25));
        self.MarkOutput((z + z).Relu());
        Assert.That(EpilogueFusion.Run(self), Is.Zero);
    }

    [Test]
    public void ActivationWithItsOwnParameterStaysSeparate()
    {
        // The epilogue applies LeakyRelu with its default slope only; alpha 0.2 stays a node of its own.
        Graph fused = CompareFusedWithPlain(() =>
        {
            var g = new Graph();
            Value x = g.Input("x", DType.F32, "N", 6);
            Value z = x.MatMul(Param(g, "w", [6, 4], 26)) + Param(g, "b", [4], 27);
            g.MarkOutput(g.Apply("LeakyRelu", [z], new Dictionary<string, object> { ["alpha"] = 0.2 })[0]);
            return g;
        }, Feed("x", [3, 6], 28));
        Assert.That(Count(fused, "FusedGemm"), Is.EqualTo(1));
        Assert.That(fused.Nodes.Single(n => n.Op.Name == "FusedGemm").Attributes["activation"], Is.EqualTo("Identity"));
        Assert.That(Count(fused, "LeakyRelu"), Is.EqualTo(1));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void SeluFusesOnlyWithItsDefaultAlphaAndGamma(bool ownParameters)
    {
        // The epilogue's Selu uses the ONNX defaults; alpha 2 and gamma 3 keep the Selu node.
        Dictionary<string, object>? attributes = ownParameters ? new() { ["alpha"] = 2.0, ["gamma"] = 3.0 } : null;
        Graph fused = CompareFusedWithPlain(() =>
        {
            var g = new Graph();
            Value x = g.Input("x", DType.F32, "N", 6);
            Value z = x.MatMul(Param(g, "w", [6, 4], 29)) + Param(g, "b", [4], 30);
            g.MarkOutput(g.Apply("Selu", [z], attributes)[0]);
            return g;
        }, Feed("x", [3, 6], 31));
        Assert.That(fused.Nodes.Single(n => n.Op.Name == "FusedGemm").Attributes["activation"], Is.EqualTo(ownParameters ? "Identity" : "Selu"));
        Assert.That(Count(fused, "Selu"), Is.EqualTo(ownParameters ? 1 : 0));
    }

    [Test]
    public void FusedConvTrainingStepMatchesTheUnfusedOne()
    {
        // Gradients through the fused graph: the loss gradient of a conv block with a residual, fused and plain.
        Graph Build()
        {
            var g = new Graph();
            Value x = g.Input("x", DType.F32, 2, 3, 5, 5);
            Value w = Param(g, "w", [3, 3, 3, 3], 29);
            Value y = (Conv(g, x, w, Param(g, "b", [3], 30)) + x).Relu();
            Value loss = (y * y).Sum();
            g.MarkOutput(loss, Myelin.Autodiff.Gradients.Of(loss, [w])[0]!);
            return g;
        }

        Graph fused = CompareFusedWithPlain(Build, Feed("x", [2, 3, 5, 5], 31));
        Assert.That(Count(fused, "FusedConv"), Is.EqualTo(1));
    }
}

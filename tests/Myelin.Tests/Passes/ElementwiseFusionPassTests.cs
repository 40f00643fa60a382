using Myelin.Execution;
using Myelin.Graphs;
using Myelin.Passes;
using Myelin.Tests.TestSupport;
using NUnit.Framework;

namespace Myelin.Tests.Passes;

public class ElementwiseFusionPassTests
{
    private static float[] RunGraph(Graph graph, CompileOptions options, Dictionary<string, Tensor> feeds, out Graph compiledGraph, int output = 0)
    {
        using CompiledGraph compiled = CompiledGraph.Compile(graph, options);
        compiledGraph = compiled.Graph;
        return compiled.Run(feeds)[output].ToArray<float>();
    }

    // y = exp(tanh(x * b + c) * 0.5) - b: x [N, 5], b [5], c [N, 1], so every binary step broadcasts.
    private static Graph BuildChain()
    {
        var g = new Graph();
        Value x = g.Input("x", DType.F32, "N", 5);
        Value c = g.Input("c", DType.F32, "N", 1);
        Value b = g.Parameter("b", Tensor.RandN([5], generator: new Generator(seed: 11)).MoveToOuterScope());
        g.MarkOutput((((x * b) + c).Tanh() * 0.5).Exp() - b);
        return g;
    }

    private static Dictionary<string, Tensor> ChainFeeds() => new()
    {
        ["x"] = Tensor.RandN([7, 5], generator: new Generator(seed: 12)).MoveToOuterScope(),
        ["c"] = Tensor.RandN([7, 1], generator: new Generator(seed: 13)).MoveToOuterScope(),
    };

    [Test]
    public void FusedChainComputesTheSameValuesAsPlainCode()
    {
        Dictionary<string, Tensor> feeds = ChainFeeds();
        float[] fused = RunGraph(BuildChain(), new CompileOptions { Fuse = true }, feeds, out Graph fusedGraph);
        float[] plain = RunGraph(BuildChain(), new CompileOptions { Fuse = false }, feeds, out _);

        // The same values computed here, element by element.
        float[] x = feeds["x"].ToArray<float>(), c = feeds["c"].ToArray<float>();
        float[] b = Tensor.RandN([5], generator: new Generator(seed: 11)).ToArray<float>();
        var expected = new float[35];
        for (int i = 0; i < 7; i++)
        {
            for (int j = 0; j < 5; j++)
            {
                expected[i * 5 + j] = MathF.Exp(MathF.Tanh(x[i * 5 + j] * b[j] + c[i]) * 0.5f) - b[j];
            }
        }

        Assert.Multiple(() =>
        {
            Assert.That(fusedGraph.Nodes.Count(n => n.Op.Name == "FusedElementwise"), Is.EqualTo(1));
            Assert.That(fusedGraph.Nodes.Count, Is.EqualTo(1));
            Assert.That(fused, Is.EqualTo(plain).Within(1e-5f));
            Assert.That(fused, Is.EqualTo(expected).Within(1e-5f));
        });
    }

    [Test]
    public void NodeCountDrops()
    {
        using CompiledGraph plain = CompiledGraph.Compile(BuildChain(), new CompileOptions { Fuse = false });
        using CompiledGraph fused = CompiledGraph.Compile(BuildChain(), new CompileOptions { Fuse = true });
        Assert.That(plain.Graph.Nodes.Count, Is.EqualTo(6));
        Assert.That(fused.Graph.Nodes.Count, Is.EqualTo(1));
    }

    [Test]
    public void FusedChainNeedsNoIntermediateBuffers()
    {
        var g = new Graph();
        Value x = g.Input("x", DType.F32, 64, 64);
        g.MarkOutput(((x + 1.0).Relu().Exp() * 0.5).Sum());
        using CompiledGraph compiled = CompiledGraph.Compile(g);
        var feeds = new Dictionary<string, Tensor> { ["x"] = Tensor.RandN([64, 64], generator: new Generator(seed: 3)).MoveToOuterScope() };
        ExecutionPlan plan = compiled.PlanFor(feeds);
        const long tensorBytes = 64 * 64 * 4;
        Assert.That(plan.NaiveBytes, Is.LessThan(3 * tensorBytes), "the feed copy and the fused chain's one output");
        double expected = feeds["x"].ToArray<float>().Sum(v => Math.Exp(Math.Max(v + 1.0, 0)) * 0.5);
        Assert.That(compiled.Run(feeds)[0].Item<float>(), Is.EqualTo(expected).Within(1e-4).Percent);
    }

    [Test]
    public void AValueWithTwoConsumersIsNotFusedAway()
    {
        // v = tanh(x * 3) is read by two chains, so it stays materialized: {Mul, Tanh} and {Exp, Add} fuse apart,
        // and the lone Mul by 2 stays a plain node.
        Graph Build()
        {
            var g = new Graph();
            Value x = g.Input("x", DType.F32, "N", 4);
            Value v = (x * 3.0).Tanh();
            g.MarkOutput(v.Exp() + 1.0, v * 2.0);
            return g;
        }

        var feeds = new Dictionary<string, Tensor> { ["x"] = Tensor.RandN([3, 4], generator: new Generator(seed: 21)).MoveToOuterScope() };
        float[] fused0 = RunGraph(Build(), new CompileOptions { Fuse = true }, feeds, out Graph fusedGraph, 0);
        float[] fused1 = RunGraph(Build(), new CompileOptions { Fuse = true }, feeds, out _, 1);
        float[] plain0 = RunGraph(Build(), new CompileOptions { Fuse = false }, feeds, out _, 0);
        float[] plain1 = RunGraph(Build(), new CompileOptions { Fuse = false }, feeds, out _, 1);

        Node[] fusedNodes = fusedGraph.Nodes.Where(n => n.Op.Name == "FusedElementwise").ToArray();
        Node shared = fusedNodes.Single(n => n.Inputs.Any(v => v.Name == "x"));
        Assert.Multiple(() =>
        {
            Assert.That(fusedNodes, Has.Length.EqualTo(2));
            Assert.That(fusedGraph.Consumers(shared.Outputs[0]).Count(), Is.EqualTo(2));
            Assert.That(fusedGraph.Nodes.Count(n => n.Op.Name == "Mul"), Is.EqualTo(1));
            Assert.That(fused0, Is.EqualTo(plain0).Within(1e-6f));
            Assert.That(fused1, Is.EqualTo(plain1).Within(1e-6f));
        });
    }

    [Test]
    public void AGraphOutputInsideAChainIsKept()
    {
        var g = new Graph();
        Value x = g.Input("x", DType.F64, 6);
        Value inner = x.Exp() * 2.0;
        g.MarkOutput(inner, inner.Tanh().Exp());
        int fused = ElementwiseFusion.Run(g);
        Assert.Multiple(() =>
        {
            Assert.That(fused, Is.EqualTo(2));
            Assert.That(g.Outputs[0].Producer!.Op.Name, Is.EqualTo("FusedElementwise"));
            Assert.That(g.Outputs[1].Producer!.Inputs, Is.EqualTo(new[] { g.Outputs[0] }));
        });
    }
}

using Myelin.Execution;
using Myelin.Graphs;
using Myelin.Passes;
using Myelin.Scheduling;
using Myelin.Tests.TestSupport;
using NUnit.Framework;

namespace Myelin.Tests.Passes;

public class PassTests
{
    // y = relu(x W + b) * 1 + (2 * 3) - relu(x W + b) * 0 ... built with duplicates, constants and dead code.
    private static (Graph Graph, Value X) Build()
    {
        var g = new Graph();
        var generator = new Generator(seed: 5);
        Value x = g.Input("x", DType.F32, "N", 6);
        Value w = g.Parameter("w", Tensor.RandN([6, 4], generator: generator).MoveToOuterScope());
        Value b = g.Parameter("b", Tensor.RandN([4], generator: generator).MoveToOuterScope());
        Value h1 = (x.MatMul(w) + b).Relu();
        Value h2 = (x.MatMul(w) + b).Relu();
        Value folded = g.Scalar(2) * g.Scalar(3);
        _ = h1.Exp().Sum();
        g.MarkOutput(h1 * 1.0 + h2 * folded);
        return (g, x);
    }

    private static float[] Run(CompileOptions options, out Graph optimized)
    {
        (Graph g, _) = Build();
        using CompiledGraph compiled = CompiledGraph.Compile(g, options);
        optimized = compiled.Graph;
        var feeds = new Dictionary<string, Tensor> { ["x"] = Tensor.RandN([5, 6], generator: new Generator(seed: 9)).MoveToOuterScope() };
        return compiled.Run(feeds)[0].ToArray<float>();
    }

    [Test]
    public void OptimizedAndFusedGraphComputesTheSameValues()
    {
        float[] plain = Run(new CompileOptions { Optimize = false, Fuse = false }, out Graph unoptimized);
        float[] optimized = Run(new CompileOptions(), out Graph rewritten);
        Approx.AssertClose(optimized, Reference.ToDouble(plain), 1e-5, 1e-5);
        Assert.That(rewritten.Nodes.Count, Is.LessThan(unoptimized.Nodes.Count));
        Assert.That(rewritten.Nodes.Count(n => n.Op.Name == "FusedGemm"), Is.EqualTo(1), "CSE merged the two branches, fusion folded bias and ReLU");
        Assert.That(rewritten.Nodes.Any(n => n.Op.Name == "Exp"), Is.False, "dead code removed");
    }

    [Test]
    public void EachPassAloneKeepsTheValues()
    {
        float[] reference = Run(new CompileOptions { Optimize = false, Fuse = false }, out _);
        foreach (Func<Graph, int> pass in new Func<Graph, int>[]
        {
            DeadCodeElimination.Run, CommonSubexpressionElimination.Run, ConstantFolding.Run, AlgebraicSimplification.Run, EpilogueFusion.Run,
        })
        {
            (Graph g, _) = Build();
            int changes = pass(g);
            Assert.That(changes, Is.GreaterThan(0), pass.Method.DeclaringType!.Name);
            using CompiledGraph compiled = CompiledGraph.Compile(g, new CompileOptions { Optimize = false, Fuse = false });
            float[] result = compiled.Run(new Dictionary<string, Tensor> { ["x"] = Tensor.RandN([5, 6], generator: new Generator(seed: 9)).MoveToOuterScope() })[0].ToArray<float>();
            Approx.AssertClose(result, Reference.ToDouble(reference), 1e-5, 1e-5);
        }
    }

    [Test]
    public void ArenaPlanNeverOverlapsLiveBuffersAndReusesDeadOnes()
    {
        var generator = new Generator(seed: 11);
        var buffers = Enumerable.Range(0, 60).Select(i =>
        {
            int first = (int)(generator.NextUInt32() % 40);
            return new BufferLifetime(i, 1 + generator.NextUInt32() % 5000, first, first + (int)(generator.NextUInt32() % 10));
        }).ToList();
        (Dictionary<int, long> offsets, long arena) = ArenaPlanner.Plan(buffers);
        Assert.That(ArenaPlanner.IsValid(buffers, offsets), Is.True);
        Assert.That(offsets.Values.All(o => o % ArenaPlanner.Alignment == 0), Is.True);
        Assert.That(arena, Is.LessThan(buffers.Sum(b => b.Bytes)));
        long peakLive = Enumerable.Range(0, 50).Max(step => buffers.Where(b => b.FirstStep <= step && step <= b.LastStep).Sum(b => b.Bytes));
        Assert.That(arena, Is.GreaterThanOrEqualTo(peakLive));
    }

    [Test]
    public void ElementwiseChainRunsInPlace()
    {
        var g = new Graph();
        Value x = g.Input("x", DType.F32, 64, 64);
        g.MarkOutput(((x + 1.0).Relu().Exp() * 0.5).Sum());
        // Unfused, so the chain's intermediates exist and the planner must reuse one buffer in place.
        using CompiledGraph compiled = CompiledGraph.Compile(g, new CompileOptions { Fuse = false });
        var feeds = new Dictionary<string, Tensor> { ["x"] = Tensor.RandN([64, 64], generator: new Generator(seed: 3)).MoveToOuterScope() };
        ExecutionPlan plan = compiled.PlanFor(feeds);
        const long tensorBytes = 64 * 64 * 4;
        Assert.That(plan.NaiveBytes, Is.GreaterThanOrEqualTo(5 * tensorBytes));
        Assert.That(plan.ArenaBytes, Is.LessThanOrEqualTo(2 * tensorBytes + 2 * ArenaPlanner.Alignment), "the feed copy plus one buffer reused in place");
        double expected = feeds["x"].ToArray<float>().Sum(v => Math.Exp(Math.Max(v + 1.0, 0)) * 0.5);
        Assert.That(compiled.Run(feeds)[0].Item<float>(), Is.EqualTo(expected).Within(1e-4).Percent);
    }
}

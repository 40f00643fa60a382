using Myelin.Autodiff;
using Myelin.Execution;
using Myelin.Graphs;
using Myelin.Ops;
using NUnit.Framework;

namespace Myelin.Tests.Autodiff;

public class GradCheckTests
{
    private static IEnumerable<TestCaseData> CheckableOps() =>
        GradCheck.CheckableOps.Select(op => new TestCaseData(op.Name).SetName($"GradCheck_{op.Name}"));

    [TestCaseSource(nameof(CheckableOps))]
    public void RegisteredOpGradientMatchesFiniteDifferences(string opName)
    {
        GradCheckResult result = GradCheck.CheckOp(OpRegistry.Get(opName));
        Assert.That(result.Ok, Is.True, $"{opName}: max error {result.MaxRelativeError}: {result.Message}");
    }

    [Test]
    public void EveryRegisteredOpIsCheckedOrDeclaredNotDifferentiableOrGradientPending()
    {
        // No exemptions: a new op must bring a GradCheckCase, or override IsDifferentiable => false, or
        // (a backward op) say HasGradient => false.
        var unaccounted = OpRegistry.All.Values.Where(op => op.IsDifferentiable && op.HasGradient && op.GradCheckCase is null).Select(op => op.Name).ToList();
        Assert.That(unaccounted, Is.Empty, "differentiable ops without a GradCheckCase");
        var checkable = GradCheck.CheckableOps.Select(op => op.Name).ToHashSet();
        var notDifferentiable = GradCheck.NotDifferentiableOps.Select(op => op.Name).ToHashSet();
        var pending = GradCheck.GradientPendingOps.Select(op => op.Name).ToHashSet();
        Assert.That(checkable.Overlaps(notDifferentiable) || checkable.Overlaps(pending) || pending.Overlaps(notDifferentiable), Is.False);
        Assert.That(checkable.Count + notDifferentiable.Count + pending.Count, Is.EqualTo(OpRegistry.All.Count));
    }

    /// <summary>A differentiable op outside the registry whose gradient builder is not written.</summary>
    private sealed class WithoutGradientOp : OpDef
    {
        public override string Name => "WithoutGradient";

        public override int MinInputs => 1;

        public override bool HasGradient => false;

        protected override TensorType[] Infer(InferContext context) => [context.Input(0)];
    }

    [Test]
    public void DifferentiatingThroughAnOpWithoutAGradientFailsNamingTheNode()
    {
        var graph = new Graph();
        var x = graph.Input("x", DType.F64, 2, 5);
        var y = graph.Apply(new WithoutGradientOp(), [x.Tanh()], name: "pending")[0];
        var error = Assert.Throws<GraphValidationException>(() => Gradients.Of((y * y).Sum(), [x]));
        Assert.That(error!.Message, Does.Contain("'pending'").And.Contain("has no gradient"));
    }

    [Test]
    public void NoRegisteredOpIsGradientPending()
    {
        // Every backward op is differentiable in turn (issue 4: second derivatives through every op).
        Assert.That(GradCheck.GradientPendingOps.Select(op => op.Name), Is.Empty);
    }

    [Test]
    public void ComparisonsAndStateOpsAreDeclaredNotDifferentiable()
    {
        string[] expected = ["And", "Or", "Xor", "Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "Assign", "OptimizerStep", "CountRatio", "StopGradient"];
        Assert.That(GradCheck.NotDifferentiableOps.Select(op => op.Name), Is.SupersetOf(expected));
    }

    [Test]
    public void DropoutCaseDrawsOneMaskThatDropsSomeElements()
    {
        // The finite differences need the same mask every run, and an all-kept mask would check only the 1/(1-p) scale.
        GradCheckCase testCase = OpRegistry.Get("Dropout").GradCheckCase!;
        var graph = new Graph();
        Value x = graph.Input("x", DType.F64, testCase.Shapes[0].Select(Dim.Of).ToArray());
        graph.MarkOutput(testCase.Build!(graph, [x]));
        using CompiledGraph compiled = CompiledGraph.Compile(graph);
        using var scope = new TensorScope();
        var feeds = new Dictionary<string, Tensor> { ["x"] = Tensor.FromArray(Enumerable.Repeat(1.0, 32).ToArray(), new Shape(testCase.Shapes[0])) };
        double[] first = compiled.Run(feeds)[0].ToArray<double>();
        double[] second = compiled.Run(feeds)[0].ToArray<double>();
        Assert.That(second, Is.EqualTo(first));
        Assert.That(first, Has.Some.EqualTo(0.0));
        Assert.That(first, Has.Some.EqualTo(1 / 0.7).Within(1e-12));
        Assert.That(first.All(v => v == 0 || Math.Abs(v - 1 / 0.7) < 1e-12), Is.True);
    }

    [Test]
    public void AWrongGradientIsCaught()
    {
        // d/dx of x*x built as x (the true gradient is 2x): the check must fail.
        GradCheckResult result = GradCheck.Check("wrong", (g, x) => [x[0] * g.Apply("StopGradient", [x[0]])[0]], [[0.5, 1.5, -2]], [[3]]);
        Assert.That(result.Ok, Is.False);
        Assert.That(result.MaxRelativeError, Is.GreaterThan(0.1));
    }
}

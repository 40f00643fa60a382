using Myelin.Autodiff;
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
    public void EveryDifferentiableOpHasAGradCheckCase()
    {
        // Backward ops made only by autodiff are checked through the ops that create them; Reshape/Unsqueeze take constant shape inputs.
        string[] exempt = ["Dropout", "GatherGrad", "UnaryGrad", "SoftmaxGrad", "SliceGrad", "PoolGrad", "ConvGradData", "ConvGradFilter", "Reshape", "Unsqueeze"];
        var missing = OpRegistry.All.Values.Where(op => op.IsDifferentiable && op.GradCheckCase is null && !exempt.Contains(op.Name)).Select(op => op.Name).ToList();
        Assert.That(missing, Is.Empty);
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

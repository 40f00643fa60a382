using Myelin.Graphs;
using Myelin.Scheduling;
using NUnit.Framework;

namespace Myelin.Tests.Scheduling;

public class StagePlannerTests
{
    private static long Bytes(Value value) => value.Type.ToShape().ElementCount * value.DType.ElementSize();

    private static (List<Node> Order, StagePlan Plan) PlanStages(Graph g, int width)
    {
        List<Node> order = Scheduler.Order(Scheduler.LiveNodes(g, g.Outputs), Bytes);
        return (order, StagePlanner.Plan(order, n => !n.Op.IsView, Bytes, width, g.Inputs, g.Outputs));
    }

    // Six independent MatMul + Sum branches of x added together.
    private static Graph Fan()
    {
        var g = new Graph();
        var generator = new Generator(seed: 31);
        Value x = g.Input("x", DType.F32, 4, 16);
        Value total = Enumerable.Range(0, 6)
            .Select(i => x.MatMul(g.Parameter($"w{i}", Tensor.RandN([16, 4], generator: generator).MoveToOuterScope())).Sum())
            .Aggregate((a, b) => a + b);
        g.MarkOutput(total);
        return g;
    }

    private static void AssertDependenciesRespected(List<Node> order, StagePlan plan)
    {
        foreach (Node node in order.Where(n => !n.Op.IsView))
        {
            foreach (Node producer in node.Inputs.Select(v => Scheduler.Root(v).Producer).OfType<Node>())
            {
                Assert.That(plan.StageOf[producer], Is.LessThan(plan.StageOf[node]), $"{producer} feeds {node}");
            }
        }
    }

    [Test]
    public void WidthOneGivesEveryLaunchItsOwnStageInTheChosenOrder()
    {
        (List<Node> order, StagePlan plan) = PlanStages(Fan(), 1);
        List<Node> launches = order.Where(n => !n.Op.IsView).ToList();
        Assert.That(plan.StageCount, Is.EqualTo(launches.Count));
        for (int i = 0; i < launches.Count; i++) Assert.That(plan.StageOf[launches[i]], Is.EqualTo(i), launches[i].ToString());
        Assert.That(plan.PeakBytes, Is.EqualTo(plan.SequentialPeakBytes));
    }

    [TestCase(2)]
    [TestCase(3)]
    public void IndependentBranchesShareStagesUpToTheWidthAndDependenciesHold(int width)
    {
        (List<Node> order, StagePlan plan) = PlanStages(Fan(), width);
        int[] sizes = order.Where(n => !n.Op.IsView).GroupBy(n => plan.StageOf[n]).Select(s => s.Count()).ToArray();
        Assert.That(sizes.Max(), Is.EqualTo(width));
        Assert.That(plan.StageCount, Is.LessThan(order.Count(n => !n.Op.IsView)));
        AssertDependenciesRespected(order, plan);
        Assert.That(plan.PeakBytes, Is.LessThanOrEqualTo(plan.SequentialPeakBytes + plan.SequentialPeakBytes / StagePlanner.PeakSlackDivisor));
    }

    // Two branches x*2 and x*3, each summed: every branch result is as big as x. With keepAlive, a big input stays
    // live to the end, so the sequential peak leaves room for both branch results at once.
    private static Graph TwoBigBranches(bool keepAlive)
    {
        var g = new Graph();
        Value x = g.Input("x", DType.F32, 1000);
        Value sum = (x * 2.0).Sum() + (x * 3.0).Sum();
        if (keepAlive)
        {
            Value y = g.Input("y", DType.F32, 10000);
            g.MarkOutput(sum * y);
        }
        else
        {
            g.MarkOutput(sum);
        }

        return g;
    }

    [Test]
    public void BranchesAreNotMergedWhenThatWouldRaiseThePeakByMoreThanTheSlack()
    {
        (List<Node> order, StagePlan plan) = PlanStages(TwoBigBranches(keepAlive: false), 2);
        Node[] products = order.Where(n => n.Op.Name == "Mul").ToArray();
        Assert.That(products, Has.Length.EqualTo(2));
        Assert.That(plan.StageOf[products[0]], Is.Not.EqualTo(plan.StageOf[products[1]]));
        Assert.That(plan.SequentialPeakBytes, Is.EqualTo(2 * 4000 + 4), "x and one product, plus the first sum");
        Assert.That(plan.PeakBytes, Is.LessThanOrEqualTo(plan.SequentialPeakBytes + plan.SequentialPeakBytes / StagePlanner.PeakSlackDivisor));
        AssertDependenciesRespected(order, plan);
    }

    [Test]
    public void BranchesAreMergedWhenThePeakLeavesRoom()
    {
        (List<Node> order, StagePlan plan) = PlanStages(TwoBigBranches(keepAlive: true), 2);
        Node[] products = order.Where(n => n.Op.Name == "Mul" && n.Outputs[0].Type.ToShape().ElementCount == 1000).ToArray();
        Assert.That(products, Has.Length.EqualTo(2));
        Assert.That(plan.StageOf[products[0]], Is.EqualTo(plan.StageOf[products[1]]));
        Assert.That(plan.PeakBytes, Is.EqualTo(plan.SequentialPeakBytes), "the final product of y dominates both");
        AssertDependenciesRespected(order, plan);
    }

    [Test]
    public void AViewTakesTheStageAfterItsProducerAndItsReaderWaitsForTheProducer()
    {
        var g = new Graph();
        Value x = g.Input("x", DType.F32, 3, 5);
        Value w = g.Parameter("w", Tensor.Ones([5, 4]).MoveToOuterScope());
        Value product = x.MatMul(w);
        Value transposed = product.Transpose(1, 0);
        g.MarkOutput(transposed.Relu(), x.Exp());
        (List<Node> order, StagePlan plan) = PlanStages(g, 2);
        int producerStage = plan.StageOf[product.Producer!];
        Assert.That(plan.StageOf[transposed.Producer!], Is.EqualTo(producerStage + 1));
        Assert.That(plan.StageOf[g.Outputs[0].Producer!], Is.GreaterThan(producerStage));
        Assert.That(plan.StageOf[g.Outputs[1].Producer!], Is.Zero, "the independent Exp joins the first stage");
    }

    [Test]
    public void TwoWholeWritesOfOneParameterNeverShareAStage()
    {
        var g = new Graph();
        Value x = g.Input("x", DType.F32, 4);
        Value p = g.Parameter("p", Tensor.Zeros([4]).MoveToOuterScope());
        g.Apply("Assign", [p, x.Exp()], name: "first");
        g.Apply("Assign", [p, x.Relu()], name: "second");
        (List<Node> order, StagePlan plan) = PlanStages(g, 4);
        Node first = order.Single(n => n.Name == "first"), second = order.Single(n => n.Name == "second");
        Assert.That(plan.StageOf[first], Is.Not.EqualTo(plan.StageOf[second]));
    }

    [Test]
    public void ZeroWidthIsRejected()
    {
        (List<Node> order, _) = PlanStages(Fan(), 1);
        Assert.Throws<ArgumentOutOfRangeException>(() => StagePlanner.Plan(order, _ => true, Bytes, 0, [], []));
    }
}

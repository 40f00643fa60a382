using Myelin.Graphs;
using Myelin.NN;
using Myelin.Tests.TestSupport;
using NUnit.Framework;

namespace Myelin.Tests.NN;

public class LossTests
{
    private const string FixtureFile = "nn/loss_cases.myfx";

    // 95 cases written by tests/fixtures/make_loss_fixtures.py; a regenerated file with fewer fails CasesAreAllPresent.
    private const int ExpectedCaseCount = 95;

    private static Fixture? s_fixture;

    private static Fixture Cases => s_fixture ??= Fixture.Load(FixtureFile);

    private static IEnumerable<TestCaseData> CaseNames() =>
        Cases.Names.Where(n => n.EndsWith(".output", StringComparison.Ordinal)).Select(n => n[..^".output".Length])
            .Select(c => new TestCaseData(c).SetName($"Loss_{c.Replace('/', '_')}"));

    [Test]
    public void CasesAreAllPresent() => Assert.That(CaseNames().Count(), Is.EqualTo(ExpectedCaseCount));

    [TestCaseSource(nameof(CaseNames))]
    public void ValueAndInputGradientMatchPyTorch(string name)
    {
        string[] parts = name.Split('/');
        Reduction reduction = parts[2] switch
        {
            "mean" => Reduction.Mean, "sum" => Reduction.Sum, "none" => Reduction.None, "batchmean" => Reduction.BatchMean,
            _ => throw new ArgumentException($"case {name}: unknown reduction"),
        };
        Loss loss = CreateLoss(parts[0], name, reduction);
        (double[] output, double[] grad) = LossHarness.Run(loss, Cases[$"{name}.input"], Cases[$"{name}.target"], Cases[$"{name}.r"]);
        Approx.AssertClose(output, Cases[$"{name}.output"].ToArray<double>(), 1e-5, 1e-4);
        Approx.AssertClose(grad, Cases[$"{name}.grad"].ToArray<double>(), 1e-5, 1e-4);
    }

    private static Loss CreateLoss(string kind, string name, Reduction reduction)
    {
        Tensor? Option(string key) => Cases.Names.Contains($"{name}.{key}") ? Cases[$"{name}.{key}"] : null;
        Tensor? weight = Option("weight");
        long ignoreIndex = Option("ignore_index")?.Item<long>() ?? -100;
        double smoothing = Option("label_smoothing")?.Item<double>() ?? 0;
        return kind switch
        {
            "mse" => new MseLoss(reduction),
            "l1" => new L1Loss(reduction),
            "huber" => new HuberLoss(reduction, Option("delta")!.Item<double>()),
            "smoothl1" => new SmoothL1Loss(reduction, Option("beta")!.Item<double>()),
            "bce" => new BceLoss(weight, reduction),
            "bcelogits" => new BceWithLogitsLoss(weight, reduction, Option("pos_weight")),
            "ce" => new CrossEntropyLoss(weight, ignoreIndex, reduction, smoothing),
            "nll" => new NllLoss(weight, ignoreIndex, reduction),
            "kl" => new KLDivLoss(reduction, Option("log_target")?.Item<bool>() ?? false),
            _ => throw new ArgumentException($"case {name}: unknown loss {kind}"),
        };
    }

    [Test]
    public void IgnoredSamplesGetZeroGradient()
    {
        // Rows 1 and 4 of ce/index_ignore carry ignore_index -100: PyTorch's gradient there is 0, and so must ours be exactly.
        (_, double[] grad) = LossHarness.Run(new CrossEntropyLoss(), Cases["ce/index_ignore/mean.input"], Cases["ce/index_ignore/mean.target"], Cases["ce/index_ignore/mean.r"]);
        long[] target = Cases["ce/index_ignore/mean.target"].ToArray<long>();
        for (int row = 0; row < target.Length; row++)
        {
            bool ignored = target[row] == -100;
            double norm = grad.Skip(row * 5).Take(5).Sum(Math.Abs);
            Assert.That(ignored ? norm == 0 : norm > 0, Is.True, $"row {row} (target {target[row]}): gradient norm {norm}");
        }
    }

    [Test]
    public void CrossEntropyIsStableForHugeLogits()
    {
        // log-sum-exp: logits of 1e4 would overflow exp in float32 if the maximum were not subtracted.
        using Tensor logits = Tensor.FromArray(new float[] { 1e4f, 0, -1e4f, 0, 1e4f, 0 }, 2, 3);
        using Tensor target = Tensor.FromArray(new long[] { 0, 0 }, 2);
        using Tensor r = Tensor.Scalar(1f);
        (double[] output, double[] grad) = LossHarness.Run(new CrossEntropyLoss(reduction: Reduction.Sum), logits, target, r);
        Approx.AssertClose(output, [1e4], 1e-3, 1e-6);
        Approx.AssertClose(grad, [0, 0, 0, -1, 1, 0], 1e-6, 1e-6);
    }

    [Test]
    public void BadConfigurationThrowsNamingTheLoss()
    {
        Assert.That(() => new HuberLoss(delta: -1), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("HuberLoss: delta -1"));
        Assert.That(() => new SmoothL1Loss(beta: -0.5), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("SmoothL1Loss: beta -0.5"));
        Assert.That(() => new CrossEntropyLoss(labelSmoothing: 1.5), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("CrossEntropyLoss: label_smoothing 1.5"));
        Assert.That(() => new MseLoss(Reduction.BatchMean), Throws.ArgumentException.With.Message.Contains("MseLoss: reduction BatchMean"));
        using Tensor matrix = Tensor.Ones([2, 2]);
        Assert.That(() => new NllLoss(matrix), Throws.ArgumentException.With.Message.Contains("NllLoss: weight must have one value per class"));

        var g = new Graph();
        Value logits = g.Input("logits", DType.F32, "N", 5);
        using Tensor three = Tensor.Ones([3]);
        Assert.That(() => new CrossEntropyLoss(three).Apply(logits, g.Input("labels", DType.I64, "N")),
            Throws.InstanceOf<GraphValidationException>().With.Message.Contains("CrossEntropyLoss: weight has 3 values but input Nx5 has 5 classes"));
        Assert.That(() => new CrossEntropyLoss().Apply(logits, g.Input("wrong", DType.I64, "N", 5)),
            Throws.InstanceOf<GraphValidationException>().With.Message.Contains("CrossEntropyLoss: class-index target"));
        Assert.That(() => new NllLoss().Apply(logits, g.Input("soft", DType.F32, "N", 5)),
            Throws.InstanceOf<GraphValidationException>().With.Message.Contains("NllLoss: target 'soft' is f32"));
        Assert.That(() => new MseLoss().Apply(logits, g.Input("y", DType.F32, "N", 4)),
            Throws.InstanceOf<GraphValidationException>().With.Message.Contains("MseLoss: input Nx5 and target Nx4"));
        using Tensor wrongWeight = Tensor.Ones([4]);
        Assert.That(() => new BceWithLogitsLoss(posWeight: wrongWeight).Apply(logits, g.Input("t", DType.F32, "N", 5)),
            Throws.InstanceOf<GraphValidationException>().With.Message.StartsWith("BceWithLogitsLoss: ").And.Message.Contains("shapes 4 and Nx5 do not broadcast"));
        Assert.That(() => new KLDivLoss().Apply(logits, g.Input("p64", DType.F64, "N", 5)),
            Throws.InstanceOf<GraphValidationException>().With.Message.StartsWith("KLDivLoss: "));
    }

    [Test]
    public void OpsRejectAnUnknownReductionNamingTheNode()
    {
        var g = new Graph();
        Value x = g.Input("x", DType.F32, 2, 3);
        Assert.That(() => g.Apply("MeanSquaredError", [x, x], new Dictionary<string, object> { ["reduction"] = "average" }),
            Throws.InstanceOf<GraphValidationException>().With.Message.Contains("reduction \"average\" is not none, sum or mean"));
        Assert.That(() => g.Apply("HuberLoss", [x, x], new Dictionary<string, object> { ["delta"] = 0.0 }),
            Throws.InstanceOf<GraphValidationException>().With.Message.Contains("delta 0 must be positive"));
    }
}

/// <summary>Runs a loss on fixture tensors: its output and the gradient of sum(output * r) with respect to the input.</summary>
internal static class LossHarness
{
    public static (double[] Output, double[] Grad) Run(Loss loss, Tensor input, Tensor target, Tensor r)
    {
        var g = new Graph();
        Value x = g.Input("input", input.DType, input.Shape.ToArray().Select(Dim.Of).ToArray());
        Value t = g.Input("target", target.DType, target.Shape.ToArray().Select(Dim.Of).ToArray());
        using LayerHarness.GradientRun run = LayerHarness.Run([loss.Apply(x, t)], [r], [x], new Dictionary<string, Tensor> { ["input"] = input, ["target"] = target });
        return (LayerHarness.ToDouble(run.Outputs[0]), LayerHarness.ToDouble(run.Gradients[0]));
    }
}

using Myelin.Graphs;
using Myelin.NN;
using Myelin.Tests.TestSupport;
using NUnit.Framework;

namespace Myelin.Tests.NN;

public class ActivationTests
{
    private static IEnumerable<TestCaseData> Activations()
    {
        yield return new TestCaseData("relu", (Func<Layer>)(() => new ReLU()));
        yield return new TestCaseData("leaky_relu", (Func<Layer>)(() => new LeakyReLU(0.2)));
        yield return new TestCaseData("elu", (Func<Layer>)(() => new ELU(0.7)));
        yield return new TestCaseData("selu", (Func<Layer>)(() => new SELU()));
        yield return new TestCaseData("gelu", (Func<Layer>)(() => new GELU()));
        yield return new TestCaseData("gelu_tanh", (Func<Layer>)(() => new GELU("tanh")));
        yield return new TestCaseData("silu", (Func<Layer>)(() => new SiLU()));
        yield return new TestCaseData("mish", (Func<Layer>)(() => new Mish()));
        yield return new TestCaseData("sigmoid", (Func<Layer>)(() => new Sigmoid()));
        yield return new TestCaseData("tanh", (Func<Layer>)(() => new Tanh()));
        yield return new TestCaseData("softplus", (Func<Layer>)(() => new Softplus(beta: 2, threshold: 5)));
        yield return new TestCaseData("softsign", (Func<Layer>)(() => new Softsign()));
        yield return new TestCaseData("hardsigmoid", (Func<Layer>)(() => new HardSigmoid()));
        yield return new TestCaseData("hardswish", (Func<Layer>)(() => new HardSwish()));
        yield return new TestCaseData("softmax", (Func<Layer>)(() => new Softmax(0)));
        yield return new TestCaseData("log_softmax", (Func<Layer>)(() => new LogSoftmax(1)));
    }

    [TestCaseSource(nameof(Activations))]
    public void OutputAndInputGradientMatchPyTorch(string name, Func<Layer> create)
    {
        using Layer layer = create();
        using Fixture fixture = LayerHarness.Load("layers_activations");
        Tensor x = fixture["x"];
        var graph = new Graph();
        Value input = graph.Input("x", DType.F32, x.Shape.Select(d => Dim.Of(d)).ToArray());
        LayerHarness.AssertMatches(fixture, name, [(layer.Forward(input), "y." + name, "r")], [(input, "grad." + name)], new Dictionary<string, Tensor> { ["x"] = x });
    }

    [Test]
    public void IdentityReturnsItsInput()
    {
        var graph = new Graph();
        Value x = graph.Input("x", DType.F32, 2, 3);
        using var identity = new Identity();
        Assert.That(identity.Forward(x), Is.SameAs(x));
    }

    [TestCase("relu", typeof(ReLU))]
    [TestCase("GELU", typeof(GELU))]
    [TestCase("swish", typeof(SiLU))]
    [TestCase("log_softmax", typeof(LogSoftmax))]
    [TestCase("hardsigmoid", typeof(HardSigmoid))]
    public void CreateByNameGivesTheLayer(string name, Type expected)
    {
        using Layer layer = Activation.Create(name);
        Assert.That(layer, Is.TypeOf(expected));
    }

    [Test]
    public void CreateByNameMakesEveryKnownName()
    {
        foreach (string name in Activation.Names)
        {
            using Layer layer = Activation.Create(name);
            Assert.That(layer, Is.Not.Null, name);
        }
    }

    [Test]
    public void GeluTanhByNameUsesTheApproximation()
    {
        using Layer layer = Activation.Create("gelu_tanh");
        Assert.That(((GELU)layer).Approximate, Is.EqualTo("tanh"));
    }

    [Test]
    public void AnUnknownNameThrowsNamingItAndListingTheKnownOnes()
    {
        var e = Assert.Throws<ArgumentException>(() => Activation.Create("relu7"));
        Assert.That(e!.Message, Does.Contain("'relu7'").And.Contain("relu").And.Contain("gelu").And.Contain("tanh"));
    }

    [Test]
    public void BadArgumentsThrowNamingTheLayer()
    {
        Assert.That(Assert.Throws<ArgumentException>(() => _ = new GELU("erf"))!.Message, Does.Contain("GELU").And.Contain("erf"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => _ = new Softplus(beta: 0))!.Message, Does.Contain("Softplus").And.Contain("beta"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => _ = new PReLU(0))!.Message, Does.Contain("PReLU").And.Contain("num_parameters"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => _ = new LeakyReLU(double.NaN))!.Message, Does.Contain("LeakyReLU"));
    }

    [Test]
    public void PReLUWithTheWrongChannelCountThrowsNamingTheLayer()
    {
        using var model = new Sequential(new PReLU(4));
        var graph = new Graph();
        var e = Assert.Throws<GraphValidationException>(() => model.Forward(graph.Input("x", DType.F32, "N", 3, 5)));
        Assert.That(e!.Message, Does.Contain("PReLU '0'").And.Contain("4 slopes"));
    }

    [Test]
    public void SoftmaxWithAnAxisOutOfRangeThrowsNamingTheLayer()
    {
        using var softmax = new Softmax(2);
        var e = Assert.Throws<GraphValidationException>(() => softmax.Forward(new Graph().Input("x", DType.F32, 2, 3)));
        Assert.That(e!.Message, Does.Contain("Softmax").And.Contain("dim 2"));
    }
}

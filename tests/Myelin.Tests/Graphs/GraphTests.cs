using Myelin.Execution;
using Myelin.Graphs;
using Myelin.Ops;
using Myelin.Tests.TestSupport;
using NUnit.Framework;

namespace Myelin.Tests.Graphs;

public class GraphTests
{
    [Test]
    public void ValidationNamesTheNodeAndTheProblem()
    {
        var g = new Graph();
        Value x = g.Input("x", DType.F32, "N", 128);
        Value w = g.Parameter("w", Tensor.Zeros([64, 10]).MoveToOuterScope());
        var error = Assert.Throws<GraphValidationException>(() => g.Apply("MatMul", [x, w], name: "fc2"))!;
        Assert.That(error.Message, Is.EqualTo("node 'fc2' (MatMul): inner dims 128 and 64 differ (Nx128 times 64x10)"));
        Assert.That(error.NodeName, Is.EqualTo("fc2"));
    }

    [Test]
    public void ReshapeInfersASymbolicDimFromADerivedOne()
    {
        var g = new Graph();
        Value x = g.Input("x", DType.F32, 5, "N", 8);
        Value rows = g.Apply("Reshape", [x, g.Constant(Tensor.FromArray(new long[] { -1, 8 }).MoveToOuterScope())])[0];
        Assert.That(rows.Type.ShapeText, Is.EqualTo("N*5x8"));
        Value back = g.Apply("Reshape", [rows, g.Constant(Tensor.FromArray(new long[] { 5, -1, 8 }).MoveToOuterScope())])[0];
        Assert.That(back.Type.ShapeText, Is.EqualTo("5xNx8"));
        var error = Assert.Throws<GraphValidationException>(() => g.Apply("Reshape", [rows, g.Constant(Tensor.FromArray(new long[] { 3, -1, 8 }).MoveToOuterScope())]))!;
        Assert.That(error.Message, Does.Contain("cannot reshape N*5x8 to [3, -1, 8]"));
    }

    [Test]
    public void SymbolicDimsFlowThroughInference()
    {
        var g = new Graph();
        Value x = g.Input("x", DType.F32, "N", "T", 8);
        Value y = g.Apply("Flatten", [x], new Dictionary<string, object> { ["axis"] = 2L })[0];
        Assert.That(y.Type.ShapeText, Is.EqualTo("N*T x8".Replace(" ", "", StringComparison.Ordinal)));
        Value s = (x.Relu() + g.Scalar(1)).Sum([2]);
        Assert.That(s.Type.ShapeText, Is.EqualTo("NxT"));
    }

    [Test]
    public void UnknownAttributeAndOpAreRejected()
    {
        var g = new Graph();
        Value x = g.Input("x", DType.F32, 2);
        Assert.That(() => g.Apply("Relu", [x], new Dictionary<string, object> { ["alpha"] = 1.0 }, "r"),
            Throws.TypeOf<GraphValidationException>().With.Message.Contains("node 'r' (Relu): unknown attribute 'alpha'"));
        Assert.That(() => g.Apply("NoSuchOp", [x]), Throws.TypeOf<GraphValidationException>().With.Message.Contains("Unknown op 'NoSuchOp'"));
    }

    [Test]
    public void RunComputesWhatPlainCodeComputes()
    {
        var g = new Graph();
        Value a = g.Input("a", DType.F32, "N", 3);
        Value b = g.Input("b", DType.F32, 3);
        g.MarkOutput((a * b + 1.0).Transpose().Relu() / 2.0);
        using CompiledGraph compiled = CompiledGraph.Compile(g);
        float[] av = [1, -2, 3, 4, 5, -6], bv = [2, 1, -1];
        IReadOnlyList<Tensor> result = compiled.Run(new Dictionary<string, Tensor>
        {
            ["a"] = Tensor.FromArray(av, [2, 3]).MoveToOuterScope(), ["b"] = Tensor.FromArray(bv).MoveToOuterScope(),
        });
        var expected = new double[6];
        for (int i = 0; i < 2; i++)
        {
            for (int j = 0; j < 3; j++) expected[j * 2 + i] = Math.Max(av[i * 3 + j] * bv[j] + 1, 0) / 2;
        }

        Assert.That(result[0].Shape, Is.EqualTo(new Shape(3, 2)));
        Approx.AssertClose(result[0].ToArray<float>(), expected);
    }

    [Test]
    public void FeedErrorsAreTypedAndNameTheFeed()
    {
        var g = new Graph();
        Value x = g.Input("x", DType.F32, "N", 3);
        g.MarkOutput(x.Exp());
        using CompiledGraph compiled = CompiledGraph.Compile(g);
        using var scope = new TensorScope();
        Assert.That(() => compiled.Run(new Dictionary<string, Tensor>()), Throws.TypeOf<FeedException>().With.Message.Contains("'x'").And.Message.Contains("missing"));
        Assert.That(() => compiled.Run(new Dictionary<string, Tensor> { ["x"] = Tensor.Zeros([2, 3]), ["y"] = Tensor.Zeros([1]) }),
            Throws.TypeOf<FeedException>().With.Property("FeedName").EqualTo("y"));
        Assert.That(() => compiled.Run(new Dictionary<string, Tensor> { ["x"] = Tensor.Zeros([2, 3], DType.F64) }),
            Throws.TypeOf<FeedException>().With.Message.Contains("f64"));
        Assert.That(() => compiled.Run(new Dictionary<string, Tensor> { ["x"] = Tensor.Zeros([2, 4]) }),
            Throws.TypeOf<FeedException>().With.Message.Contains("2x4").And.Message.Contains("Nx3"));
    }

    [Test]
    public void RegistryHasOneDefinitionPerOpWithOnnxIdentity()
    {
        Assert.That(OpRegistry.All.Count, Is.GreaterThanOrEqualTo(60));
        Assert.That(OpRegistry.FindOnnx("", "Relu", 14)?.Name, Is.EqualTo("Relu"));
        Assert.That(OpRegistry.FindOnnx("", "ReduceSum", 11)?.Name, Is.EqualTo("ReduceSum"));
        Assert.That(OpRegistry.FindOnnx("", "ReduceSum", 13)?.Name, Is.EqualTo("ReduceSum"), "one definition takes axes as the attribute (opsets 1-12) or the input (13+)");
    }
}

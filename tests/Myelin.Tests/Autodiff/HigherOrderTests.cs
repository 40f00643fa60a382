using Myelin.Autodiff;
using Myelin.Execution;
using Myelin.Graphs;
using Myelin.Tests.TestSupport;
using NUnit.Framework;

namespace Myelin.Tests.Autodiff;

public class HigherOrderTests
{
    private static Value Constant(Graph g, Generator generator, params long[] shape)
    {
        double[] values = new double[shape.Aggregate(1L, (p, d) => p * d)];
        generator.FillNormal(values);
        return g.Constant(Tensor.FromArray(values, new Shape(shape)).MoveToOuterScope());
    }

    /// <summary>
    /// Checks the Hessian-vector product H v of <paramref name="loss"/>(x) (built as the gradient of &lt;gradient, v&gt;)
    /// against central differences of the gradient along a random v, at a random normal x of <paramref name="shape"/>.
    /// </summary>
    private static void AssertHessianVectorProductMatchesFiniteDifferences(long[] shape, Func<Graph, Value, Generator, Value> loss, ulong seed)
    {
        var generator = new Generator(seed);
        var g = new Graph();
        Value x = g.Input("x", DType.F64, shape.Select(Dim.Of).ToArray());
        Value v = Constant(g, generator, shape);
        Value gradient = Gradients.Of(loss(g, x, generator), [x])[0]!;
        Value hv = Gradients.Of((gradient * v).Sum(), [x])[0]!;
        AssertDirectionalDerivative(x, gradient, hv, v, generator);
    }

    /// <summary>
    /// Checks that <paramref name="derivative"/> is the derivative of <paramref name="value"/> (both functions of the graph
    /// input <paramref name="x"/>) along the constant <paramref name="direction"/>, by central differences at a random normal x.
    /// </summary>
    private static void AssertDirectionalDerivative(Value x, Value value, Value derivative, Value direction, Generator generator)
    {
        Graph g = x.Graph;
        g.MarkOutput(value, derivative);
        using CompiledGraph compiled = CompiledGraph.Compile(g);
        Shape shape = x.Type.ToShape();
        double[] x0 = new double[shape.ElementCount];
        generator.FillNormal(x0);
        double[] along = direction.Data!.ToArray<double>();
        IReadOnlyList<Tensor> RunAt(double step) => compiled.Run(new Dictionary<string, Tensor>
        {
            [x.Name] = Tensor.FromArray(x0.Select((value, i) => value + step * along[i]).ToArray(), shape).MoveToOuterScope(),
        });

        double[] analytic = RunAt(0)[1].ToArray<double>();
        const double epsilon = 1e-5;
        double[] plus = RunAt(epsilon)[0].ToArray<double>(), minus = RunAt(-epsilon)[0].ToArray<double>();
        double[] numeric = plus.Select((p, i) => (p - minus[i]) / (2 * epsilon)).ToArray();
        Assert.That(analytic.Any(a => Math.Abs(a) > 1e-3), "the product is not trivially zero");
        Approx.AssertClose(analytic, numeric, absolute: 1e-6, relative: 1e-5);
    }

    /// <summary>sum(tanh(y) * w) with fixed random weights w: every element of y gets its own second derivative.</summary>
    private static Value WeightedTanhSum(Graph g, Value y, Generator generator) =>
        (y.Tanh() * Constant(g, generator, y.Type.ToShape().ToArray())).Sum();

    private static Value Apply(Graph g, string op, Value[] inputs, Dictionary<string, object>? attributes = null, int output = 0) =>
        g.Apply(op, inputs, attributes)[output];

    [Test]
    public void HessianVectorProductOfTanhMlpMatchesFiniteDifferences() =>
        AssertHessianVectorProductMatchesFiniteDifferences([3, 4], (g, x, generator) =>
        {
            Value w1 = Constant(g, generator, 4, 5), b1 = Constant(g, generator, 5), w2 = Constant(g, generator, 5, 2);
            return ((x.MatMul(w1) + b1).Tanh().MatMul(w2).Tanh()).Sum();
        }, seed: 7);

    [Test]
    public void HessianVectorProductThroughLayerNormMatchesFiniteDifferences() =>
        // The second derivative runs through NormGrad, whose mean and invstd inputs are LayerNormalization's outputs:
        // their gradients must reach x through the forward node.
        AssertHessianVectorProductMatchesFiniteDifferences([3, 2, 4], (g, x, generator) =>
            WeightedTanhSum(g, Apply(g, "LayerNormalization", [x, Constant(g, generator, 2, 4), Constant(g, generator, 2, 4)],
                new Dictionary<string, object> { ["axis"] = 1L }), generator), seed: 11);

    [Test]
    public void HessianVectorProductThroughGroupNormMatchesFiniteDifferences() =>
        AssertHessianVectorProductMatchesFiniteDifferences([2, 4, 3], (g, x, generator) =>
            WeightedTanhSum(g, Apply(g, "GroupNormalization", [x, Constant(g, generator, 4), Constant(g, generator, 4)],
                new Dictionary<string, object> { ["num_groups"] = 2L }), generator), seed: 12);

    [Test]
    public void HessianVectorProductThroughTrainingBatchNormMatchesFiniteDifferences() =>
        AssertHessianVectorProductMatchesFiniteDifferences([4, 3, 2, 2], (g, x, generator) =>
        {
            Value mean = g.Parameter("running_mean", Tensor.Zeros([3], DType.F64).MoveToOuterScope());
            Value variance = g.Parameter("running_var", Tensor.Ones([3], DType.F64).MoveToOuterScope());
            return WeightedTanhSum(g, Apply(g, "BatchNormalization", [x, Constant(g, generator, 3), Constant(g, generator, 3), mean, variance],
                new Dictionary<string, object> { ["training_mode"] = 1L }), generator);
        }, seed: 13);

    [Test]
    public void HessianVectorProductThroughInferenceBatchNormMatchesFiniteDifferences() =>
        AssertHessianVectorProductMatchesFiniteDifferences([2, 3, 2, 2], (g, x, generator) =>
        {
            Value variance = Constant(g, generator, 3).Exp();
            return WeightedTanhSum(g, Apply(g, "BatchNormalization", [x, Constant(g, generator, 3), Constant(g, generator, 3), Constant(g, generator, 3), variance]), generator);
        }, seed: 14);

    private static Dictionary<string, object> PoolAttributes() => new()
    {
        ["kernel_shape"] = new long[] { 3, 2 }, ["strides"] = new long[] { 2, 1 }, ["pads"] = new long[] { 1, 0, 1, 1 },
    };

    [Test]
    public void HessianVectorProductThroughMaxPoolMatchesFiniteDifferences() =>
        // tanh before and after the pooling, so the Hessian needs PoolGrad's gradient with respect to dy.
        AssertHessianVectorProductMatchesFiniteDifferences([2, 2, 5, 5], (g, x, generator) =>
            WeightedTanhSum(g, Apply(g, "MaxPool", [x.Tanh()], PoolAttributes()), generator), seed: 15);

    [Test]
    public void HessianVectorProductThroughAveragePoolMatchesFiniteDifferences() =>
        AssertHessianVectorProductMatchesFiniteDifferences([2, 2, 5, 5], (g, x, generator) =>
        {
            Dictionary<string, object> attributes = PoolAttributes();
            attributes["count_include_pad"] = 1L;
            return WeightedTanhSum(g, Apply(g, "AveragePool", [x.Tanh()], attributes), generator) +
                WeightedTanhSum(g, Apply(g, "AveragePool", [x.Tanh()], PoolAttributes()), generator);
        }, seed: 16);

    [Test]
    public void ThirdDerivativeThroughLayerNormMatchesFiniteDifferencesOfTheSecond()
    {
        // d/dx <H(x) v, u> against central differences of H(x) v along u: the gradient of NormGrad's own gradient.
        var generator = new Generator(17);
        var g = new Graph();
        Value x = g.Input("x", DType.F64, 3, 4);
        Value v = Constant(g, generator, 3, 4), u = Constant(g, generator, 3, 4);
        Value loss = WeightedTanhSum(g, Apply(g, "LayerNormalization", [x, Constant(g, generator, 4), Constant(g, generator, 4)]), generator);
        Value gradient = Gradients.Of(loss, [x])[0]!;
        Value hv = Gradients.Of((gradient * v).Sum(), [x])[0]!;
        Value third = Gradients.Of((hv * u).Sum(), [x])[0]!;
        AssertDirectionalDerivative(x, hv, third, u, generator);
    }

    [Test]
    public void FanOutAccumulatesAndStopGradientBlocks()
    {
        var g = new Graph();
        Value x = g.Input("x", DType.F64, 3);
        // y = x*x + x + stop(x)*x: dy/dx = 2x + 1 + x (the stopped factor is a constant).
        Value y = (x * x + x + g.Apply("StopGradient", [x])[0] * x).Sum();
        g.MarkOutput(Gradients.Of(y, [x])[0]!);
        using CompiledGraph compiled = CompiledGraph.Compile(g);
        double[] result = compiled.Run(new Dictionary<string, Tensor> { ["x"] = Tensor.FromArray(new[] { 1.0, -2, 3 }).MoveToOuterScope() })[0].ToArray<double>();
        Approx.AssertClose(result, [4.0, -5, 10]);
    }

    [Test]
    public void GradientOfAnUnrelatedValueIsNull()
    {
        var g = new Graph();
        Value x = g.Input("x", DType.F32, 2), z = g.Input("z", DType.F32, 2);
        Assert.That(Gradients.Of(x.Tanh().Sum(), [x, z])[1], Is.Null);
    }
}

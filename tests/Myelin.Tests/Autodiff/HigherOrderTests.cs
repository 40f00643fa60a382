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

    [Test]
    public void HessianVectorProductOfTanhMlpMatchesFiniteDifferences()
    {
        var generator = new Generator(seed: 7);
        var g = new Graph();
        Value x = g.Input("x", DType.F64, 3, 4);
        Value w1 = Constant(g, generator, 4, 5), b1 = Constant(g, generator, 5), w2 = Constant(g, generator, 5, 2), v = Constant(g, generator, 3, 4);
        Value loss = ((x.MatMul(w1) + b1).Tanh().MatMul(w2).Tanh()).Sum();
        Value gradient = Gradients.Of(loss, [x])[0]!;
        Value hv = Gradients.Of((gradient * v).Sum(), [x])[0]!;
        g.MarkOutput(gradient, hv);
        using CompiledGraph compiled = CompiledGraph.Compile(g);

        double[] x0 = new double[12];
        generator.FillNormal(x0);
        double[] direction = g.Nodes.SelectMany(n => n.Inputs).First(i => i == v).Data!.ToArray<double>();
        double[] GradientAt(double step)
        {
            double[] shifted = x0.Select((value, i) => value + step * direction[i]).ToArray();
            return compiled.Run(new Dictionary<string, Tensor> { ["x"] = Tensor.FromArray(shifted, new Shape(3, 4)).MoveToOuterScope() })[0].ToArray<double>();
        }

        double[] analytic = compiled.Run(new Dictionary<string, Tensor> { ["x"] = Tensor.FromArray(x0, new Shape(3, 4)).MoveToOuterScope() })[1].ToArray<double>();
        const double epsilon = 1e-5;
        double[] plus = GradientAt(epsilon), minus = GradientAt(-epsilon);
        double[] numeric = plus.Select((p, i) => (p - minus[i]) / (2 * epsilon)).ToArray();
        Assert.That(analytic.Any(a => Math.Abs(a) > 1e-3), "the product is not trivially zero");
        Approx.AssertClose(analytic, numeric, absolute: 1e-6, relative: 1e-5);
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

using Myelin.Execution;
using Myelin.Graphs;
using Myelin.NN;
using NUnit.Framework;

namespace Myelin.Tests.NN;

public sealed class AttributionTests
{
    [Test]
    public void SaliencyOfALinearModelIsTheTargetRowOfItsWeight()
    {
        using var scope = new TensorScope();
        using var model = new Linear(4, 3, dtype: DType.F64, generator: new Generator(3));
        using var attribution = new Attribution(model, DType.F64, 4);
        Tensor inputs = Tensor.RandN([2, 4], DType.F64, new Generator(4));
        double[] saliency = attribution.Saliency(inputs, [2, 0]).ToArray<double>();
        double[] weight = model.Weight.ToArray<double>();
        for (int j = 0; j < 4; j++)
        {
            Assert.That(saliency[j], Is.EqualTo(weight[2 * 4 + j]).Within(1e-6));
            Assert.That(saliency[4 + j], Is.EqualTo(weight[0 * 4 + j]).Within(1e-6));
        }
    }

    [Test]
    public void SaliencyMatchesFiniteDifferencesOfTheSelectedOutput()
    {
        using var scope = new TensorScope();
        using var model = Mlp(7);
        using var attribution = new Attribution(model, DType.F64, 3);
        double[] x = [0.3, -0.7, 1.1];
        double[] saliency = attribution.Saliency(Tensor.FromArray(x, [1, 3]), [1]).ToArray<double>();
        using var forward = Forward(model);
        for (int j = 0; j < 3; j++)
        {
            const double h = 1e-5;
            double[] plus = (double[])x.Clone(), minus = (double[])x.Clone();
            plus[j] += h;
            minus[j] -= h;
            double numeric = (Output(forward, plus, 1) - Output(forward, minus, 1)) / (2 * h);
            Assert.That(saliency[j], Is.EqualTo(numeric).Within(1e-6 + 1e-5 * Math.Abs(numeric)), $"input {j}");
        }
    }

    [Test]
    public void IntegratedGradientsAddUpToTheOutputChangeFromTheBaseline()
    {
        using var scope = new TensorScope();
        using var model = Mlp(11);
        using var attribution = new Attribution(model, DType.F64, 3);
        double[] x = [0.9, -1.3, 0.4, -0.2, 0.8, 1.5];
        double[] coarse = attribution.IntegratedGradients(Tensor.FromArray(x, [2, 3]), [0, 1], steps: 4).ToArray<double>();
        double[] fine = attribution.IntegratedGradients(Tensor.FromArray(x, [2, 3]), [0, 1], steps: 400).ToArray<double>();
        using var forward = Forward(model);
        for (int i = 0; i < 2; i++)
        {
            int target = i;
            double change = Output(forward, x[(3 * i)..(3 * i + 3)], target) - Output(forward, new double[3], target);
            double fineSum = fine[(3 * i)..(3 * i + 3)].Sum(), coarseSum = coarse[(3 * i)..(3 * i + 3)].Sum();
            Assert.That(fineSum, Is.EqualTo(change).Within(0.01 * Math.Abs(change) + 1e-4), $"sample {i}");
            Assert.That(Math.Abs(fineSum - change), Is.LessThan(Math.Abs(coarseSum - change)), $"sample {i}: more steps must approach completeness");
        }
    }

    [Test]
    public void BadTargetsAndShapesNameTheProblem()
    {
        using var scope = new TensorScope();
        using var model = new Linear(2, 3);
        using var attribution = new Attribution(model, DType.F32, 2);
        Assert.That(() => attribution.Saliency(Tensor.Zeros([1, 2]), [3]), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("target 3"));
        Assert.That(() => attribution.Saliency(Tensor.Zeros([2, 2]), [0]), Throws.ArgumentException.With.Message.Contains("1 targets for 2 samples"));
        using var flat = new Flatten(startDim: 2);
        Assert.That(() => new Attribution(flat, DType.F32, 2, 2, 2), Throws.ArgumentException.With.Message.Contains("[N, classes]"));
    }

    private static Sequential Mlp(ulong seed) =>
        new(new Linear(3, 8, dtype: DType.F64, generator: new Generator(seed)), new Tanh(), new Linear(8, 2, dtype: DType.F64, generator: new Generator(seed + 1)));

    private static CompiledGraph Forward(Layer model)
    {
        var graph = new Graph();
        graph.MarkOutput(model.Forward(graph.Input("x", DType.F64, 1, 3)));
        return CompiledGraph.Compile(graph);
    }

    private static double Output(CompiledGraph forward, double[] x, int target) =>
        forward.Run(new Dictionary<string, Tensor> { ["x"] = Tensor.FromArray(x, [1, 3]) })[0].ToArray<double>()[target];
}

using Myelin.Execution;
using Myelin.Graphs;
using Myelin.Ops;

namespace Myelin.Autodiff;

/// <summary>The outcome of one gradient check.</summary>
/// <param name="Op">What was checked (an op name, or "custom").</param>
/// <param name="Ok">Whether every element agreed within the tolerance.</param>
/// <param name="MaxRelativeError">Largest |analytic - numeric| / max(1, |numeric|) over all input elements.</param>
/// <param name="Message">Why it failed, if it did.</param>
public sealed record GradCheckResult(string Op, bool Ok, double MaxRelativeError, string? Message = null);

/// <summary>
/// Checks symbolic gradients against central finite differences. The function is reduced to a scalar
/// L = sum(f(x) * w) with fixed random weights w, so every output element's gradient is exercised.
/// </summary>
public static class GradCheck
{
    /// <summary>Default tolerance on the mixed error |a - n| / max(1, |n|) in float64.</summary>
    public const double DefaultTolerance = 1e-6;

    /// <summary>
    /// Checks the gradients of <paramref name="build"/>(graph, inputs) with respect to every input, at the values
    /// <paramref name="inputs"/> (float64 CPU tensors), with step <paramref name="epsilon"/>.
    /// </summary>
    public static GradCheckResult Check(string name, Func<Graph, Value[], Value[]> build, IReadOnlyList<double[]> inputs, IReadOnlyList<long[]> shapes,
        double epsilon = 1e-6, double tolerance = DefaultTolerance, int seed = 1)
    {
        var graph = new Graph();
        Value[] x = shapes.Select((s, i) => graph.Input($"x{i}", DType.F64, s.Select(Dim.Of).ToArray())).ToArray();
        Value[] ys = build(graph, x);
        var generator = new Generator((ulong)seed);
        Value? loss = null;
        foreach (Value y in ys.Where(v => v.DType.IsFloatingPoint()))
        {
            double[] w = new double[y.Type.ToShape().ElementCount];
            generator.FillUniform(w);
            for (int i = 0; i < w.Length; i++) w[i] = w[i] * 2 - 1;
            Value weighted = (y * graph.Constant(Tensor.FromArray(w, y.Type.ToShape()).MoveToOuterScope())).Sum();
            loss = loss is null ? weighted : loss + weighted;
        }

        if (loss is null) return new GradCheckResult(name, false, double.NaN, "the function has no floating-point output");
        Value?[] grads = Gradients.Of(loss, x);
        graph.MarkOutput([loss, .. grads.Where(g => g is not null).Cast<Value>()]);
        using CompiledGraph compiled = CompiledGraph.Compile(graph);

        var feeds = new Dictionary<string, Tensor>();
        using var scope = new TensorScope();
        for (int i = 0; i < x.Length; i++) feeds[x[i].Name] = Tensor.FromArray(inputs[i], new Shape(shapes[i]));
        IReadOnlyList<Tensor> results = compiled.Run(feeds);
        var analytic = new double[x.Length][];
        for (int i = 0, k = 1; i < x.Length; i++)
        {
            analytic[i] = grads[i] is null ? new double[inputs[i].Length] : results[k++].ToArray<double>();
        }

        double LossAt(int input, int element, double delta)
        {
            double[] values = (double[])inputs[input].Clone();
            values[element] += delta;
            using Tensor feed = Tensor.FromArray(values, new Shape(shapes[input]));
            Tensor original = feeds[x[input].Name];
            feeds[x[input].Name] = feed;
            double value = compiled.Run(feeds)[0].Item<double>();
            feeds[x[input].Name] = original;
            return value;
        }

        double worst = 0;
        string? message = null;
        for (int i = 0; i < x.Length; i++)
        {
            for (int e = 0; e < inputs[i].Length; e++)
            {
                double numeric = (LossAt(i, e, epsilon) - LossAt(i, e, -epsilon)) / (2 * epsilon);
                double error = Math.Abs(analytic[i][e] - numeric) / Math.Max(1, Math.Abs(numeric));
                if (double.IsNaN(error)) error = double.PositiveInfinity;
                if (error > worst)
                {
                    worst = error;
                    if (error > tolerance) message = $"input {i} element {e}: analytic {analytic[i][e]:R} vs numeric {numeric:R}";
                }
            }
        }

        return new GradCheckResult(name, worst <= tolerance, worst, worst <= tolerance ? null : message);
    }

    /// <summary>The registered ops that have a gradient-check case (every differentiable op should).</summary>
    public static IReadOnlyList<OpDef> CheckableOps => OpRegistry.All.Values.Where(op => op.GradCheckCase is not null).ToList();

    /// <summary>The registered ops declared not differentiable (<see cref="OpDef.IsDifferentiable"/> false), which have no check.</summary>
    public static IReadOnlyList<OpDef> NotDifferentiableOps => OpRegistry.All.Values.Where(op => !op.IsDifferentiable && op.GradCheckCase is null).ToList();

    /// <summary>Differentiable ops whose own gradient is not built yet (<see cref="OpDef.HasGradient"/> false): backward ops, so only second derivatives are missing.</summary>
    public static IReadOnlyList<OpDef> GradientPendingOps => OpRegistry.All.Values.Where(op => op.IsDifferentiable && !op.HasGradient && op.GradCheckCase is null).ToList();

    /// <summary>Checks one registered op on its <see cref="OpDef.GradCheckCase"/>.</summary>
    public static GradCheckResult CheckOp(OpDef op, int seed = 1)
    {
        ArgumentNullException.ThrowIfNull(op);
        GradCheckCase testCase = op.GradCheckCase ?? throw new ArgumentException($"{op.Name} has no gradient-check case.", nameof(op));
        try
        {
            double[][] inputs = MakeInputs(testCase, seed);
            return Check(op.Name, testCase.Build ?? ((g, x) => g.Apply(op, x, testCase.Attributes)), inputs, testCase.Shapes, seed: seed);
        }
        catch (MyelinException exception)
        {
            return new GradCheckResult(op.Name, false, double.NaN, exception.Message);
        }
    }

    private static double[][] MakeInputs(GradCheckCase testCase, int seed)
    {
        var generator = new Generator((ulong)seed + 100);
        long[] counts = testCase.Shapes.Select(s => s.Aggregate(1L, (p, d) => p * d)).ToArray();
        var inputs = counts.Select(c => new double[c]).ToArray();
        if (testCase.DistinctInputs)
        {
            // Evenly spaced distinct values, shuffled: ties (where Max/Min/ReduceMax have no derivative) cannot occur.
            int total = (int)counts.Sum();
            double[] pool = Enumerable.Range(0, total).Select(k => testCase.Low + (k + 0.5) * (testCase.High - testCase.Low) / total).ToArray();
            for (int k = total - 1; k > 0; k--)
            {
                int j = (int)(generator.NextUInt32() % (uint)(k + 1));
                (pool[k], pool[j]) = (pool[j], pool[k]);
            }

            int next = 0;
            foreach (double[] input in inputs)
            {
                for (int e = 0; e < input.Length; e++) input[e] = pool[next++];
            }

            return inputs;
        }

        foreach (double[] input in inputs)
        {
            for (int e = 0; e < input.Length; e++)
            {
                double value = testCase.Low + generator.NextDouble() * (testCase.High - testCase.Low);
                if (Math.Abs(value) < testCase.AwayFromZero) value = value < 0 ? value - testCase.AwayFromZero : value + testCase.AwayFromZero;
                input[e] = value;
            }
        }

        return inputs;
    }
}

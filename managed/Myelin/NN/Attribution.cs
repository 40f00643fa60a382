using Myelin.Autodiff;
using Myelin.Execution;
using Myelin.Graphs;

namespace Myelin.NN;

/// <summary>
/// Input attributions from autodiff for any model whose output is [N, classes] (or [N, 1] for a regression):
/// how much each input element drives one output per sample. The model runs in evaluation mode (its mode is
/// restored afterwards), so samples do not interact and one batched pass gives every sample's gradient.
/// </summary>
public sealed class Attribution : IDisposable
{
    private readonly Layer _model;
    private readonly CompiledGraph _gradient;

    /// <summary>Compiles the input gradient of <paramref name="model"/> for inputs of <paramref name="dtype"/> shaped [N, <paramref name="sampleDims"/>...].</summary>
    public Attribution(Layer model, DType dtype, params long[] sampleDims)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sampleDims);
        _model = model;
        bool training = model.IsTraining;
        model.Eval();
        try
        {
            var graph = new Graph();
            Value x = graph.Input("x", dtype, [Dim.Sym("N"), .. sampleDims.Select(Dim.Of)]);
            Value y = model.Forward(x);
            if (y.Rank != 2 || !y.Type[1].IsKnown)
            {
                throw new ArgumentException($"{model.DisplayName}: attribution needs an output of shape [N, classes] but the model gives {y.Type.ShapeText}.", nameof(model));
            }

            Classes = y.Type[1].Value;
            // The selected output of each sample is sum(y * mask) with a one-hot mask per row; samples are independent.
            Value mask = graph.Input("mask", dtype, "N", Classes);
            Value gradient = Gradients.Of((y * mask).Sum(), [x])[0]
                ?? throw new ArgumentException($"{model.DisplayName}: the output does not depend on the input.", nameof(model));
            graph.MarkOutput(gradient);
            _gradient = CompiledGraph.Compile(graph);
        }
        finally
        {
            model.Train(training);
        }
    }

    /// <summary>The number of model outputs per sample.</summary>
    public long Classes { get; }

    /// <summary>
    /// Saliency: d output[i, targets[i]] / d inputs[i] for every sample i of <paramref name="inputs"/> [N, ...]
    /// (Simonyan et al. 2013 take its absolute value for display; the signed gradient is returned).
    /// </summary>
    public Tensor Saliency(Tensor inputs, IReadOnlyList<long> targets)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        using Tensor mask = OneHot(inputs, targets);
        return Run(inputs, mask);
    }

    /// <summary>
    /// Integrated gradients (Sundararajan et al. 2017): (x - baseline) times the mean gradient at
    /// baseline + (k / steps)(x - baseline), k = 1..steps (the right Riemann sum), per sample. The attributions of a
    /// sample add up to output(x) - output(baseline) up to the sum's error, which falls as <paramref name="steps"/> grows.
    /// </summary>
    /// <param name="inputs">Samples [N, ...].</param>
    /// <param name="targets">The output index to explain, per sample.</param>
    /// <param name="baseline">One sample's baseline [...] (default: zeros).</param>
    /// <param name="steps">Points on the path, at least 1.</param>
    public Tensor IntegratedGradients(Tensor inputs, IReadOnlyList<long> targets, Tensor? baseline = null, int steps = 50)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        long n = inputs.Shape[0], sampleSize = inputs.ElementCount / Math.Max(n, 1);
        double[] x = Host(inputs);
        double[] b = baseline is null ? new double[sampleSize] : Host(baseline);
        if (b.Length != sampleSize)
        {
            throw new ArgumentException($"Attribution: the baseline has {b.Length} elements but a sample has {sampleSize}.", nameof(baseline));
        }

        Shape sampleShape = new(inputs.Shape.ToArray()[1..]);
        var result = new double[x.Length];
        for (long i = 0; i < n; i++)
        {
            // All steps of sample i in one batch.
            var path = new double[steps * sampleSize];
            for (int k = 0; k < steps; k++)
            {
                double alpha = (k + 1.0) / steps;
                for (long j = 0; j < sampleSize; j++) path[k * sampleSize + j] = b[j] + alpha * (x[i * sampleSize + j] - b[j]);
            }

            using var scope = new TensorScope();
            Tensor batch = Tensor.FromArray(path, new Shape([steps, .. sampleShape.ToArray()])).Cast(inputs.DType);
            Tensor mask = OneHot(batch, Enumerable.Repeat(targets[(int)i], steps).ToList());
            double[] gradients = Host(Run(batch, mask));
            for (long j = 0; j < sampleSize; j++)
            {
                double mean = 0;
                for (int k = 0; k < steps; k++) mean += gradients[k * sampleSize + j];
                result[i * sampleSize + j] = (x[i * sampleSize + j] - b[j]) * mean / steps;
            }
        }

        using Tensor f64 = Tensor.FromArray(result, inputs.Shape);
        return f64.Cast(inputs.DType);
    }

    /// <inheritdoc/>
    public void Dispose() => _gradient.Dispose();

    private Tensor Run(Tensor inputs, Tensor mask)
    {
        IReadOnlyList<Tensor> outputs = _gradient.Run(new Dictionary<string, Tensor> { ["x"] = inputs, ["mask"] = mask });
        return outputs[0].Clone();
    }

    private Tensor OneHot(Tensor inputs, IReadOnlyList<long> targets)
    {
        ArgumentNullException.ThrowIfNull(targets);
        long n = inputs.Shape[0];
        if (targets.Count != n) throw new ArgumentException($"Attribution: {targets.Count} targets for {n} samples.", nameof(targets));
        var mask = new double[n * Classes];
        for (int i = 0; i < n; i++)
        {
            if (targets[i] < 0 || targets[i] >= Classes)
            {
                throw new ArgumentOutOfRangeException(nameof(targets), $"Attribution: target {targets[i]} of sample {i} is outside [0, {Classes}) for {_model.DisplayName}.");
            }

            mask[i * Classes + targets[i]] = 1;
        }

        using Tensor f64 = Tensor.FromArray(mask, [n, Classes]);
        return f64.Cast(inputs.DType);
    }

    private static double[] Host(Tensor t)
    {
        using Tensor f64 = t.Cast(DType.F64);
        return f64.ToArray<double>();
    }
}

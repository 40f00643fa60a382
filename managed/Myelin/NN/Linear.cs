using Myelin.Graphs;

namespace Myelin.NN;

/// <summary>
/// Dense layer y = x W^T + b (PyTorch's Linear): weight [out, in] as in PyTorch, so weights map one to one; the
/// input's last axis has <c>InFeatures</c> entries, any leading axes are batch. Defaults as PyTorch: weight and bias
/// uniform in ±1/sqrt(in).
/// </summary>
public sealed class Linear : Layer
{
    /// <summary>Creates the layer.</summary>
    /// <param name="inFeatures">Input features.</param>
    /// <param name="outFeatures">Output features.</param>
    /// <param name="bias">Whether to add a learned bias.</param>
    /// <param name="weightInit">Override for the weight's initializer.</param>
    /// <param name="biasInit">Override for the bias's initializer.</param>
    /// <param name="dtype">Parameter dtype.</param>
    /// <param name="generator">Random source (default <see cref="Generator.Default"/>).</param>
    public Linear(long inFeatures, long outFeatures, bool bias = true, Initializer? weightInit = null, Initializer? biasInit = null,
        DType dtype = DType.F32, Generator? generator = null)
    {
        if (inFeatures <= 0 || outFeatures <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(inFeatures), $"Linear: in_features ({inFeatures}) and out_features ({outFeatures}) must be positive.");
        }

        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        (Weight, Bias) = LayerParameters.WeightAndBias(AddParameter, [outFeatures, inFeatures], outFeatures, bias, weightInit, biasInit, dtype, generator);
    }

    /// <summary>Input features.</summary>
    public long InFeatures { get; }

    /// <summary>Output features.</summary>
    public long OutFeatures { get; }

    /// <summary>The weight, [out, in].</summary>
    public Tensor Weight { get; }

    /// <summary>The bias, [out], or null.</summary>
    public Tensor? Bias { get; }

    /// <inheritdoc/>
    protected override Value Build(Value input)
    {
        Graph graph = input.Graph;
        Dim last = input.Rank == 0 ? Dim.Of(0) : input.Type[input.Rank - 1];
        if (input.Rank == 0 || (last.IsKnown && last.Value != InFeatures))
        {
            throw new GraphValidationException($"{DisplayName}: expects inputs ending in {InFeatures} features but got {input.Type.ShapeText}.");
        }

        Value weight = Use(graph, Weight);
        if (input.Rank == 2)
        {
            Value[] inputs = Bias is null ? [input, weight] : [input, weight, Use(graph, Bias)];
            return graph.Apply("Gemm", inputs, new Dictionary<string, object> { ["transB"] = 1L }, NodeName(graph, "gemm"))[0];
        }

        Value y = graph.Apply("MatMul", [input, weight.Transpose(1, 0)], name: NodeName(graph, "matmul"))[0];
        return Bias is null ? y : graph.Apply("Add", [y, Use(graph, Bias)], name: NodeName(graph, "bias"))[0];
    }
}

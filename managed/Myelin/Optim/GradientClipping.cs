using Myelin.Graphs;

namespace Myelin.Optim;

/// <summary>Gradient clipping as graph ops, PyTorch's torch.nn.utils semantics.</summary>
public static class GradientClipping
{
    /// <summary>Clamps every element of every gradient to [-<paramref name="clipValue"/>, <paramref name="clipValue"/>] (clip_grad_value_).</summary>
    public static Value[] ClipByValue(IReadOnlyList<Value> gradients, double clipValue)
    {
        ArgumentNullException.ThrowIfNull(gradients);
        if (!(clipValue > 0)) throw new ArgumentOutOfRangeException(nameof(clipValue), clipValue, $"ClipByValue: clip_value must be > 0 but is {clipValue}.");
        return gradients.Select(g =>
        {
            Graph graph = g.Graph;
            Value upper = graph.Apply("Min", [g, graph.Scalar(clipValue, g.DType)])[0];
            return graph.Apply("Max", [upper, graph.Scalar(-clipValue, g.DType)])[0];
        }).ToArray();
    }

    /// <summary>
    /// Scales all gradients by min(1, <paramref name="maxNorm"/> / (norm + 1e-6)), norm being the L2 norm of all their
    /// elements together (clip_grad_norm_ with norm_type 2).
    /// </summary>
    public static Value[] ClipByGlobalNorm(IReadOnlyList<Value> gradients, double maxNorm)
    {
        ArgumentNullException.ThrowIfNull(gradients);
        if (!(maxNorm > 0)) throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, $"ClipByGlobalNorm: max_norm must be > 0 but is {maxNorm}.");
        if (gradients.Count == 0) return [];
        Value squares = gradients.Select(g => g.Apply("Square").Sum()).Aggregate((a, b) => a + b);
        Graph graph = squares.Graph;
        Value coefficient = maxNorm / (squares.Sqrt() + 1e-6);
        Value clamped = graph.Apply("Min", [coefficient, graph.Scalar(1, coefficient.DType)])[0];
        return gradients.Select(g => g * clamped).ToArray();
    }
}

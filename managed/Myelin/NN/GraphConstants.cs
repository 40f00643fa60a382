using Myelin.Graphs;

namespace Myelin.NN;

/// <summary>Constant inputs that layers pass to shape ops (shapes, axes, slice bounds).</summary>
internal static class GraphConstants
{
    /// <summary>A constant 1-d i64 tensor in <paramref name="graph"/>; the graph keeps it alive.</summary>
    public static Value I64(Graph graph, params long[] values) => graph.Constant(Tensor.FromArray(values, values.Length).MoveToOuterScope());
}

using Myelin.Execution;
using Myelin.Graphs;

namespace Myelin.Tests.Ops;

/// <summary>Builds a graph over f64 inputs x0, x1, ..., compiles it and returns copies of its outputs.</summary>
internal static class OpRunner
{
    /// <summary>One fed input: its values, the shape fed, and the dims declared (symbols allowed; the fed shape when null).</summary>
    public sealed record Feed(double[] Data, long[] Shape, Dim[]? Declared = null);

    public static Tensor[] Run(Func<Graph, Value[], Value[]> build, params Feed[] feeds)
    {
        var graph = new Graph();
        Value[] inputs = feeds.Select((f, i) => graph.Input($"x{i}", DType.F64, f.Declared ?? f.Shape.Select(Dim.Of).ToArray())).ToArray();
        graph.MarkOutput(build(graph, inputs));
        using CompiledGraph compiled = CompiledGraph.Compile(graph);
        var tensors = new Dictionary<string, Tensor>();
        for (int i = 0; i < feeds.Length; i++) tensors[$"x{i}"] = Tensor.FromArray(feeds[i].Data, new Shape(feeds[i].Shape)).MoveToOuterScope();
        return compiled.Run(tensors).Select(t => t.Clone().MoveToOuterScope()).ToArray();
    }

    /// <summary>A constant 1-d i64 tensor (shapes, axes, sizes).</summary>
    public static Value Longs(Graph graph, params long[] values) => graph.Constant(Tensor.FromArray(values).MoveToOuterScope());

    /// <summary>Values 0.5, 1.5, ... scaled by <paramref name="scale"/>: distinct, so a wrong index shows.</summary>
    public static double[] Distinct(long count, double scale = 1) => Enumerable.Range(0, (int)count).Select(i => (i + 0.5) * scale).ToArray();
}

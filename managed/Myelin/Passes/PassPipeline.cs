using Myelin.Execution;
using Myelin.Graphs;

namespace Myelin.Passes;

/// <summary>The passes <see cref="CompiledGraph.Compile"/> runs, in order. Each rewrites the graph in place and keeps its outputs' values.</summary>
public static class PassPipeline
{
    /// <summary>Runs the passes <paramref name="options"/> enable.</summary>
    public static void Run(Graph graph, CompileOptions options)
    {
        if (options.Optimize)
        {
            AlgebraicSimplification.Run(graph);
            ConstantFolding.Run(graph);
            CommonSubexpressionElimination.Run(graph);
        }

        if (options.Fuse)
        {
            EpilogueFusion.Run(graph);
            ElementwiseFusion.Run(graph);
        }

        DeadCodeElimination.Run(graph);
    }
}

/// <summary>Removes nodes that neither feed an output nor have side effects.</summary>
public static class DeadCodeElimination
{
    /// <summary>Returns the number of nodes removed.</summary>
    public static int Run(Graph graph)
    {
        var live = new HashSet<Node>(Scheduling.Scheduler.LiveNodes(graph, graph.Outputs));
        var dead = graph.Nodes.Where(n => !live.Contains(n)).ToHashSet();
        graph.RemoveNodes(dead);
        return dead.Count;
    }
}

/// <summary>Merges nodes that apply the same op with the same attributes to the same inputs, and equal small constants.</summary>
public static class CommonSubexpressionElimination
{
    private const int MaxConstantElements = 64;

    /// <summary>Returns the number of nodes merged away.</summary>
    public static int Run(Graph graph)
    {
        var constants = new Dictionary<string, Value>();
        var canonical = new Dictionary<Value, Value>();
        foreach (Node node in graph.Nodes)
        {
            foreach (Value input in node.Inputs.Where(v => v.Kind == ValueKind.Constant && v.Data!.ElementCount <= MaxConstantElements))
            {
                string key = $"{input.DType}|{input.Data!.Shape}|{string.Join(",", ConstantFolding.ReadAsDouble(input.Data))}";
                if (!constants.TryAdd(key, input)) canonical[input] = constants[key];
            }
        }

        foreach ((Value duplicate, Value original) in canonical) graph.ReplaceAllUses(duplicate, original);

        var seen = new Dictionary<string, Node>();
        var removed = new HashSet<Node>();
        foreach (Node node in graph.Nodes)
        {
            if (!node.Op.IsDeterministic) continue;
            string key = Key(node);
            if (seen.TryGetValue(key, out Node? original))
            {
                for (int i = 0; i < node.Outputs.Length; i++) graph.ReplaceAllUses(node.Outputs[i], original.Outputs[i]);
                removed.Add(node);
            }
            else
            {
                seen[key] = node;
            }
        }

        graph.RemoveNodes(removed);
        return removed.Count;
    }

    private static string Key(Node node) =>
        $"{node.Op.Name}({string.Join(",", node.Inputs.Select(v => v.Name))})[{string.Join(";", node.Attributes.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => $"{a.Key}={Format(a.Value)}"))}]";

    private static string Format(object value) => value switch
    {
        long[] ints => string.Join(",", ints),
        double[] floats => string.Join(",", floats.Select(f => f.ToString("R", System.Globalization.CultureInfo.InvariantCulture))),
        double d => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "",
    };
}

/// <summary>Evaluates nodes whose inputs are all constants once, at compile time, and uses the results as constants.</summary>
public static class ConstantFolding
{
    private const long MaxFoldedElements = 1 << 20;

    /// <summary>Returns the number of nodes folded.</summary>
    public static int Run(Graph graph)
    {
        int folded = 0;
        var removed = new HashSet<Node>();
        foreach (Node node in graph.Nodes.ToList())
        {
            // Shape reads only its input's shape, so a concrete one folds whatever produces the input.
            if (node.Op is Ops.ShapeOp && node.Inputs[0].Type.IsConcrete)
            {
                long[] dims = Ops.ShapeOp.Evaluate(node, node.Inputs[0].Type.ToShape().ToArray());
                graph.ReplaceAllUses(node.Outputs[0], graph.Constant(Tensor.FromArray(dims, new Shape(dims.Length)).MoveToOuterScope()));
                removed.Add(node);
                folded++;
                continue;
            }

            if (!IsFoldable(node))
            {
                continue;
            }

            Tensor[] results = Evaluate(node);
            for (int i = 0; i < results.Length; i++)
            {
                graph.ReplaceAllUses(node.Outputs[i], graph.Constant(results[i]));
            }

            removed.Add(node);
            folded++;
        }

        graph.RemoveNodes(removed);
        return folded;
    }

    /// <summary>Whether <paramref name="node"/> is deterministic with only constant inputs and small concrete outputs.</summary>
    internal static bool IsFoldable(Node node) =>
        node.Op.IsDeterministic && node.Op.Name != "CountRatio" && node.Inputs.Length > 0
        && node.Inputs.All(v => v.Kind == ValueKind.Constant)
        && node.Outputs.All(o => o.Type.IsConcrete && o.Type.ToShape().ElementCount <= MaxFoldedElements);

    /// <summary>Runs one node on its constant inputs through a one-node compiled graph (the same kernels as any run).</summary>
    internal static Tensor[] Evaluate(Node node)
    {
        var scratch = new Graph();
        Value[] inputs = node.Inputs.Select(v => scratch.Constant(v.Data!)).ToArray();
        Value[] outputs = scratch.Apply(node.Op, inputs, node.Attributes);
        scratch.MarkOutput(outputs);
        using CompiledGraph compiled = CompiledGraph.Compile(scratch, new CompileOptions { Optimize = false, Fuse = false });
        return compiled.Run(new Dictionary<string, Tensor>()).Select(t => t.Clone().MoveToOuterScope()).ToArray();
    }

    internal static double[] ReadAsDouble(Tensor tensor)
    {
        using Tensor f64 = tensor.Cast(DType.F64);
        return f64.ToArray<double>();
    }
}

/// <summary>Rewrites x + 0, x * 1, x - 0, x / 1 to x and Neg(Neg(x)) to x (when the types agree, so no broadcast is lost).</summary>
public static class AlgebraicSimplification
{
    /// <summary>Returns the number of nodes simplified away.</summary>
    public static int Run(Graph graph)
    {
        var removed = new HashSet<Node>();
        foreach (Node node in graph.Nodes)
        {
            Value? replacement = node.Op.Name switch
            {
                "Add" => IsScalar(node.Inputs[1], 0) ? node.Inputs[0] : IsScalar(node.Inputs[0], 0) ? node.Inputs[1] : null,
                "Sub" => IsScalar(node.Inputs[1], 0) ? node.Inputs[0] : null,
                "Mul" => IsScalar(node.Inputs[1], 1) ? node.Inputs[0] : IsScalar(node.Inputs[0], 1) ? node.Inputs[1] : null,
                "Div" => IsScalar(node.Inputs[1], 1) ? node.Inputs[0] : null,
                "Neg" => node.Inputs[0].Producer is { Op.Name: "Neg" } inner ? inner.Inputs[0] : null,
                _ => null,
            };
            if (replacement is not null && replacement.Type.Equals(node.Outputs[0].Type) && !graph.Outputs.Contains(node.Outputs[0]))
            {
                graph.ReplaceAllUses(node.Outputs[0], replacement);
                removed.Add(node);
            }
        }

        graph.RemoveNodes(removed);
        return removed.Count;
    }

    private static bool IsScalar(Value value, double expected) =>
        value.Kind == ValueKind.Constant && value.Data!.ElementCount == 1 && ConstantFolding.ReadAsDouble(value.Data)[0] == expected;
}

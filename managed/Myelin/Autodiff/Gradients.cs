using Myelin.Graphs;
using Myelin.Ops;

namespace Myelin.Autodiff;

/// <summary>
/// Symbolic reverse-mode differentiation: adds gradient nodes to the graph, so gradients are scheduled, fused and
/// memory-planned like the forward pass, and can be differentiated again (Hessian-vector products).
/// </summary>
public static class Gradients
{
    /// <summary>
    /// The gradients of <paramref name="y"/> with respect to each of <paramref name="wrt"/> (inputs, parameters or
    /// intermediate values): null where <paramref name="y"/> does not depend on it. <paramref name="seed"/> is dL/dy
    /// (default: ones, for a scalar loss). Contributions of a value read by several nodes are summed. Ops that are
    /// not differentiable (StopGradient, comparisons, casts to integers) stop the flow.
    /// </summary>
    /// <exception cref="GraphValidationException">An op on the path has no gradient; the message names the node.</exception>
    public static Value?[] Of(Value y, IReadOnlyList<Value> wrt, Value? seed = null)
    {
        ArgumentNullException.ThrowIfNull(y);
        if (seed is null)
        {
            RequireFloat(y);
            Value one = y.Graph.Scalar(1, y.DType);
            seed = y.Rank == 0 ? one : y.Graph.Apply("ExpandLike", [one, y])[0];
        }

        return Of([y], [seed], wrt);
    }

    /// <summary>
    /// The gradients of several values at once: <paramref name="seeds"/>[i] is dL/d<paramref name="ys"/>[i] (null where
    /// no gradient reaches that value), and the result is dL/d<paramref name="wrt"/>, null where L does not depend on
    /// it. This is the vector-Jacobian product of a multi-output function, as one reverse sweep.
    /// </summary>
    /// <exception cref="GraphValidationException">A seed does not match its value, or an op on the path has no gradient.</exception>
    public static Value?[] Of(IReadOnlyList<Value> ys, IReadOnlyList<Value?> seeds, IReadOnlyList<Value> wrt)
    {
        ArgumentNullException.ThrowIfNull(ys);
        ArgumentNullException.ThrowIfNull(seeds);
        ArgumentNullException.ThrowIfNull(wrt);
        if (ys.Count != seeds.Count) throw new ArgumentException($"{ys.Count} values but {seeds.Count} seeds.", nameof(seeds));
        var contributions = new Dictionary<Value, List<Value>>();
        for (int i = 0; i < ys.Count; i++)
        {
            if (seeds[i] is not { } seed) continue;
            Value y = ys[i];
            RequireFloat(y);
            if (!seed.Type.Dims.SequenceEqual(y.Type.Dims) || seed.DType != y.DType)
            {
                throw new GraphValidationException($"The seed '{seed.Name}' is {seed.Type} but '{y.Name}' is {y.Type}.");
            }

            if (!contributions.TryGetValue(y, out List<Value>? list)) contributions[y] = list = [];
            list.Add(seed);
        }

        if (contributions.Count == 0) return new Value?[wrt.Count];
        Graph graph = ys[0].Graph;
        Node[] nodes = [.. graph.Nodes];
        var dependsOnWrt = new HashSet<Value>(wrt);
        foreach (Node node in nodes)
        {
            if (node.Op.IsDifferentiable && node.Inputs.Any(dependsOnWrt.Contains))
            {
                dependsOnWrt.UnionWith(node.Outputs);
            }
        }

        for (int index = nodes.Length - 1; index >= 0; index--)
        {
            Node node = nodes[index];
            if (!node.Op.IsDifferentiable || !node.Outputs.Any(contributions.ContainsKey) || !node.Inputs.Any(dependsOnWrt.Contains))
            {
                continue;
            }

            Value?[] outputGradients = node.Outputs.Select(o => contributions.TryGetValue(o, out List<Value>? list) ? Sum(list) : null).ToArray();
            Value?[] inputGradients = node.Op.Gradient(new GradientContext(graph, node, outputGradients));
            if (inputGradients.Length != node.Inputs.Length)
            {
                throw new GraphValidationException($"{node}: the gradient builder returned {inputGradients.Length} gradients for {node.Inputs.Length} inputs.", node.Name);
            }

            for (int i = 0; i < inputGradients.Length; i++)
            {
                Value input = node.Inputs[i];
                if (inputGradients[i] is not { } gradient || !dependsOnWrt.Contains(input))
                {
                    continue;
                }

                if (!gradient.Type.Dims.SequenceEqual(input.Type.Dims) || gradient.DType != input.DType)
                {
                    throw new GraphValidationException($"{node}: the gradient of input {i} is {gradient.Type} but the input is {input.Type}.", node.Name);
                }

                if (!contributions.TryGetValue(input, out List<Value>? list))
                {
                    contributions[input] = list = [];
                }

                list.Add(gradient);
            }
        }

        return wrt.Select(w => contributions.TryGetValue(w, out List<Value>? list) ? Sum(list) : null).ToArray();
    }

    /// <summary>
    /// The vector-Jacobian product of a function written as an expression of registered ops: <paramref name="expression"/>
    /// receives stand-ins for <paramref name="inputs"/> and returns the function's outputs; the result holds, per input,
    /// the sum over outputs of <paramref name="outputGradients"/> times the partial derivative (null where none flows).
    /// Partial means each input is varied on its own, even where the real inputs depend on one another (a backward op's
    /// x and dy, say): the stand-ins are fresh Identity values, so the sweep never follows the inputs' own producers.
    /// A gradient builder uses this to differentiate a fused kernel through an equivalent expression; the expression's
    /// forward nodes are dead code unless the gradient reads them, and the result is differentiable again.
    /// </summary>
    public static Value?[] OfExpression(IReadOnlyList<Value> inputs, Func<Value[], Value[]> expression, IReadOnlyList<Value?> outputGradients)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(expression);
        if (inputs.Count == 0) throw new ArgumentException("The expression needs at least one input.", nameof(inputs));
        Value[] standIns = inputs.Select(input => input.Graph.Apply("Identity", [input])[0]).ToArray();
        Value[] outputs = expression(standIns);
        return Of(outputs, outputGradients, standIns);
    }

    /// <summary>
    /// The terms with every group of products X_i^T Y_i (Gemm, transA, same alpha, no C) replaced by one product of the
    /// stacked rows, Concat(X_i)^T Concat(Y_i). A weight that T nodes read (a recurrent layer's W_hh, read once per time
    /// step) gets T gradients dgates_t^T h_(t-1) of depth N (the batch); as one GEMM of depth T * N it runs at the
    /// kernel's full speed instead of T shallow products and T - 1 additions, for two copies of the rows.
    /// </summary>
    private static List<Value> MergeRowProducts(List<Value> terms)
    {
        List<IGrouping<double, Value>> groups = [.. terms.Where(IsRowProduct).GroupBy(t => t.Producer!.GetFloat("alpha")).Where(g => g.Count() > 1)];
        if (groups.Count == 0) return terms;
        var merged = new HashSet<Value>(groups.SelectMany(g => g));
        List<Value> result = [.. terms.Where(t => !merged.Contains(t))];
        foreach (IGrouping<double, Value> group in groups)
        {
            Value[] products = [.. group];
            Graph graph = products[0].Graph;
            Value[] Operands(int input) => [.. products.Select(p => p.Producer!.Inputs[input])];
            if (!CanStackRows(Operands(0))) return terms;
            Value Stack(int input) => StackRows(graph, Operands(input));
            result.Add(graph.Apply("Gemm", [Stack(0), Stack(1)], new Dictionary<string, object>
            {
                ["alpha"] = group.Key, ["beta"] = 0.0, ["transA"] = 1L, ["transB"] = 0L,
            })[0]);
        }

        return result;
    }

    // Concat needs known sizes on its axis, so rows of one symbolic size (a batch) are stacked on a new leading axis
    // and flattened back into rows.
    private static bool CanStackRows(Value[] parts) => parts.All(p => p.Type[0].IsKnown) || parts.All(p => p.Type[0] == parts[0].Type[0]);

    private static Value StackRows(Graph graph, Value[] parts)
    {
        var axis0 = new Dictionary<string, object> { ["axis"] = 0L };
        if (parts.All(p => p.Type[0].IsKnown)) return graph.Apply("Concat", parts, axis0)[0];
        Value leading = graph.Constant(Tensor.FromArray(new long[] { 0 }, 1).MoveToOuterScope());
        Value[] planes = [.. parts.Select(p => graph.Apply("Unsqueeze", [p, leading])[0])];
        return graph.Apply("Flatten", [graph.Apply("Concat", planes, axis0)[0]], new Dictionary<string, object> { ["axis"] = 2L })[0];
    }

    private static bool IsRowProduct(Value term) => term.Producer is { Op.Name: "Gemm" } node && node.Inputs.Length == 2
        && node.GetInt("transA") == 1 && node.GetInt("transB") == 0;

    private static void RequireFloat(Value y)
    {
        if (!y.DType.IsFloatingPoint())
        {
            throw new GraphValidationException($"Cannot differentiate '{y.Name}' of dtype {y.DType.ShortName()}.");
        }
    }

    private static Value Sum(List<Value> terms)
    {
        // Collapse in place so a second request for the same value reuses the sum.
        if (terms.Count > 1)
        {
            List<Value> merged = MergeRowProducts(terms);
            Value total = merged[0];
            for (int i = 1; i < merged.Count; i++)
            {
                total += merged[i];
            }

            terms.Clear();
            terms.Add(total);
        }

        return terms[0];
    }
}

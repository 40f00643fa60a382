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
        Graph graph = y.Graph;
        if (!y.DType.IsFloatingPoint())
        {
            throw new GraphValidationException($"Cannot differentiate '{y.Name}' of dtype {y.DType.ShortName()}.");
        }

        Node[] nodes = [.. graph.Nodes];
        var dependsOnWrt = new HashSet<Value>(wrt);
        foreach (Node node in nodes)
        {
            if (node.Op.IsDifferentiable && node.Inputs.Any(dependsOnWrt.Contains))
            {
                dependsOnWrt.UnionWith(node.Outputs);
            }
        }

        var contributions = new Dictionary<Value, List<Value>>();
        if (seed is null)
        {
            Value one = graph.Scalar(1, y.DType);
            seed = y.Rank == 0 ? one : graph.Apply("ExpandLike", [one, y])[0];
        }

        contributions[y] = [seed];
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

    private static Value Sum(List<Value> terms)
    {
        // Collapse in place so a second request for the same value reuses the sum.
        if (terms.Count > 1)
        {
            Value total = terms[0];
            for (int i = 1; i < terms.Count; i++)
            {
                total += terms[i];
            }

            terms.Clear();
            terms.Add(total);
        }

        return terms[0];
    }
}

using Myelin.Graphs;
using Myelin.Ops;

namespace Myelin.Passes;

/// <summary>
/// Folds the elementwise tail of a GEMM or convolution into the kernel's epilogue, so that
/// <c>activation(product + bias + residual)</c> is one <c>mln_gemm</c> (FusedGemm) or <c>mln_conv_forward</c>
/// (FusedConv) call instead of up to four passes over the output.
/// </summary>
/// <remarks>
/// Anchors: MatMul of two rank-2 operands; Gemm with two inputs, or with a rank-1 C of length N and beta 1 (what the
/// Linear layer emits), C becoming the bias; Conv with or without bias. After the anchor, in this order and each
/// optional: an Add of a bias (GEMM: a length-N vector; conv without bias: a value that broadcasts per output channel,
/// [C], [C,1,1] or [1,C,1,1] aligned on the channel axis), an Add of a residual of the output's exact type that does
/// not depend on the anchor (it must be computable before the anchor runs), and an activation the epilogue applies
/// (<see cref="FusedEpilogue"/>). A step is taken only when the value so far has that node as its single consumer and
/// is not a graph output, so no intermediate that something else reads disappears.
/// </remarks>
public static class EpilogueFusion
{
    /// <summary>Returns the number of GEMMs and convolutions fused.</summary>
    public static int Run(Graph graph)
    {
        int fused = 0;
        var removed = new HashSet<Node>();
        var outputs = new HashSet<Value>(graph.Outputs);
        Dictionary<Value, List<Node>> consumers = ConsumersOf(graph, removed);
        foreach (Node node in graph.Nodes.ToList())
        {
            if (removed.Contains(node) || Anchor(node) is not { } anchor) continue;
            Value current = node.Outputs[0];
            var absorbed = new List<Node> { node };
            Value? bias = anchor.Bias;
            Value? residual = null;

            Node? SoleConsumer(Value value) =>
                !outputs.Contains(value) && consumers.TryGetValue(value, out List<Node>? readers) && readers.Count == 1 ? readers[0] : null;

            if (bias is null && SoleConsumer(current) is { Op.Name: "Add" } biasAdd
                && BiasOperand(graph, anchor, biasAdd, current) is { } biasValue)
            {
                bias = biasValue;
                current = biasAdd.Outputs[0];
                absorbed.Add(biasAdd);
            }

            if (SoleConsumer(current) is { Op.Name: "Add" } residualAdd && ResidualOperand(anchor, residualAdd, current) is { } residualValue)
            {
                residual = residualValue;
                current = residualAdd.Outputs[0];
                absorbed.Add(residualAdd);
            }

            string activation = nameof(UnaryOp.Identity);
            if (SoleConsumer(current) is { Op: UnaryKernelOp unary } act && unary.UsesKernelDefaults(act)
                && unary.KernelFor(act) is var kernel && kernel != UnaryOp.Identity && FusedEpilogue.Activations.ContainsKey(kernel.ToString()))
            {
                activation = kernel.ToString();
                current = act.Outputs[0];
                absorbed.Add(act);
            }

            // A Gemm with C as bias is already one kernel call; fuse only when something joins it.
            if (absorbed.Count == 1) continue;
            var inputs = new List<Value> { node.Inputs[0], node.Inputs[1] };
            if (bias is not null) inputs.Add(bias);
            if (residual is not null) inputs.Add(residual);
            var attributes = new Dictionary<string, object>(anchor.Attributes)
            {
                [FusedEpilogue.ActivationAttribute] = activation,
                [FusedEpilogue.ResidualAttribute] = residual is null ? 0L : 1L,
            };
            Value fusedOutput = graph.Apply(anchor.FusedOp, [.. inputs], attributes, graph.Fresh($"{node.Name}_fused"))[0];
            graph.ReplaceAllUses(current, fusedOutput);
            removed.UnionWith(absorbed);
            consumers = ConsumersOf(graph, removed);
            fused++;
        }

        graph.RemoveNodes(removed);
        graph.SortTopologically();
        return fused;
    }

    /// <summary>A fusable GEMM or convolution: the fused op to make, its attributes, and a bias it already has.</summary>
    private sealed record AnchorInfo(Node Node, string FusedOp, Dictionary<string, object> Attributes, Value? Bias, bool IsConv);

    private static AnchorInfo? Anchor(Node node)
    {
        switch (node.Op.Name)
        {
            case "MatMul" when node.Inputs[0].Rank == 2 && node.Inputs[1].Rank == 2:
                return new AnchorInfo(node, "FusedGemm", GemmAttributes(1, false, false), null, false);
            case "Gemm":
                var attributes = GemmAttributes(node.GetFloat("alpha"), node.GetInt("transA") != 0, node.GetInt("transB") != 0);
                if (node.Inputs.Length == 2) return new AnchorInfo(node, "FusedGemm", attributes, null, false);
                Value c = node.Inputs[2];
                bool columnBias = node.GetFloat("beta") == 1 && c.Rank == 1 && c.Type[0] == node.Outputs[0].Type[1];
                return columnBias ? new AnchorInfo(node, "FusedGemm", attributes, c, false) : null;
            case "Conv" when node.Op is ConvOp:
                return new AnchorInfo(node, "FusedConv", new Dictionary<string, object>(node.Attributes), node.Inputs.Length == 3 ? node.Inputs[2] : null, true);
            default:
                return null;
        }
    }

    private static Dictionary<string, object> GemmAttributes(double alpha, bool transA, bool transB) =>
        new() { ["alpha"] = alpha, ["transA"] = transA ? 1L : 0L, ["transB"] = transB ? 1L : 0L };

    /// <summary>The other operand of <paramref name="add"/> as a bias vector for the anchor, or null when it is not one.</summary>
    private static Value? BiasOperand(Graph graph, AnchorInfo anchor, Node add, Value current)
    {
        Value other = add.Inputs[0] == current ? add.Inputs[1] : add.Inputs[0];
        if (other == current || other.DType != current.DType || !add.Outputs[0].Type.Equals(current.Type)) return null;
        TensorType type = current.Type;
        if (!anchor.IsConv) return other.Rank == 1 && other.Type[0] == type[1] ? other : null;

        // Right-aligned against N x C x spatial, every axis but the channel axis must be 1.
        int offset = type.Rank - other.Rank;
        if (offset < 0) return null;
        for (int axis = 0; axis < other.Rank; axis++)
        {
            Dim dim = other.Type[axis];
            bool fits = offset + axis == 1 ? dim == type[1] : dim.IsKnown && dim.Value == 1;
            if (!fits) return null;
        }

        if (offset > 1 || !type[1].IsKnown) return null;
        if (other.Rank == 1) return other;
        Value shape = graph.Constant(Tensor.FromArray(new[] { type[1].Value }).MoveToOuterScope());
        return graph.Apply("Reshape", [other, shape])[0];
    }

    /// <summary>The other operand of <paramref name="add"/> as a residual, or null when it is not one.</summary>
    private static Value? ResidualOperand(AnchorInfo anchor, Node add, Value current)
    {
        Value other = add.Inputs[0] == current ? add.Inputs[1] : add.Inputs[0];
        if (other == current || !other.Type.Equals(current.Type) || !add.Outputs[0].Type.Equals(current.Type)) return null;
        // The convolution kernel reads a contiguous residual; a view (a transpose, say) may not be one.
        if (anchor.IsConv && other.Producer is { Op.IsView: true }) return null;
        return DependsOn(other, anchor.Node) ? null : other;
    }

    /// <summary>Whether <paramref name="value"/> is computed from an output of <paramref name="node"/> (fusing it would make a cycle).</summary>
    private static bool DependsOn(Value value, Node node)
    {
        var seen = new HashSet<Node>();
        var pending = new Stack<Node>();
        if (value.Producer is { } first) pending.Push(first);
        while (pending.Count > 0)
        {
            Node current = pending.Pop();
            if (current == node) return true;
            if (!seen.Add(current)) continue;
            foreach (Value input in current.Inputs)
            {
                if (input.Producer is { } producer) pending.Push(producer);
            }
        }

        return false;
    }

    /// <summary>The readers of each value among the nodes not yet <paramref name="removed"/>.</summary>
    private static Dictionary<Value, List<Node>> ConsumersOf(Graph graph, HashSet<Node> removed)
    {
        var consumers = new Dictionary<Value, List<Node>>();
        foreach (Node node in graph.Nodes.Where(n => !removed.Contains(n)))
        {
            foreach (Value input in node.Inputs.Distinct())
            {
                if (!consumers.TryGetValue(input, out List<Node>? list)) consumers[input] = list = [];
                list.Add(node);
            }
        }

        return consumers;
    }
}

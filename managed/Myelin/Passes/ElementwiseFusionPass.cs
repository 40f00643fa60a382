using Myelin.Graphs;
using Myelin.Native;
using Myelin.Ops;

namespace Myelin.Passes;

/// <summary>
/// Replaces each maximal group of float unary/binary elementwise nodes (<see cref="UnaryKernelOp"/>,
/// <see cref="BinaryKernelOp"/>; at least two) with one <see cref="FusedElementwiseOp"/> node, so the group reads
/// its inputs once and writes one output. A node joins its consumer's group when that consumer is its only one and
/// its value is not a graph output; a value read elsewhere stays materialized. Such a group is a tree whose root is
/// the only member read from outside, so contracting it cannot create a cycle. Groups beyond the kernel's limits
/// (instructions, inputs) stay as they are.
/// </summary>
public static class ElementwiseFusion
{
    /// <summary>Returns the number of fused nodes created.</summary>
    public static int Run(Graph graph)
    {
        var consumers = new Dictionary<Value, HashSet<Node>>();
        foreach (Node node in graph.Nodes)
        {
            foreach (Value input in node.Inputs)
            {
                if (!consumers.TryGetValue(input, out HashSet<Node>? set)) consumers[input] = set = [];
                set.Add(node);
            }
        }

        // The root of each candidate's group: follow sole consumers while they are candidates (nodes come in
        // topological order, so a consumer's root is not known yet; resolve lazily).
        var parent = new Dictionary<Node, Node>();
        foreach (Node node in graph.Nodes.Where(IsCandidate))
        {
            Value output = node.Outputs[0];
            if (graph.Outputs.Contains(output) || !consumers.TryGetValue(output, out HashSet<Node>? readers) || readers.Count != 1) continue;
            Node reader = readers.First();
            if (IsCandidate(reader)) parent[node] = reader;
        }

        Node Root(Node node)
        {
            while (parent.TryGetValue(node, out Node? next)) node = next;
            return node;
        }

        var groups = new Dictionary<Node, List<Node>>();
        foreach (Node node in graph.Nodes.Where(IsCandidate))
        {
            Node root = Root(node);
            if (!groups.TryGetValue(root, out List<Node>? members)) groups[root] = members = [];
            members.Add(node);  // topological order, root last
        }

        int fused = 0;
        var removed = new HashSet<Node>();
        foreach ((Node root, List<Node> members) in groups)
        {
            if (members.Count < 2 || members.Count > NativeMethods.EltwiseMaxInstructions) continue;
            if (!Fuse(graph, root, members)) continue;
            removed.UnionWith(members);
            fused++;
        }

        graph.RemoveNodes(removed);
        graph.SortTopologically();
        return fused;
    }

    private static bool IsCandidate(Node node) =>
        node.Outputs.Length == 1 && node.Outputs[0].DType is DType.F32 or DType.F64
        && node.Op is UnaryKernelOp or BinaryKernelOp;

    private static bool Fuse(Graph graph, Node root, List<Node> members)
    {
        var memberSet = members.ToHashSet();
        var inputs = new List<Value>();
        var register = new Dictionary<Value, int>();
        foreach (Value input in members.SelectMany(m => m.Inputs))
        {
            if (input.Producer is { } producer && memberSet.Contains(producer)) continue;
            if (register.TryAdd(input, inputs.Count)) inputs.Add(input);
        }

        if (inputs.Count > NativeMethods.EltwiseMaxInputs) return false;
        var program = new List<long>();
        var parameters = new List<double>();
        foreach (Node member in members)
        {
            int dst = inputs.Count + program.Count / FusedElementwiseOp.FieldsPerInstruction;
            if (member.Op is UnaryKernelOp unary)
            {
                (double alpha, double beta) = unary.Parameters(member);
                program.AddRange([(long)EltwiseKind.Unary, (long)unary.KernelFor(member), dst, register[member.Inputs[0]], 0]);
                parameters.AddRange([alpha, beta]);
            }
            else
            {
                var binary = (BinaryKernelOp)member.Op;
                program.AddRange([(long)EltwiseKind.Binary, (long)binary.KernelFor(member), dst, register[member.Inputs[0]], register[member.Inputs[1]]]);
                parameters.AddRange([0.0, 0.0]);
            }

            register[member.Outputs[0]] = dst;
        }

        Value output = graph.Apply("FusedElementwise", [.. inputs], new Dictionary<string, object>
        {
            ["program"] = program.ToArray(), ["params"] = parameters.ToArray(),
        }, graph.Fresh($"{root.Name}_fused"))[0];
        graph.ReplaceAllUses(root.Outputs[0], output);
        return true;
    }
}

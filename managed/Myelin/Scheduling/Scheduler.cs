using Myelin.Graphs;
using Myelin.Ops;

namespace Myelin.Scheduling;

/// <summary>
/// Chooses the execution order of a graph's live nodes: a topological order built greedily, at each step
/// running the ready node that frees the most memory net of what it allocates (ties keep graph order), with
/// every reader of a parameter ordered before the side-effect node that updates it in place.
/// </summary>
public static class Scheduler
{
    /// <summary>Nodes needed for <paramref name="outputs"/> plus every side-effect node, in graph order.</summary>
    public static List<Node> LiveNodes(Graph graph, IEnumerable<Value> outputs)
    {
        var live = new HashSet<Node>();
        var stack = new Stack<Node>();
        foreach (Value output in outputs)
        {
            if (output.Producer is { } producer) stack.Push(producer);
        }

        foreach (Node node in graph.Nodes.Where(n => n.Op.HasSideEffects)) stack.Push(node);
        while (stack.Count > 0)
        {
            Node node = stack.Pop();
            if (!live.Add(node)) continue;
            foreach (Value input in node.Inputs)
            {
                if (input.Producer is { } producer) stack.Push(producer);
            }
        }

        return graph.Nodes.Where(live.Contains).ToList();
    }

    /// <summary>The memory-aware order of <paramref name="nodes"/> (given in a topological order) with value sizes from <paramref name="bytes"/>.</summary>
    public static List<Node> Order(IReadOnlyList<Node> nodes, Func<Value, long> bytes)
    {
        var index = new Dictionary<Node, int>();
        for (int i = 0; i < nodes.Count; i++) index[nodes[i]] = i;

        Dictionary<Node, HashSet<Node>> predecessors = Predecessors(nodes);
        var remainingUses = new Dictionary<Value, int>();
        foreach (Node node in nodes.Where(n => !n.Op.IsView))
        {
            foreach (Value root in node.Inputs.Select(Root).Distinct())
            {
                remainingUses[root] = remainingUses.GetValueOrDefault(root) + 1;
            }
        }

        var successors = nodes.ToDictionary(n => n, _ => new List<Node>());
        var waiting = new Dictionary<Node, int>();
        foreach (Node node in nodes)
        {
            waiting[node] = predecessors[node].Count;
            foreach (Node predecessor in predecessors[node]) successors[predecessor].Add(node);
        }

        var ready = nodes.Where(n => waiting[n] == 0).ToList();
        var order = new List<Node>(nodes.Count);
        while (ready.Count > 0)
        {
            Node best = ready[0];
            long bestScore = long.MinValue;
            foreach (Node candidate in ready)
            {
                long score = Score(candidate, remainingUses, bytes);
                if (score > bestScore || (score == bestScore && index[candidate] < index[best]))
                {
                    best = candidate;
                    bestScore = score;
                }
            }

            ready.Remove(best);
            order.Add(best);
            if (!best.Op.IsView)
            {
                foreach (Value root in best.Inputs.Select(Root).Distinct()) remainingUses[root]--;
            }

            foreach (Node successor in successors[best])
            {
                if (--waiting[successor] == 0) ready.Add(successor);
            }
        }

        if (order.Count != nodes.Count)
        {
            Node stuck = nodes.First(n => !order.Contains(n));
            throw new GraphValidationException($"{stuck}: cannot be ordered (a cycle through an in-place update of a parameter it reads).", stuck.Name);
        }

        return order;
    }

    /// <summary>
    /// The nodes each of <paramref name="nodes"/> must run after: the producers of its inputs, and for an in-place
    /// writer of a parameter, every other reader of that parameter.
    /// </summary>
    public static Dictionary<Node, HashSet<Node>> Predecessors(IReadOnlyList<Node> nodes)
    {
        var members = nodes.ToHashSet();
        var predecessors = nodes.ToDictionary(n => n, n => n.Inputs.Select(v => v.Producer).Where(p => p is not null && members.Contains(p)).Cast<Node>().ToHashSet());
        // Writers of one parameter through views (a chunked update) touch disjoint slices by construction, so they
        // are not ordered among themselves; every other reader of any view of the parameter runs before each writer.
        foreach (Node writer in nodes.Where(n => n.Op.MutatedInputsOf(n).Count > 0))
        {
            foreach (int mutated in writer.Op.MutatedInputsOf(writer).Where(i => i < writer.Inputs.Length))
            {
                Value root = Root(writer.Inputs[mutated]);
                foreach (Node reader in nodes)
                {
                    if (reader != writer && !reader.Op.IsView && reader.Inputs.Any(v => Root(v) == root) && !Mutates(reader, root))
                    {
                        predecessors[writer].Add(reader);
                    }
                }
            }
        }

        return predecessors;
    }

    /// <summary>Whether <paramref name="node"/> writes in place to the memory of <paramref name="root"/> (through any view).</summary>
    public static bool Mutates(Node node, Value root) =>
        node.Op.MutatedInputsOf(node).Any(i => i < node.Inputs.Length && Root(node.Inputs[i]) == root);

    /// <summary>The value whose memory <paramref name="value"/> views (itself unless made by a view op).</summary>
    public static Value Root(Value value)
    {
        while (value.Producer is { } producer && producer.Op.IsView) value = producer.Inputs[0];
        return value;
    }

    private static long Score(Node node, Dictionary<Value, int> remainingUses, Func<Value, long> bytes)
    {
        if (node.Op.IsView) return long.MaxValue / 2;
        long allocated = node.Outputs.Sum(bytes);
        long freed = 0;
        foreach (Value root in node.Inputs.Select(Root).Distinct())
        {
            if (root.Kind is ValueKind.Intermediate or ValueKind.Input && remainingUses.GetValueOrDefault(root) == 1) freed += bytes(root);
        }

        return freed - allocated;
    }
}

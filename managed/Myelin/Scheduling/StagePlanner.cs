using Myelin.Graphs;

namespace Myelin.Scheduling;

/// <summary>
/// Stages (waves) of a chosen order: every node's stage, where the launching nodes of one stage are mutually
/// independent and may run concurrently, and stage s + 1 starts when all of stage s has finished.
/// </summary>
/// <param name="StageOf">The stage of every node. A view that launches nothing takes the first stage at which its input is ready.</param>
/// <param name="StageCount">Number of stages holding launches.</param>
/// <param name="SequentialPeakBytes">The estimated peak live bytes when every launch is a stage of its own (the order as chosen).</param>
/// <param name="PeakBytes">The estimated peak live bytes of these stages.</param>
public sealed record StagePlan(IReadOnlyDictionary<Node, int> StageOf, int StageCount, long SequentialPeakBytes, long PeakBytes);

/// <summary>
/// Groups a memory-aware order (<see cref="Scheduler.Order"/>) into stages for inter-op parallelism, keeping that
/// order as the basis: each stage starts with the earliest node not yet placed, then takes later nodes of the
/// order, in order, from a window of <see cref="LookaheadPerThread"/> times the width, while the stage holds fewer
/// than width launches. A later node joins only if it is ready (everything it depends on, through views, ran in an
/// earlier stage), does not write in place to a parameter that a member also writes (unless both write disjoint
/// slices through views, as a chunked update does), and the stage's estimated live bytes stay within the
/// sequential order's peak plus one part in <see cref="PeakSlackDivisor"/>.
/// </summary>
/// <remarks>
/// The live-bytes estimate counts feeds and the outputs of launching nodes, freed after the stage of their last
/// reader (graph outputs are never freed); it ignores in-place reuse and the copies views sometimes need, in the
/// sequential baseline and in the stages alike. Only the first node of a stage can exceed the budget (a stage always
/// makes progress), when nodes pulled forward into earlier stages kept their results alive longer; the window keeps
/// how far a node moves forward, and so that growth, small.
/// </remarks>
public static class StagePlanner
{
    /// <summary>How far ahead of a stage's first node, in launches per thread, later nodes may be taken from.</summary>
    public const int LookaheadPerThread = 8;

    /// <summary>A stage's estimated live bytes may exceed the sequential peak by at most that peak over this divisor (12.5%).</summary>
    public const int PeakSlackDivisor = 8;

    /// <summary>Stages of <paramref name="order"/> with at most <paramref name="width"/> launches each.</summary>
    /// <param name="order">Nodes in a topological order that honours <see cref="Scheduler.Predecessors"/>.</param>
    /// <param name="launches">Whether a node launches a kernel (false for a view that only re-sees its input's memory).</param>
    /// <param name="bytes">Bytes of a value.</param>
    /// <param name="width">Largest number of launches in one stage (1 gives one stage per launch, in order).</param>
    /// <param name="feeds">Values fed at run time (live from the start).</param>
    /// <param name="outputs">Values returned (live to the end).</param>
    public static StagePlan Plan(IReadOnlyList<Node> order, Func<Node, bool> launches, Func<Value, long> bytes, int width,
        IEnumerable<Value> feeds, IEnumerable<Value> outputs)
    {
        ArgumentNullException.ThrowIfNull(order);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        Dictionary<Node, HashSet<Node>> predecessors = Scheduler.Predecessors(order);

        // What each node waits for among launching nodes: a view that launches nothing passes on what it waits for.
        var waitsFor = new Dictionary<Node, HashSet<Node>>();
        foreach (Node node in order)
        {
            var launchingPredecessors = new HashSet<Node>();
            foreach (Node predecessor in predecessors[node])
            {
                if (launches(predecessor)) launchingPredecessors.Add(predecessor);
                else launchingPredecessors.UnionWith(waitsFor[predecessor]);
            }

            waitsFor[node] = launchingPredecessors;
        }

        List<Node> kernels = order.Where(launches).ToList();
        List<Value> feedList = feeds.ToList(), outputList = outputs.ToList();
        var sequential = new LiveMemory(kernels, feedList, outputList, bytes);
        foreach (Node kernel in kernels) sequential.Close([kernel]);
        long budget = sequential.Peak + sequential.Peak / PeakSlackDivisor;

        var memory = new LiveMemory(kernels, feedList, outputList, bytes);
        var stageOf = new Dictionary<Node, int>();
        var placed = new bool[kernels.Count];
        var members = new List<Node>(width);
        int first = 0, stage = 0;
        while (first < kernels.Count)
        {
            members.Clear();
            long allocated = 0;
            int windowEnd = (int)Math.Min(kernels.Count, first + (long)LookaheadPerThread * width);
            for (int i = first; i < windowEnd && members.Count < width; i++)
            {
                Node candidate = kernels[i];
                if (placed[i] || !waitsFor[candidate].All(p => stageOf.TryGetValue(p, out int s) && s < stage)) continue;
                long cost = memory.Cost(candidate);
                if (members.Count > 0 && (memory.Live + allocated + cost > budget || members.Any(m => WritesConflict(m, candidate)))) continue;
                members.Add(candidate);
                stageOf[candidate] = stage;
                placed[i] = true;
                allocated += cost;
            }

            memory.Close(members);
            stage++;
            while (first < kernels.Count && placed[first]) first++;
        }

        foreach (Node node in order.Where(n => !launches(n)))
        {
            stageOf[node] = waitsFor[node].Count == 0 ? 0 : waitsFor[node].Max(p => stageOf[p]) + 1;
        }

        return new StagePlan(stageOf, stage, sequential.Peak, memory.Peak);
    }

    /// <summary>
    /// Whether <paramref name="a"/> and <paramref name="b"/> write in place to one parameter in a way that may
    /// overlap: both write it, and one of them writes the whole of it rather than a slice seen through a view.
    /// </summary>
    private static bool WritesConflict(Node a, Node b)
    {
        foreach (int i in a.Op.MutatedInputsOf(a))
        {
            if (i >= a.Inputs.Length) continue;
            Value root = Scheduler.Root(a.Inputs[i]);
            foreach (int j in b.Op.MutatedInputsOf(b))
            {
                if (j < b.Inputs.Length && Scheduler.Root(b.Inputs[j]) == root && (a.Inputs[i] == root || b.Inputs[j] == root)) return true;
            }
        }

        return false;
    }

    /// <summary>Live bytes as stages close: feeds and launch results, each freed after the stage of its last reader.</summary>
    private sealed class LiveMemory
    {
        private readonly Dictionary<Value, int> _unplacedReaders = [];
        private readonly HashSet<Value> _kept;
        private readonly Func<Value, long> _bytes;

        public LiveMemory(IReadOnlyList<Node> kernels, IReadOnlyList<Value> feeds, IReadOnlyList<Value> outputs, Func<Value, long> bytes)
        {
            _bytes = bytes;
            _kept = outputs.Select(Scheduler.Root).ToHashSet();
            foreach (Node kernel in kernels)
            {
                foreach (Value root in kernel.Inputs.Select(Scheduler.Root).Distinct().Where(IsPlanned))
                {
                    _unplacedReaders[root] = _unplacedReaders.GetValueOrDefault(root) + 1;
                }
            }

            Live = feeds.Sum(bytes);
            Peak = Live;
        }

        /// <summary>Bytes live between stages.</summary>
        public long Live { get; private set; }

        /// <summary>The most bytes live during any stage closed so far.</summary>
        public long Peak { get; private set; }

        /// <summary>Bytes a node allocates (a view's copy is left out of the estimate).</summary>
        public long Cost(Node node) => node.Op.IsView ? 0 : node.Outputs.Sum(_bytes);

        public void Close(IReadOnlyList<Node> stage)
        {
            long allocated = stage.Sum(Cost);
            Peak = Math.Max(Peak, Live + allocated);
            Live += allocated;
            foreach (Node node in stage)
            {
                if (!node.Op.IsView)
                {
                    // A result nobody reads is dead once its stage ends.
                    Live -= node.Outputs.Where(v => !_unplacedReaders.ContainsKey(v) && !_kept.Contains(v)).Sum(_bytes);
                }

                foreach (Value root in node.Inputs.Select(Scheduler.Root).Distinct().Where(IsPlanned))
                {
                    if (--_unplacedReaders[root] == 0 && !_kept.Contains(root)) Live -= _bytes(root);
                }
            }
        }

        private static bool IsPlanned(Value value) => value.Kind is ValueKind.Intermediate or ValueKind.Input;
    }
}

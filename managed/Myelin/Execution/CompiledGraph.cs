using Myelin.Graphs;

namespace Myelin.Execution;

/// <summary>Options of <see cref="CompiledGraph.Compile"/>.</summary>
public sealed record CompileOptions
{
    /// <summary>Run the optimization passes (dead code, constant folding, common subexpressions, simplification).</summary>
    public bool Optimize { get; init; } = true;

    /// <summary>Fuse MatMul/Gemm + bias + activation into one GEMM call.</summary>
    public bool Fuse { get; init; } = true;

    /// <summary>The device to run on (default: the CPU).</summary>
    public Device? Device { get; init; }

    /// <summary>
    /// Threads (the caller included) that run independent nodes at the same time: the plan groups its memory-aware
    /// order into stages of at most this many independent launches (see <see cref="Scheduling.StagePlanner"/>), and
    /// persistent workers run each stage with the caller. 1 (the default) runs one node after another.
    /// </summary>
    /// <remarks>
    /// The default is 1 because every CPU kernel already spreads its work over the native thread pool (one thread per
    /// physical core), so overlapping nodes helps only graphs of many small independent branches, and it costs memory:
    /// buffers used in one stage cannot share arena space, so the arena can grow (the planner keeps each stage's
    /// estimated live bytes within 12.5% of the sequential peak, bar the first node of a stage). Kernels running
    /// concurrently share the native pool without oversubscribing it: a kernel that finds the pool busy runs on its
    /// own thread. Results are bit-identical to a sequential run: a kernel splits its work by the pool's size, not by
    /// which threads happen to take part.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">The value is below 1 or above <see cref="MaxInterOpThreads"/>.</exception>
    public int InterOpThreads
    {
        get => _interOpThreads;
        init => _interOpThreads = value is >= 1 and <= MaxInterOpThreads
            ? value
            : throw new ArgumentOutOfRangeException(nameof(InterOpThreads), value, $"InterOpThreads must be 1 to {MaxInterOpThreads} (1 runs nodes one after another).");
    }

    /// <summary>The largest <see cref="InterOpThreads"/>.</summary>
    public const int MaxInterOpThreads = 256;

    /// <summary>
    /// The most bytes one plan may allocate (its arena of intermediates plus its result buffers), or null for no
    /// limit. A plan past it is refused with a <see cref="MyelinException"/> (status OutOfMemory) naming the value
    /// that did not fit, before the memory is touched: a guard for models whose shapes come from untrusted files.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is below 1.</exception>
    public long? MemoryLimitBytes
    {
        get => _memoryLimitBytes;
        init => _memoryLimitBytes = value is null or >= 1
            ? value
            : throw new ArgumentOutOfRangeException(nameof(MemoryLimitBytes), value, "MemoryLimitBytes must be at least 1 (null sets no limit).");
    }

    private readonly long? _memoryLimitBytes;

    private readonly int _interOpThreads = 1;
}

/// <summary>One kernel launch's mean wall time per run, from <see cref="CompiledGraph.Profile"/>.</summary>
/// <param name="Launch">The node it runs, or "output 'name'" for a copy to a returned tensor.</param>
/// <param name="Op">The node's op, or "Copy" for a copy to a returned tensor.</param>
/// <param name="Milliseconds">Mean wall time per run, including the synchronization after it.</param>
public sealed record LaunchProfile(string Launch, string Op, double Milliseconds);

/// <summary>
/// A graph ready to run: <see cref="Run"/> checks the feeds, picks (or makes, once per input-shape signature) an
/// <see cref="ExecutionPlan"/>, copies the feeds into its arena, runs the plan's stages of kernel launches (on
/// persistent inter-op workers where <see cref="CompileOptions.InterOpThreads"/> is above 1) and synchronizes once.
/// After the first run with a signature, a run allocates no managed and no native memory. Runs of one compiled
/// graph must not overlap (the plans' buffers are shared); compile once per thread to run concurrently.
/// </summary>
public sealed class CompiledGraph : IDisposable
{
    private readonly Graph _graph;
    private readonly Value[] _outputs;
    private readonly Dictionary<string, ExecutionPlan> _plans = [];
    private readonly Tensor[] _feeds;
    private readonly InterOpWorkers? _workers;
    private ExecutionPlan? _last;
    private bool _disposed;

    private CompiledGraph(Graph graph, Value[] outputs, Device device, int interOpThreads, long? memoryLimitBytes)
    {
        _graph = graph;
        _outputs = outputs;
        Device = device;
        InterOpThreads = interOpThreads;
        MemoryLimitBytes = memoryLimitBytes;
        _feeds = new Tensor[graph.Inputs.Count];
        _workers = interOpThreads > 1 ? new InterOpWorkers(interOpThreads) : null;
    }

    /// <summary>Threads that run independent nodes at the same time (<see cref="CompileOptions.InterOpThreads"/>).</summary>
    public int InterOpThreads { get; }

    /// <summary>Managed bytes the inter-op worker threads have allocated so far (0 without workers); runs after warm-up leave it unchanged.</summary>
    internal long WorkerAllocatedBytes => _workers?.WorkerAllocatedBytes ?? 0;

    /// <summary>Inter-op worker threads still running (0 without workers and after <see cref="Dispose"/>).</summary>
    internal int LiveWorkerThreads => _workers?.LiveThreads ?? 0;

    /// <summary>The device the graph runs on.</summary>
    public Device Device { get; }

    /// <summary>The most bytes one plan may allocate (<see cref="CompileOptions.MemoryLimitBytes"/>).</summary>
    public long? MemoryLimitBytes { get; }

    /// <summary>The (optimized) graph.</summary>
    public Graph Graph => _graph;

    /// <summary>Number of plans made so far (one per input-shape signature).</summary>
    public int PlanCount => _plans.Count;

    /// <summary>
    /// Compiles <paramref name="graph"/>'s marked outputs (and its side-effect nodes, such as optimizer updates).
    /// The passes rewrite <paramref name="graph"/> in place.
    /// </summary>
    public static CompiledGraph Compile(Graph graph, CompileOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        options ??= new CompileOptions();
        graph.Validate();
        if (graph.Outputs.Count == 0 && !graph.Nodes.Any(n => n.Op.HasSideEffects))
        {
            throw new GraphValidationException("The graph has no outputs and no side effects: nothing to compile (call MarkOutput).");
        }

        Passes.PassPipeline.Run(graph, options);
        return new CompiledGraph(graph, [.. graph.Outputs], options.Device ?? Device.Cpu, options.InterOpThreads, options.MemoryLimitBytes);
    }

    /// <summary>
    /// Runs the graph. The returned tensors belong to the compiled graph and are overwritten by the next run
    /// (clone them to keep them).
    /// </summary>
    /// <exception cref="FeedException">A feed is missing, extra, or has the wrong dtype, shape or device.</exception>
    public IReadOnlyList<Tensor> Run(IReadOnlyDictionary<string, Tensor> feeds)
    {
        ArgumentNullException.ThrowIfNull(feeds);
        ExecutionPlan plan = PlanFor(feeds);
        try
        {
            plan.Execute(Device, _feeds, _workers);
        }
        finally
        {
            Array.Clear(_feeds);
        }

        return plan.Outputs;
    }

    /// <summary>
    /// Profiling, opt-in and apart from <see cref="Run"/> (which it leaves untimed): runs the graph
    /// <paramref name="runs"/> times one launch after another on this thread (no inter-op overlap), synchronizing the
    /// device after each launch, and returns every launch's mean wall time per run, in plan order. The updates of a
    /// training step happen as in <see cref="Run"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="runs"/> is below 1.</exception>
    /// <exception cref="FeedException">A feed is missing, extra, or has the wrong dtype, shape or device.</exception>
    public IReadOnlyList<LaunchProfile> Profile(IReadOnlyDictionary<string, Tensor> feeds, int runs = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(runs, 1);
        ExecutionPlan plan = PlanFor(feeds);
        var ticks = new long[plan.LaunchCount];
        try
        {
            for (int run = 0; run < runs; run++) plan.ExecuteProfiled(Device, _feeds, ticks);
        }
        finally
        {
            Array.Clear(_feeds);
        }

        var profile = new LaunchProfile[ticks.Length];
        for (int i = 0; i < ticks.Length; i++)
        {
            (string launch, string op) = plan.DescribeLaunch(i);
            profile[i] = new LaunchProfile(launch, op, ticks[i] * 1000.0 / System.Diagnostics.Stopwatch.Frequency / runs);
        }

        return profile;
    }

    /// <summary>The plan serving these feeds, made now if their shapes are new.</summary>
    /// <exception cref="FeedException">A feed is missing, extra, or has the wrong dtype, shape or device.</exception>
    public ExecutionPlan PlanFor(IReadOnlyDictionary<string, Tensor> feeds)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(feeds);
        IReadOnlyList<Value> inputs = _graph.Inputs;
        for (int i = 0; i < inputs.Count; i++)
        {
            Value input = inputs[i];
            if (!feeds.TryGetValue(input.Name, out Tensor? feed) || feed is null)
            {
                throw new FeedException(input.Name, $"Feed '{input.Name}' ({input.Type}) is missing; the graph's inputs are {InputList()}.");
            }

            if (feed.DType != input.DType)
            {
                throw new FeedException(input.Name, $"Feed '{input.Name}' is {feed.DType.ShortName()} but the graph declares {input.Type}.");
            }

            if (feed.Device.Kind != Device.Kind || feed.Device.Ordinal != Device.Ordinal)
            {
                throw new FeedException(input.Name, $"Feed '{input.Name}' is on {feed.Device.Name} but the graph runs on {Device.Name}.");
            }

            feed.ThrowIfDisposed();
            _feeds[i] = feed;
        }

        if (feeds.Count != inputs.Count)
        {
            throw ExtraFeed(feeds);
        }

        if (_last is not null && Matches(_last))
        {
            return _last;
        }

        string key = string.Join(";", _feeds.Select(f => f.Shape.ToString()));
        if (!_plans.TryGetValue(key, out ExecutionPlan? plan))
        {
            plan = ExecutionPlan.Build(_graph, _outputs, Device, _feeds.Select(f => f.Shape).ToArray(), InterOpThreads, MemoryLimitBytes);
            _plans[key] = plan;
        }

        _last = plan;
        return plan;
    }

    // Kept out of PlanFor: a lambda capturing a local there would allocate its closure on every call.
    private FeedException ExtraFeed(IReadOnlyDictionary<string, Tensor> feeds)
    {
        string extra = feeds.Keys.First(k => !_graph.Inputs.Any(v => v.Name == k));
        return new FeedException(extra, $"Feed '{extra}' is not an input of the graph; its inputs are {InputList()}.");
    }

    private string InputList() => string.Join(", ", _graph.Inputs.Select(v => $"'{v.Name}'"));

    private bool Matches(ExecutionPlan plan)
    {
        for (int i = 0; i < _feeds.Length; i++)
        {
            if (!_feeds[i].Shape.Dimensions.SequenceEqual(plan.InputShapes[i].Dimensions)) return false;
        }

        return true;
    }

    /// <summary>Stops the inter-op workers and frees every plan's memory.</summary>
    public void Dispose()
    {
        _disposed = true;
        _workers?.Dispose();
        foreach (ExecutionPlan plan in _plans.Values) plan.Dispose();
        _plans.Clear();
        _last = null;
    }
}

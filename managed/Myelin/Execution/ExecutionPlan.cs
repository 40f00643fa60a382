using Myelin.Graphs;
using Myelin.Native;
using Myelin.Ops;
using Myelin.Scheduling;

namespace Myelin.Execution;

/// <summary>
/// A graph compiled for one signature of input shapes: the node order grouped into stages of independent nodes,
/// every intermediate's place in one arena (offsets from liveness in stage units, best fit), descriptors built once,
/// and one kernel launch per node. The launches of a stage may run concurrently (inter-op parallelism); two buffers
/// used in one stage never share memory.
/// </summary>
public sealed unsafe class ExecutionPlan : IDisposable
{
    private readonly Tensor? _arena;
    private readonly List<Tensor> _owned;
    private readonly KernelLaunch[] _launches;
    private readonly string[] _launchNames;
    private readonly string?[] _launchNodes;
    private readonly string[] _launchOps;
    private readonly int[] _stageStarts;
    private readonly TensorDesc*[] _inputDescs;
    private readonly DescTable _table;

    private ExecutionPlan(Shape[] inputShapes, Tensor? arena, List<Tensor> owned, KernelLaunch[] launches, string[] launchNames, string?[] launchNodes, string[] launchOps, int[] stageStarts,
        TensorDesc*[] inputDescs, Tensor[] outputs, DescTable table, long arenaBytes, long naiveBytes, IReadOnlyList<string> order,
        IReadOnlyList<IReadOnlyList<string>> stages, IReadOnlyList<BufferLifetime> lifetimes, IReadOnlyDictionary<int, long> offsets)
    {
        InputShapes = inputShapes;
        _arena = arena;
        _owned = owned;
        _launches = launches;
        _launchNames = launchNames;
        _launchNodes = launchNodes;
        _launchOps = launchOps;
        _stageStarts = stageStarts;
        _inputDescs = inputDescs;
        Outputs = outputs;
        _table = table;
        ArenaBytes = arenaBytes;
        NaiveBytes = naiveBytes;
        Order = order;
        Stages = stages;
        Lifetimes = lifetimes;
        Offsets = offsets;
    }

    /// <summary>The input shapes this plan serves.</summary>
    public Shape[] InputShapes { get; }

    /// <summary>Bytes of the arena holding every intermediate and fed value.</summary>
    public long ArenaBytes { get; }

    /// <summary>Bytes the intermediates would take with a buffer each (the arena's baseline).</summary>
    public long NaiveBytes { get; }

    /// <summary>Node names in execution order (stage by stage).</summary>
    public IReadOnlyList<string> Order { get; }

    /// <summary>What each stage launches, in order: node names, and "output 'name'" for a copy to a returned tensor.</summary>
    public IReadOnlyList<IReadOnlyList<string>> Stages { get; }

    /// <summary>Number of kernel launches per run.</summary>
    public int LaunchCount => _launches.Length;

    /// <summary>The output tensors, overwritten by every run.</summary>
    internal Tensor[] Outputs { get; }

    /// <summary>The arena's buffers with lifetimes in steps: 0 copies the feeds in, stage s runs at step s + 1.</summary>
    internal IReadOnlyList<BufferLifetime> Lifetimes { get; }

    /// <summary>Each arena buffer's offset.</summary>
    internal IReadOnlyDictionary<int, long> Offsets { get; }

    /// <summary>
    /// Copies feeds in, runs the stages in order (a stage of several launches on <paramref name="workers"/> when
    /// given, else on this thread), and waits once at the end.
    /// </summary>
    /// <exception cref="NodeExecutionException">A kernel failed; the plan stays usable.</exception>
    internal void Execute(Device device, Tensor[] feeds, InterOpWorkers? workers)
    {
        DeviceHandle handle = device.Handle;
        for (int i = 0; i < feeds.Length; i++)
        {
            TensorDesc source = feeds[i].Describe();
            KernelCalls.Copy(handle, &source, _inputDescs[i]);
        }

        for (int stage = 0; stage + 1 < _stageStarts.Length; stage++)
        {
            int begin = _stageStarts[stage], end = _stageStarts[stage + 1];
            if (workers is not null && end - begin > 1)
            {
                workers.Run(this, handle, begin, end);
                continue;
            }

            for (int i = begin; i < end; i++) Launch(i, handle);
        }

        NativeMethods.Check(NativeMethods.DeviceSynchronize(handle));
        GC.KeepAlive(_table);
        GC.KeepAlive(feeds);
    }

    /// <summary>
    /// Runs like <see cref="Execute"/> but one launch at a time on this thread, synchronizing the device after each,
    /// and adds each launch's wall time in stopwatch ticks to <paramref name="ticks"/>[launch] (the feed copies are not timed).
    /// </summary>
    internal void ExecuteProfiled(Device device, Tensor[] feeds, long[] ticks)
    {
        DeviceHandle handle = device.Handle;
        for (int i = 0; i < feeds.Length; i++)
        {
            TensorDesc source = feeds[i].Describe();
            KernelCalls.Copy(handle, &source, _inputDescs[i]);
        }

        NativeMethods.Check(NativeMethods.DeviceSynchronize(handle));
        for (int i = 0; i < _launches.Length; i++)
        {
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            Launch(i, handle);
            NativeMethods.Check(NativeMethods.DeviceSynchronize(handle));
            ticks[i] += System.Diagnostics.Stopwatch.GetTimestamp() - start;
        }

        GC.KeepAlive(_table);
        GC.KeepAlive(feeds);
    }

    /// <summary>What launch <paramref name="index"/> runs: its node's name (or "output 'name'" for a copy out) and op ("Copy" for a copy out).</summary>
    internal (string Launch, string Op) DescribeLaunch(int index) => (_launchNodes[index] ?? _launchNames[index], _launchOps[index]);

    /// <summary>Issues launch <paramref name="index"/>; a failure is rethrown naming what it launches.</summary>
    internal void Launch(int index, DeviceHandle device)
    {
        try
        {
            _launches[index].Launch(device);
        }
        catch (Exception e)
        {
            throw new NodeExecutionException(_launchNames[index], _launchNodes[index], e);
        }
    }

    /// <summary>Frees the arena, the output buffers and the launches' native resources (prepared weights).</summary>
    public void Dispose()
    {
        _table.Dispose();
        _arena?.Dispose();
        foreach (Tensor tensor in _owned) tensor.Dispose();
    }

    private sealed class Buffer(int id, long bytes, int first)
    {
        public int Id { get; } = id;
        public long Bytes { get; } = bytes;
        public int First { get; } = first;
        public int Last { get; set; } = first;
        public Tensor? Dedicated { get; set; }
    }

    private sealed record Placement(Buffer? Buffer, Tensor? External, Layout Layout);

    /// <summary>Launches run one after another as one launch: contiguous copies of a node's inputs, then its kernel.</summary>
    private sealed class SequenceLaunch(KernelLaunch[] parts) : KernelLaunch
    {
        public override void Launch(DeviceHandle device)
        {
            foreach (KernelLaunch part in parts) part.Launch(device);
        }
    }

    /// <summary>
    /// Plans <paramref name="outputs"/> of <paramref name="graph"/> for inputs of <paramref name="inputShapes"/>, in
    /// stages of at most <paramref name="interOpThreads"/> launches (see <see cref="StagePlanner"/>), allocating at
    /// most <paramref name="memoryLimit"/> bytes (null: no limit).
    /// </summary>
    internal static ExecutionPlan Build(Graph graph, IReadOnlyList<Value> outputs, Device device, Shape[] inputShapes, int interOpThreads, long? memoryLimit = null)
    {
        List<Node> live = Scheduler.LiveNodes(graph, outputs);
        Dictionary<Value, TensorType> types = ConcreteTypes(graph, live, outputs, inputShapes);
        long Bytes(Value v)
        {
            Shape shape = types[v].ToShape();
            long size = v.DType.ElementSize();
            return shape.ElementCount <= long.MaxValue / size
                ? shape.ElementCount * size
                : throw new MyelinException(Status.OutOfMemory, $"'{v.Name}' ({types[v]}) would take more than 2^63 bytes.");
        }
        List<Node> order = Scheduler.Order(live, Bytes);
        (Dictionary<Node, Layout[]> viewLayouts, HashSet<Node> copiedViews) = ViewLayouts(graph, order, types, inputShapes);
        StagePlan stagePlan = StagePlanner.Plan(order, n => !n.Op.IsView || copiedViews.Contains(n), Bytes, interOpThreads, graph.Inputs, outputs);
        var position = new Dictionary<Node, int>();
        for (int k = 0; k < order.Count; k++) position[order[k]] = k;
        List<Node> sequence = [.. order.OrderBy(n => stagePlan.StageOf[n]).ThenBy(n => position[n])];

        var buffers = new List<Buffer>();
        var placements = new Dictionary<Value, Placement>();
        var table = new DescTable();
        var owned = new List<Tensor>();
        var outputSet = new HashSet<Value>(outputs);
        var descs = new Dictionary<Value, nint>();
        Tensor? arena = null;
        Dictionary<int, long> offsets = [];
        long allocated = 0;

        // Every buffer the plan allocates goes through here, so a limit is checked before the memory exists.
        Tensor Allocate(Shape shape, DType dtype, string what)
        {
            long bytes = shape.ElementCount * dtype.ElementSize();
            if (memoryLimit is { } limit && bytes > limit - allocated)
            {
                foreach (Tensor tensor in owned) tensor.Dispose();
                throw new MyelinException(Status.OutOfMemory,
                    $"The plan needs {bytes} bytes for {what} on top of {allocated} already planned; the memory limit (CompileOptions.MemoryLimitBytes) is {limit}.");
            }

            allocated += bytes;
            return Tensor.Empty(shape, dtype, device, ownedByScope: false);
        }

        Buffer NewBuffer(long bytes, int step)
        {
            var buffer = new Buffer(buffers.Count, bytes, step);
            buffers.Add(buffer);
            return buffer;
        }

        Placement Place(Value value)
        {
            if (placements.TryGetValue(value, out Placement? placement)) return placement;
            if (value.Kind is ValueKind.Parameter or ValueKind.Constant)
            {
                placement = new Placement(null, value.Data, Layout.Contiguous(value.Data!.Shape));
                placements[value] = placement;
                return placement;
            }

            throw new InvalidOperationException($"'{value.Name}' is used before it is computed.");
        }

        long naiveBytes = 0;
        for (int i = 0; i < graph.Inputs.Count; i++)
        {
            placements[graph.Inputs[i]] = new Placement(NewBuffer(Bytes(graph.Inputs[i]), 0), null, Layout.Contiguous(inputShapes[i]));
            naiveBytes += Bytes(graph.Inputs[i]);
        }

        // Steps: 0 copies the feeds in, stage s runs at step s + 1, output copies at the end.
        int StepOf(Node node) => stagePlan.StageOf[node] + 1;
        bool Reads(Node node) => !node.Op.IsView || copiedViews.Contains(node);

        // The last step reading each value's memory (through any view), and how many launches read it at each step.
        var lastRead = new Dictionary<Value, int>();
        var readersAtStep = new Dictionary<(Value Root, int Step), int>();
        foreach (Node node in sequence)
        {
            foreach (Value root in node.Inputs.Select(Scheduler.Root).Distinct())
            {
                lastRead[root] = Math.Max(lastRead.GetValueOrDefault(root), StepOf(node));
                if (Reads(node)) readersAtStep[(root, StepOf(node))] = readersAtStep.GetValueOrDefault((root, StepOf(node))) + 1;
            }
        }

        foreach (Value output in outputs) lastRead[Scheduler.Root(output)] = int.MaxValue;

        // Elementwise kernels may write over an input that no later stage reads and no other launch of its stage reads.
        Value? InPlaceSource(Node node, Value output, int step)
        {
            if (node.Op is not (UnaryKernelOp or BinaryKernelOp) || outputSet.Contains(output)) return null;
            foreach (Value input in node.Inputs)
            {
                if (input.Kind == ValueKind.Intermediate && input.Producer is { Op.IsView: false } && lastRead.GetValueOrDefault(input) == step
                    && readersAtStep[(input, step)] == 1 && types[input].Equals(types[output]) && placements[input].Buffer is { Dedicated: null }
                    && placements[input].Layout.IsContiguous)
                {
                    return input;
                }
            }

            return null;
        }

        var launchSteps = new List<(int Step, Node? Node, string Name, Func<KernelLaunch> Make)>();
        foreach (Node node in sequence)
        {
            int step = StepOf(node);
            foreach (Value input in node.Inputs)
            {
                Placement placement = Place(input);
                if (placement.Buffer is { } buffer) buffer.Last = Math.Max(buffer.Last, step);
            }

            if (node.Op.IsView)
            {
                Placement source = Place(node.Inputs[0]);
                if (copiedViews.Contains(node))
                {
                    // The input's layout cannot be re-seen this way: copy it to a contiguous buffer first.
                    Value input = node.Inputs[0];
                    var copy = new Placement(NewBuffer(Bytes(input), step), null, Layout.Contiguous(types[input].ToShape()));
                    launchSteps.Add((step, node, node.Name, KernelLaunch () => new CopyLaunch(DescribeValue(input), DescribeCopy(copy, input.DType))));
                    source = copy;
                }

                Layout[] outputLayouts = viewLayouts[node];
                for (int i = 0; i < node.Outputs.Length; i++) placements[node.Outputs[i]] = source with { Layout = outputLayouts[i] };

                continue;
            }

            foreach (Value output in node.Outputs)
            {
                naiveBytes += Bytes(output);
                if (InPlaceSource(node, output, step) is { } source)
                {
                    placements[output] = placements[source] with { };
                    continue;
                }

                Buffer buffer = NewBuffer(Bytes(output), step);
                placements[output] = new Placement(buffer, null, Layout.Contiguous(types[output].ToShape()));
                if (outputSet.Contains(output) && output.Kind == ValueKind.Intermediate)
                {
                    buffer.Dedicated = Allocate(types[output].ToShape(), output.DType, $"output '{output.Name}' ({types[output]})");
                    owned.Add(buffer.Dedicated);
                }
            }

            // An input the kernel needs contiguous but a view left strided is copied to a buffer of its own first, in the
            // node's launch, so no other launch of the stage can see the copy half written. Mutated inputs are never
            // copied (the update would land in the copy); the native call rejects them with a message instead.
            var contiguousCopies = new Placement?[node.Inputs.Length];
            for (int i = 0; i < node.Inputs.Length; i++)
            {
                Value input = node.Inputs[i];
                if (node.Op.RequiresContiguousInput(i) && !Place(input).Layout.IsContiguous && !node.Op.MutatedInputsOf(node).Contains(i))
                {
                    contiguousCopies[i] = new Placement(NewBuffer(Bytes(input), step), null, Layout.Contiguous(types[input].ToShape()));
                }
            }

            launchSteps.Add((step, node, node.Name, () => BindWithCopies(node, contiguousCopies)));
        }

        // Outputs that are not a dedicated node result (views, inputs, parameters) are copied out in a last stage.
        var resultTensors = new Tensor[outputs.Count];
        int finalStep = stagePlan.StageOf.Values.DefaultIfEmpty(-1).Max() + 2;
        for (int i = 0; i < outputs.Count; i++)
        {
            Value output = outputs[i];
            Placement placement = Place(output);
            if (placement.Buffer?.Dedicated is { } dedicated && placement.Layout.IsContiguous && placement.Layout.Offset == 0
                && dedicated.Shape == types[output].ToShape())
            {
                resultTensors[i] = dedicated;
                continue;
            }

            Tensor result = Allocate(types[output].ToShape(), output.DType, $"output '{output.Name}' ({types[output]})");
            owned.Add(result);
            resultTensors[i] = result;
            if (placement.Buffer is { } buffer) buffer.Last = finalStep;
            launchSteps.Add((finalStep, null, $"output '{output.Name}'", KernelLaunch () => new CopyLaunch(DescribeValue(output), table.Add(result.Describe()))));
        }

        // Arena: every buffer without a dedicated tensor, placed by lifetime in steps.
        var lifetimes = buffers.Where(b => b.Dedicated is null).Select(b => new BufferLifetime(b.Id, b.Bytes, b.First, b.Last)).ToList();
        long arenaBytes;
        try
        {
            (offsets, arenaBytes) = ArenaPlanner.Plan(lifetimes);
        }
        catch (OverflowException exception)
        {
            foreach (Tensor tensor in owned) tensor.Dispose();
            throw new MyelinException(Status.OutOfMemory, "The plan's arena of intermediates would take more than 2^63 bytes.", exception);
        }

        // Buffers of zero bytes still need a valid address, so an arena exists whenever any buffer does.
        arena = lifetimes.Count > 0 ? Allocate(new Shape(Math.Max(arenaBytes, ArenaPlanner.Alignment)), DType.U8, "the arena of intermediates") : null;

        void* BasePointer(Placement placement) => placement switch
        {
            { External: { } external } => external.DataPointer,
            { Buffer.Dedicated: { } dedicated } => dedicated.DataPointer,
            { Buffer: { } buffer } => (byte*)arena!.DataPointer + offsets[buffer.Id],
            _ => throw new InvalidOperationException("A value has no memory."),
        };

        TensorDesc* DescribeValue(Value value)
        {
            if (!descs.TryGetValue(value, out nint desc))
            {
                Placement placement = placements[value];
                desc = (nint)table.Add(DescTable.Describe(BasePointer(placement), value.DType, placement.Layout));
                descs[value] = desc;
            }

            return (TensorDesc*)desc;
        }

        TensorDesc*[] DescribeAll(Value[] values)
        {
            var result = new TensorDesc*[values.Length];
            for (int i = 0; i < values.Length; i++) result[i] = DescribeValue(values[i]);
            return result;
        }

        TensorDesc* DescribeCopy(Placement placement, DType dtype) => table.Add(DescTable.Describe(BasePointer(placement), dtype, placement.Layout));

        KernelLaunch BindWithCopies(Node node, Placement?[] copies)
        {
            var inputs = new TensorDesc*[node.Inputs.Length];
            var launches = new List<KernelLaunch>();
            for (int i = 0; i < inputs.Length; i++)
            {
                inputs[i] = DescribeValue(node.Inputs[i]);
                if (copies[i] is not { } copy) continue;
                TensorDesc* contiguous = DescribeCopy(copy, node.Inputs[i].DType);
                launches.Add(new CopyLaunch(inputs[i], contiguous));
                inputs[i] = contiguous;
            }

            bool[] constants = node.Inputs.Select((v, i) => v.Kind == ValueKind.Constant && copies[i] is null).ToArray();
            bool[] readOutputs = node.Outputs.Select(v => lastRead.ContainsKey(Scheduler.Root(v))).ToArray();
            KernelLaunch kernel = node.Op.Bind(new BindContext(node, device, inputs, DescribeAll(node.Outputs), table, constants, readOutputs));
            if (launches.Count == 0) return kernel;
            launches.Add(kernel);
            return new SequenceLaunch([.. launches]);
        }

        KernelLaunch[] launches;
        try
        {
            launches = launchSteps.Select(s => s.Make()).ToArray();
        }
        catch
        {
            // A binding that fails (bad attributes, weights the native side rejects) frees what the plan holds so far,
            // prepared weights included, now rather than at finalization.
            table.Dispose();
            arena?.Dispose();
            foreach (Tensor tensor in owned) tensor.Dispose();
            throw;
        }

        var stageStarts = new List<int>();
        var stages = new List<IReadOnlyList<string>>();
        for (int i = 0; i < launchSteps.Count; i++)
        {
            if (i == 0 || launchSteps[i].Step != launchSteps[i - 1].Step)
            {
                stageStarts.Add(i);
                stages.Add(new List<string>());
            }

            ((List<string>)stages[^1]).Add(launchSteps[i].Name);
        }

        stageStarts.Add(launchSteps.Count);
        TensorDesc*[] inputDescs = DescribeAll([.. graph.Inputs]);
        return new ExecutionPlan(inputShapes, arena, owned, launches, launchSteps.Select(s => s.Node?.ToString() ?? s.Name).ToArray(),
            launchSteps.Select(s => s.Node?.Name).ToArray(), launchSteps.Select(s => s.Node?.Op.Name ?? "Copy").ToArray(), [.. stageStarts], inputDescs,
            resultTensors, table, arenaBytes, naiveBytes, sequence.Select(n => n.Name).ToList(), stages, lifetimes, offsets);
    }

    /// <summary>
    /// Every view's layout over the memory it sees, and the views whose input's layout cannot be re-seen that way
    /// (those copy their input to a contiguous buffer first). Results of other nodes, feeds and parameters are contiguous.
    /// </summary>
    private static (Dictionary<Node, Layout[]> Layouts, HashSet<Node> Copied) ViewLayouts(Graph graph, List<Node> order, Dictionary<Value, TensorType> types, Shape[] inputShapes)
    {
        var layouts = new Dictionary<Value, Layout>();
        for (int i = 0; i < graph.Inputs.Count; i++) layouts[graph.Inputs[i]] = Layout.Contiguous(inputShapes[i]);
        Layout LayoutOf(Value value) => layouts.TryGetValue(value, out Layout? layout) ? layout : Layout.Contiguous(types.TryGetValue(value, out TensorType? type) ? type.ToShape() : value.Data!.Shape);

        var viewLayouts = new Dictionary<Node, Layout[]>();
        var copied = new HashSet<Node>();
        foreach (Node node in order.Where(n => n.Op.IsView))
        {
            Shape outShape = types[node.Outputs[0]].ToShape();
            Layout? layout = node.Op.View(node, LayoutOf(node.Inputs[0]), outShape);
            if (layout is null)
            {
                copied.Add(node);
                layout = node.Op.View(node, Layout.Contiguous(types[node.Inputs[0]].ToShape()), outShape)
                    ?? throw new InvalidOperationException($"{node}: no view of a contiguous input.");
            }

            Layout source = copied.Contains(node) ? Layout.Contiguous(types[node.Inputs[0]].ToShape()) : LayoutOf(node.Inputs[0]);
            var outputs = new Layout[node.Outputs.Length];
            outputs[0] = layout;
            for (int i = 1; i < outputs.Length; i++)
            {
                outputs[i] = node.Op.ViewOutput(node, source, types[node.Outputs[i]].ToShape(), i)
                    ?? throw new InvalidOperationException($"{node}: output {i} has no view.");
            }

            viewLayouts[node] = outputs;
            for (int i = 0; i < outputs.Length; i++) layouts[node.Outputs[i]] = outputs[i];
        }

        return (viewLayouts, copied);
    }

    /// <summary>Binds the inputs' symbols from the fed shapes and infers every live value's and output's concrete type.</summary>
    private static Dictionary<Value, TensorType> ConcreteTypes(Graph graph, List<Node> live, IReadOnlyList<Value> outputs, Shape[] inputShapes)
    {
        var symbols = new Dictionary<string, (long Size, string Feed)>();
        var types = new Dictionary<Value, TensorType>();
        for (int i = 0; i < graph.Inputs.Count; i++)
        {
            Value input = graph.Inputs[i];
            Shape shape = inputShapes[i];
            if (shape.Rank != input.Rank)
            {
                throw new FeedException(input.Name, $"Feed '{input.Name}' has shape {shape} (rank {shape.Rank}) but the graph declares {input.Type.ShapeText} (rank {input.Rank}).");
            }

            for (int axis = 0; axis < shape.Rank; axis++)
            {
                Dim declared = input.Type[axis];
                if (declared.IsKnown && declared.Value != shape[axis])
                {
                    throw new FeedException(input.Name, $"Feed '{input.Name}' has shape {shape} but the graph declares {input.Type.ShapeText} (axis {axis}: {shape[axis]} vs {declared}).");
                }

                if (!declared.IsKnown)
                {
                    if (symbols.TryGetValue(declared.Symbol!, out (long Size, string Feed) bound) && bound.Size != shape[axis])
                    {
                        throw new FeedException(input.Name, $"Feed '{input.Name}' binds {declared.Symbol} = {shape[axis]} but feed '{bound.Feed}' bound it to {bound.Size}.");
                    }

                    symbols[declared.Symbol!] = (shape[axis], input.Name);
                }
            }

            types[input] = new TensorType(input.DType, shape);
        }

        TensorType TypeOf(Value value)
        {
            if (types.TryGetValue(value, out TensorType? type)) return type;
            if (value.Data is { } data) return types[value] = new TensorType(data.DType, data.Shape);
            throw new GraphValidationException($"'{value.Name}' is read before it is computed.");
        }

        foreach (Node node in live)
        {
            TensorType[] results = node.Op.InferTypes(node, node.Inputs.Select(TypeOf).ToArray());
            for (int i = 0; i < results.Length; i++) types[node.Outputs[i]] = results[i];
        }

        // An output no node reads, such as a constant left by constant folding, still needs its type to be copied out.
        foreach (Value output in outputs) TypeOf(output);
        return types;
    }
}

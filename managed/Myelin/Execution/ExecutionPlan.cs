using Myelin.Graphs;
using Myelin.Native;
using Myelin.Ops;
using Myelin.Scheduling;

namespace Myelin.Execution;

/// <summary>
/// A graph compiled for one signature of input shapes: the node order, every intermediate's place in one
/// arena (offsets from liveness, best fit), descriptors built once, and one kernel launch per node.
/// </summary>
public sealed unsafe class ExecutionPlan : IDisposable
{
    private readonly Tensor? _arena;
    private readonly List<Tensor> _owned;
    private readonly KernelLaunch[] _launches;
    private readonly TensorDesc*[] _inputDescs;
    private readonly DescTable _table;

    private ExecutionPlan(Shape[] inputShapes, Tensor? arena, List<Tensor> owned, KernelLaunch[] launches, TensorDesc*[] inputDescs,
        Tensor[] outputs, DescTable table, long arenaBytes, long naiveBytes, IReadOnlyList<string> order)
    {
        InputShapes = inputShapes;
        _arena = arena;
        _owned = owned;
        _launches = launches;
        _inputDescs = inputDescs;
        Outputs = outputs;
        _table = table;
        ArenaBytes = arenaBytes;
        NaiveBytes = naiveBytes;
        Order = order;
    }

    /// <summary>The input shapes this plan serves.</summary>
    public Shape[] InputShapes { get; }

    /// <summary>Bytes of the arena holding every intermediate and fed value.</summary>
    public long ArenaBytes { get; }

    /// <summary>Bytes the intermediates would take with a buffer each (the arena's baseline).</summary>
    public long NaiveBytes { get; }

    /// <summary>Node names in execution order.</summary>
    public IReadOnlyList<string> Order { get; }

    /// <summary>Number of kernel launches per run.</summary>
    public int LaunchCount => _launches.Length;

    /// <summary>The output tensors, overwritten by every run.</summary>
    internal Tensor[] Outputs { get; }

    /// <summary>Copies feeds in, launches every kernel, and waits once at the end.</summary>
    internal void Execute(Device device, Tensor[] feeds)
    {
        DeviceHandle handle = device.Handle;
        for (int i = 0; i < feeds.Length; i++)
        {
            TensorDesc source = feeds[i].Describe();
            KernelCalls.Copy(handle, &source, _inputDescs[i]);
        }

        for (int i = 0; i < _launches.Length; i++)
        {
            _launches[i].Launch(handle);
        }

        NativeMethods.Check(NativeMethods.DeviceSynchronize(handle));
        GC.KeepAlive(_table);
        GC.KeepAlive(feeds);
    }

    /// <summary>Frees the arena and the output buffers.</summary>
    public void Dispose()
    {
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

    /// <summary>Plans <paramref name="outputs"/> of <paramref name="graph"/> for inputs of <paramref name="inputShapes"/>.</summary>
    internal static ExecutionPlan Build(Graph graph, IReadOnlyList<Value> outputs, Device device, Shape[] inputShapes)
    {
        List<Node> live = Scheduler.LiveNodes(graph, outputs);
        Dictionary<Value, TensorType> types = ConcreteTypes(graph, live, inputShapes);
        long Bytes(Value v) => types[v].ToShape().ElementCount * v.DType.ElementSize();
        List<Node> order = Scheduler.Order(live, Bytes);

        var buffers = new List<Buffer>();
        var placements = new Dictionary<Value, Placement>();
        var table = new DescTable();
        var owned = new List<Tensor>();
        var outputSet = new HashSet<Value>(outputs);
        Tensor? arena = null;
        Dictionary<int, long> offsets = [];
        var descs = new Dictionary<Value, nint>();

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

        // The last step reading each value's memory (through any view), for in-place reuse.
        var lastRead = new Dictionary<Value, int>();
        for (int k = 0; k < order.Count; k++)
        {
            foreach (Value input in order[k].Inputs) lastRead[Scheduler.Root(input)] = k + 1;
        }

        foreach (Value output in outputs) lastRead[Scheduler.Root(output)] = int.MaxValue;

        Value? InPlaceSource(Node node, Value output, int step)
        {
            if (node.Op is not (UnaryKernelOp or BinaryKernelOp) || outputSet.Contains(output)) return null;
            foreach (Value input in node.Inputs)
            {
                if (input.Kind == ValueKind.Intermediate && input.Producer is { Op.IsView: false } && lastRead.GetValueOrDefault(input) == step
                    && types[input].Equals(types[output]) && placements[input].Buffer is { Dedicated: null } && placements[input].Layout.IsContiguous)
                {
                    return input;
                }
            }

            return null;
        }

        // Steps: 0 copies the feeds in, node k runs at step k + 1, output copies at the end.
        var launchSteps = new List<(Node? Node, Func<KernelLaunch> Make)>();
        for (int k = 0; k < order.Count; k++)
        {
            Node node = order[k];
            int step = k + 1;
            foreach (Value input in node.Inputs)
            {
                Placement placement = Place(input);
                if (placement.Buffer is { } buffer) buffer.Last = Math.Max(buffer.Last, step);
            }

            if (node.Op.IsView)
            {
                Placement source = Place(node.Inputs[0]);
                Shape outShape = types[node.Outputs[0]].ToShape();
                Layout? layout = node.Op.View(node, source.Layout, outShape);
                if (layout is null)
                {
                    // The input's layout cannot be re-seen this way: copy it to a contiguous buffer first.
                    Shape inShape = types[node.Inputs[0]].ToShape();
                    var copy = new Placement(NewBuffer(Bytes(node.Inputs[0]), step), null, Layout.Contiguous(inShape));
                    Value input = node.Inputs[0];
                    launchSteps.Add((node, KernelLaunch () => new CopyLaunch(DescribeValue(input), DescribeCopy(copy, input.DType))));
                    source = copy;
                    layout = node.Op.View(node, copy.Layout, outShape) ?? throw new InvalidOperationException($"{node}: no view of a contiguous input.");
                }

                placements[node.Outputs[0]] = source with { Layout = layout };
                for (int i = 1; i < node.Outputs.Length; i++)
                {
                    Layout part = node.Op.ViewOutput(node, source.Layout, types[node.Outputs[i]].ToShape(), i) ?? throw new InvalidOperationException($"{node}: output {i} has no view.");
                    placements[node.Outputs[i]] = source with { Layout = part };
                }

                continue;
            }

            foreach (Value output in node.Outputs)
            {
                naiveBytes += Bytes(output);
                if (InPlaceSource(node, output, step) is { } source)
                {
                    // Elementwise kernels may write over an input that no later step reads.
                    placements[output] = placements[source] with { };
                    continue;
                }

                Buffer buffer = NewBuffer(Bytes(output), step);
                placements[output] = new Placement(buffer, null, Layout.Contiguous(types[output].ToShape()));
                if (outputSet.Contains(output) && output.Kind == ValueKind.Intermediate)
                {
                    buffer.Dedicated = Tensor.Empty(types[output].ToShape(), output.DType, device, ownedByScope: false);
                    owned.Add(buffer.Dedicated);
                }
            }

            launchSteps.Add((node, () => node.Op.Bind(new BindContext(node, device, DescribeAll(node.Inputs), DescribeAll(node.Outputs), table))));
        }

        // Outputs that are not a dedicated node result (views, inputs, parameters) are copied out at the end.
        var resultTensors = new Tensor[outputs.Count];
        int finalStep = order.Count + 1;
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

            Tensor result = Tensor.Empty(types[output].ToShape(), output.DType, device, ownedByScope: false);
            owned.Add(result);
            resultTensors[i] = result;
            if (placement.Buffer is { } buffer) buffer.Last = finalStep;
            launchSteps.Add((null, KernelLaunch () => new CopyLaunch(DescribeValue(output), table.Add(result.Describe()))));
        }

        // Arena: every buffer without a dedicated tensor, placed by lifetime.
        var lifetimes = buffers.Where(b => b.Dedicated is null).Select(b => new BufferLifetime(b.Id, b.Bytes, b.First, b.Last)).ToList();
        (offsets, long arenaBytes) = ArenaPlanner.Plan(lifetimes);
        arena = arenaBytes > 0 ? Tensor.Empty(new Shape(arenaBytes), DType.U8, device, ownedByScope: false) : null;

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

        KernelLaunch[] launches = launchSteps.Select(s => s.Make()).ToArray();
        TensorDesc*[] inputDescs = DescribeAll([.. graph.Inputs]);
        return new ExecutionPlan(inputShapes, arena, owned, launches, inputDescs, resultTensors, table, arenaBytes, naiveBytes,
            order.Select(n => n.Name).ToList());
    }

    /// <summary>Binds the inputs' symbols from the fed shapes and infers every live value's concrete type.</summary>
    private static Dictionary<Value, TensorType> ConcreteTypes(Graph graph, List<Node> live, Shape[] inputShapes)
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
            TensorType[] outputs = node.Op.InferTypes(node, node.Inputs.Select(TypeOf).ToArray());
            for (int i = 0; i < outputs.Length; i++) types[node.Outputs[i]] = outputs[i];
        }

        return types;
    }
}

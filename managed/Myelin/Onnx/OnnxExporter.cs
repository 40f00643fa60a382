using Google.Protobuf;
using Myelin.Graphs;
using Myelin.NN;
using Myelin.Ops;
using Myelin.Training;
using Onnx;

namespace Myelin.Onnx;

/// <summary>
/// Exports inference graphs to ONNX (<c>ModelProto</c>, opset <see cref="Opset"/>, IR version <see cref="IrVersion"/>):
/// the nodes the requested outputs depend on, each written by its op's <see cref="OpDef.ExportOnnx"/>; parameters and
/// constants become initializers (raw little-endian data) under their graph names ("0.weight", "encoder.fc1.bias");
/// graph inputs and outputs get their dtype and shape, symbolic dims as <c>dim_param</c>. What serves only training is
/// left out: nodes no output depends on (losses, optimizer updates) and dropout, which is the identity at inference.
/// Export the graph as built: <see cref="Execution.CompiledGraph.Compile"/> rewrites a graph into fused Myelin ops
/// that have no ONNX form.
/// </summary>
public static class OnnxExporter
{
    /// <summary>The ai.onnx opset exported models declare: the newest onnx 1.12 knows, which the importer reads fully.</summary>
    public const int Opset = 17;

    /// <summary>The IR version exported models declare (that of opset 17, onnx 1.12).</summary>
    public const long IrVersion = 8;

    /// <summary>The graph input an exported <see cref="Layer"/> reads.</summary>
    public const string LayerInputName = "input";

    /// <summary>The graph output an exported <see cref="Layer"/> writes.</summary>
    public const string LayerOutputName = "output";

    /// <summary>
    /// The serialized model computing <paramref name="outputs"/> (default: the graph's marked outputs) of
    /// <paramref name="graph"/>, named <paramref name="outputNames"/> in the model (default: the values' names).
    /// </summary>
    /// <exception cref="OnnxExportException">A node the outputs need has no ONNX form; the message names it and its op.</exception>
    /// <exception cref="ArgumentException">No outputs, an output of another graph, or output names that are not unique.</exception>
    public static byte[] ToBytes(Graph graph, IReadOnlyList<Value>? outputs = null, IReadOnlyList<string>? outputNames = null) =>
        ToModel(graph, outputs, outputNames).ToByteArray();

    /// <summary>
    /// The serialized model of <paramref name="network"/> in eval mode applied to one input of <paramref name="dtype"/>
    /// shaped <paramref name="inputDims"/> (symbols such as "N" allowed): input <see cref="LayerInputName"/>, output
    /// <see cref="LayerOutputName"/>.
    /// </summary>
    /// <inheritdoc cref="ToBytes(Graph, IReadOnlyList{Value}?, IReadOnlyList{string}?)" path="/exception"/>
    public static byte[] ToBytes(Layer network, DType dtype, params Dim[] inputDims) => ToModel(network, dtype, inputDims).ToByteArray();

    /// <summary>The model of <see cref="ToBytes(Graph, IReadOnlyList{Value}?, IReadOnlyList{string}?)"/>.</summary>
    internal static ModelProto ToModel(Graph graph, IReadOnlyList<Value>? outputs = null, IReadOnlyList<string>? outputNames = null, string graphName = "myelin")
    {
        ArgumentNullException.ThrowIfNull(graph);
        outputs ??= graph.Outputs;
        if (outputs.Count == 0) throw new ArgumentException("Nothing to export: give the outputs, or mark them on the graph (MarkOutput).", nameof(outputs));
        if (outputNames is not null && outputNames.Count != outputs.Count)
        {
            throw new ArgumentException($"{outputs.Count} outputs but {outputNames.Count} output names.", nameof(outputNames));
        }

        foreach (Value output in outputs)
        {
            if (!ReferenceEquals(output.Graph, graph)) throw new ArgumentException($"Output '{output.Name}' belongs to another graph.", nameof(outputs));
        }

        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "Myelin",
            ProducerVersion = Runtime.Version,
            Graph = new Writer(graph, outputs, outputNames ?? outputs.Select(o => o.Name).ToList()).Write(graphName),
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        return model;
    }

    /// <summary>The model of <see cref="ToBytes(Layer, DType, Dim[])"/>.</summary>
    internal static ModelProto ToModel(Layer network, DType dtype, params Dim[] inputDims)
    {
        ArgumentNullException.ThrowIfNull(network);
        var graph = new Graph();
        Value input = graph.Input(LayerInputName, dtype, inputDims);
        bool wasTraining = network.IsTraining;
        network.Eval();
        Value output;
        try
        {
            output = network.Forward(input);
        }
        finally
        {
            network.Train(wasTraining);
        }

        return ToModel(graph, [output], [LayerOutputName], network.GetType().Name);
    }

    /// <summary>Writes the model of <paramref name="graph"/>'s <paramref name="outputs"/> to <paramref name="path"/> atomically (<see cref="AtomicFile"/>).</summary>
    /// <inheritdoc cref="ToBytes(Graph, IReadOnlyList{Value}?, IReadOnlyList{string}?)" path="/exception"/>
    public static void Save(Graph graph, IReadOnlyList<Value> outputs, string path, IReadOnlyList<string>? outputNames = null) =>
        Write(ToModel(graph, outputs, outputNames), path);

    /// <summary>Writes the model of <paramref name="network"/> (see <see cref="ToBytes(Layer, DType, Dim[])"/>) to <paramref name="path"/> atomically.</summary>
    /// <inheritdoc cref="ToBytes(Graph, IReadOnlyList{Value}?, IReadOnlyList{string}?)" path="/exception"/>
    public static void Save(Layer network, string path, DType dtype, params Dim[] inputDims) =>
        Write(ToModel(network, dtype, inputDims), path);

    /// <summary>Exports the network to <paramref name="path"/>: <c>model.ExportOnnx("model.onnx", DType.F32, "N", 784)</c>.</summary>
    /// <inheritdoc cref="ToBytes(Graph, IReadOnlyList{Value}?, IReadOnlyList{string}?)" path="/exception"/>
    public static void ExportOnnx(this Layer network, string path, DType dtype, params Dim[] inputDims) => Save(network, path, dtype, inputDims);

    /// <summary>Exports the model's network to <paramref name="path"/> (see <see cref="ToBytes(Layer, DType, Dim[])"/>).</summary>
    /// <inheritdoc cref="ToBytes(Graph, IReadOnlyList{Value}?, IReadOnlyList{string}?)" path="/exception"/>
    public static void ExportOnnx(this Model model, string path, DType dtype, params Dim[] inputDims)
    {
        ArgumentNullException.ThrowIfNull(model);
        Save(model.Network, path, dtype, inputDims);
    }

    private static void Write(ModelProto model, string path) => AtomicFile.Write(path, stream => model.WriteTo(stream));

    /// <summary>The ONNX form of a tensor: dims, data type (Myelin's dtypes share ONNX's numbers) and little-endian raw data.</summary>
    internal static TensorProto ToProto(Tensor tensor, string name)
    {
        var proto = new TensorProto { Name = name, DataType = (int)tensor.DType, RawData = ByteString.CopyFrom(tensor.ToBytes()) };
        proto.Dims.AddRange(tensor.Shape.ToArray());
        return proto;
    }

    private static ValueInfoProto ValueInfo(string name, TensorType type)
    {
        var shape = new TensorShapeProto();
        foreach (Dim dim in type.Dims)
        {
            shape.Dim.Add(dim.IsKnown ? new TensorShapeProto.Types.Dimension { DimValue = dim.Value } : new TensorShapeProto.Types.Dimension { DimParam = dim.Symbol });
        }

        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type.DType, Shape = shape } },
        };
    }

    private static AttributeProto Attribute(string name, object value, string where) => value switch
    {
        long or int => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture) },
        double or float => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = (float)Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture) },
        string s => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(s) },
        long[] ints => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints, Ints = { ints } },
        double[] floats => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Floats, Floats = { floats.Select(f => (float)f) } },
        Tensor tensor => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Tensor, T = ToProto(tensor, "") },
        _ => throw new ArgumentException($"{where}: attribute '{name}' is a {value.GetType().Name}, which has no ONNX attribute type."),
    };

    /// <summary>Writes one graph: the ONNX name of every value, the names taken, and the node being exported.</summary>
    private sealed class Writer : OnnxExportContext
    {
        private readonly Graph _graph;
        private readonly IReadOnlyList<Value> _outputs;
        private readonly IReadOnlyList<string> _outputNames;
        private readonly Dictionary<Value, string> _names = [];
        private readonly Dictionary<Value, string> _reserved = [];
        private readonly HashSet<string> _takenValues = new(StringComparer.Ordinal);
        private readonly HashSet<string> _takenNodes = new(StringComparer.Ordinal);
        private readonly HashSet<Value> _read = [];
        private readonly GraphProto _proto = new();
        private Node? _node;

        public Writer(Graph graph, IReadOnlyList<Value> outputs, IReadOnlyList<string> outputNames)
        {
            _graph = graph;
            _outputs = outputs;
            _outputNames = outputNames;
        }

        public override int Opset => OnnxExporter.Opset;

        public override Node Node => _node ?? throw new InvalidOperationException("No node is being exported.");

        public GraphProto Write(string graphName)
        {
            _proto.Name = graphName;
            List<Node> nodes = LiveNodes();
            foreach (Value value in _graph.Inputs.Concat(_graph.Parameters)) _takenValues.Add(value.Name);
            foreach (Node node in nodes) _takenValues.UnionWith(node.Inputs.Concat(node.Outputs).Select(v => v.Name));
            for (int i = 0; i < _outputs.Count; i++)
            {
                string name = _outputNames[i];
                if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException($"Output {i} has an empty name.", "outputNames");
                if (_outputNames.Take(i).Contains(name)) throw new ArgumentException($"Two outputs are named '{name}'.", "outputNames");
                if (name != _outputs[i].Name && _takenValues.Contains(name))
                {
                    throw new ArgumentException($"Output {i} is to be named '{name}', the name of another value of the graph.", "outputNames");
                }

                // The output's producer writes the name directly (no Identity), unless another output already claimed the value.
                if (_outputs[i].Kind == ValueKind.Intermediate) _reserved.TryAdd(_outputs[i], name);
                _takenValues.Add(name);
            }

            foreach (Value input in _graph.Inputs.Where(_read.Contains))
            {
                _names[input] = input.Name;
                _proto.Input.Add(ValueInfo(input.Name, input.Type));
            }

            foreach (Node node in nodes)
            {
                _node = node;
                node.Op.ExportOnnx(this);
                for (int i = 0; i < node.Outputs.Length; i++)
                {
                    if (IsOutputUsed(i) && !_names.ContainsKey(node.Outputs[i]))
                    {
                        throw Unsupported($"its export wrote no value for output {i}, which the graph reads");
                    }
                }
            }

            _node = null;
            for (int i = 0; i < _outputs.Count; i++)
            {
                string actual = NameOf(_outputs[i]);
                if (actual != _outputNames[i])
                {
                    AddNodeNamed("Identity", [actual], null, [_outputNames[i]], $"{_outputNames[i]}.identity");
                }

                _proto.Output.Add(ValueInfo(_outputNames[i], _outputs[i].Type));
            }

            return _proto;
        }

        public override string Input(int index) => NameOf(Node.Inputs[index]);

        public override string Output(int index = 0)
        {
            Value value = Node.Outputs[index];
            if (!_names.TryGetValue(value, out string? name))
            {
                name = _reserved.TryGetValue(value, out string? reserved) ? reserved : value.Name;
                _names[value] = name;
            }

            return name;
        }

        public override string Constant(Tensor tensor, string hint)
        {
            ArgumentNullException.ThrowIfNull(tensor);
            string name = Fresh(_takenValues, $"{Node.Name}/{hint}");
            _proto.Initializer.Add(ToProto(tensor, name));
            return name;
        }

        public override string[] AddNode(string opType, IReadOnlyList<string> inputs, IReadOnlyDictionary<string, object>? attributes = null, IReadOnlyList<string>? outputs = null)
        {
            outputs ??= [Fresh(_takenValues, $"{Node.Name}/{opType}")];
            return AddNodeNamed(opType, inputs, attributes, outputs, Node.Name);
        }

        public override void Alias(int index, string name) => _names[Node.Outputs[index]] = name;

        public override bool IsOutputUsed(int index) => _read.Contains(Node.Outputs[index]);

        public override Exception Unsupported(string problem) => new OnnxExportException($"{Node}: cannot be exported to ONNX: {problem}.", Node.Name);

        private string[] AddNodeNamed(string opType, IReadOnlyList<string> inputs, IReadOnlyDictionary<string, object>? attributes, IReadOnlyList<string> outputs, string nodeName)
        {
            var proto = new NodeProto { OpType = opType, Name = Fresh(_takenNodes, nodeName) };
            proto.Input.AddRange(inputs);
            proto.Output.AddRange(outputs);
            foreach ((string name, object value) in attributes ?? new Dictionary<string, object>())
            {
                proto.Attribute.Add(Attribute(name, value, $"node '{proto.Name}' ({opType})"));
            }

            _proto.Node.Add(proto);
            return [.. outputs];
        }

        /// <summary>The ONNX name of a value already written; a parameter or constant becomes an initializer on first use.</summary>
        private string NameOf(Value value)
        {
            if (_names.TryGetValue(value, out string? name)) return name;
            if (value.Kind is ValueKind.Parameter or ValueKind.Constant)
            {
                _names[value] = value.Name;
                _proto.Initializer.Add(ToProto(value.Data!, value.Name));
                return value.Name;
            }

            // Nodes are written in the graph's (topological) order, so an intermediate is named before it is read.
            throw new InvalidOperationException($"Value '{value.Name}' is read before the node producing it was exported.");
        }

        /// <summary>The nodes the outputs depend on, in graph order, and (in <see cref="_read"/>) every value they or the outputs read.</summary>
        private List<Node> LiveNodes()
        {
            var live = new HashSet<Node>();
            var stack = new Stack<Value>(_outputs);
            while (stack.Count > 0)
            {
                Value value = stack.Pop();
                if (!_read.Add(value) || value.Producer is not { } producer || !live.Add(producer)) continue;
                foreach (Value input in producer.Inputs) stack.Push(input);
            }

            return _graph.Nodes.Where(live.Contains).ToList();
        }

        private static string Fresh(HashSet<string> taken, string stem)
        {
            string name = stem;
            for (int k = 1; !taken.Add(name); k++) name = $"{stem}_{k}";
            return name;
        }
    }
}

/// <summary>A graph cannot be written as ONNX: a node it needs has no ONNX form. The message names the node and its op.</summary>
public sealed class OnnxExportException : MyelinException
{
    /// <summary>Creates the exception.</summary>
    public OnnxExportException(string message, string? nodeName = null)
        : base(Status.NotSupported, message)
    {
        NodeName = nodeName;
    }

    /// <summary>The node at fault, when one is.</summary>
    public string? NodeName { get; }
}

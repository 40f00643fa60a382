using Google.Protobuf;
using Myelin.Graphs;
using Myelin.Ops;
using Myelin.Passes;
using Onnx;

namespace Myelin.Onnx;

/// <summary>
/// Imports ONNX models (<c>ModelProto</c>) into Myelin graphs. Each node maps to the registry's definition of its
/// (domain, op_type) whose <see cref="OpDef.SinceVersion"/>..<see cref="OpDef.UntilVersion"/> covers the model's
/// opset for that domain; attributes map onto that definition's schema; initializers and Constant nodes become
/// graph constants; inputs keep their symbolic dims (<c>dim_param</c>). A model with ops the registry lacks is
/// refused before anything is built, with one message listing them all.
/// </summary>
public static class OnnxImporter
{
    /// <summary>Imports the model file at <paramref name="path"/>; tensors kept in external files are read relative to its directory.</summary>
    /// <exception cref="OnnxFormatException">The file is not a valid model, or its external data cannot be read; the message names the field or node.</exception>
    /// <exception cref="OnnxUnsupportedOpsException">The model uses ops the registry does not have at its opset.</exception>
    /// <exception cref="GraphValidationException">A node's inputs or attributes do not fit its op (named in the message).</exception>
    public static OnnxModel Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Load(File.ReadAllBytes(path), ModelDirectory(path));
    }

    /// <summary>
    /// Imports a model read to the end of <paramref name="stream"/>. A model with tensors in external files needs
    /// <paramref name="externalDataDirectory"/>, the directory their locations are relative to; without it such a
    /// model is refused.
    /// </summary>
    /// <inheritdoc cref="Load(string)" path="/exception"/>
    public static OnnxModel Load(Stream stream, string? externalDataDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return Load(buffer.ToArray(), externalDataDirectory);
    }

    /// <summary>Imports a serialized <c>ModelProto</c>; <paramref name="externalDataDirectory"/> as in <see cref="Load(Stream, string?)"/>.</summary>
    /// <inheritdoc cref="Load(string)" path="/exception"/>
    public static OnnxModel Load(byte[] bytes, string? externalDataDirectory = null) => Import(Parse(bytes), externalDataDirectory);

    /// <summary>The directory holding the model file at <paramref name="path"/>, which its external data locations are relative to.</summary>
    internal static string ModelDirectory(string path) => Path.GetDirectoryName(Path.GetFullPath(path))!;

    /// <summary>Parses a serialized <c>ModelProto</c>.</summary>
    internal static ModelProto Parse(byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        try
        {
            return ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException exception)
        {
            throw new OnnxFormatException($"model: not a valid ONNX ModelProto ({exception.Message})", exception);
        }
    }

    /// <summary>
    /// Imports a parsed model. Graph inputs named in <paramref name="bound"/> become constants holding copies of
    /// the given tensors (for ops that need a shape or axes at build time that the model feeds at run time).
    /// External data is read relative to <paramref name="externalDataDirectory"/>; without it, a model with some is refused.
    /// </summary>
    internal static OnnxModel Import(ModelProto model, string? externalDataDirectory, IReadOnlyDictionary<string, Tensor>? bound = null)
    {
        GraphProto proto = model.Graph ?? throw new OnnxFormatException("model.graph is missing: the bytes hold no ONNX graph.");
        Dictionary<string, long> opsets = ReadOpsets(model);
        (OpDef Op, long Opset)[] ops = ResolveOps(proto, opsets);

        var tensors = new List<Tensor>();
        try
        {
            var builder = new Builder(new Graph(), tensors, bound, externalDataDirectory is null ? null : new OnnxExternalData(externalDataDirectory));
            (List<OnnxValueInfo> inputs, List<OnnxValueInfo> outputs) = builder.Build(proto, ops);
            string producer = $"{model.ProducerName} {model.ProducerVersion}".Trim();
            return new OnnxModel(builder.Graph, inputs, outputs, opsets, producer, tensors);
        }
        catch
        {
            foreach (Tensor tensor in tensors) tensor.Dispose();
            throw;
        }
    }

    internal static Dictionary<string, long> ReadOpsets(ModelProto model)
    {
        if (model.OpsetImport.Count == 0)
        {
            throw new OnnxFormatException("model.opset_import is empty: the model does not say which opset its ops follow.");
        }

        var opsets = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (OperatorSetIdProto entry in model.OpsetImport)
        {
            string domain = NormalizeDomain(entry.Domain);
            if (entry.Version < 1)
            {
                throw new OnnxFormatException($"model.opset_import: domain '{entry.Domain}' has version {entry.Version}; versions start at 1.");
            }

            if (!opsets.TryAdd(domain, entry.Version))
            {
                throw new OnnxFormatException($"model.opset_import: domain '{entry.Domain}' is listed twice.");
            }
        }

        return opsets;
    }

    private static string NormalizeDomain(string domain) => domain == "ai.onnx" ? "" : domain;

    /// <summary>The registry definition of every node, or one exception listing every op type without one.</summary>
    private static (OpDef Op, long Opset)[] ResolveOps(GraphProto graph, Dictionary<string, long> opsets)
    {
        var ops = new (OpDef, long)[graph.Node.Count];
        var missing = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        for (int i = 0; i < graph.Node.Count; i++)
        {
            NodeProto node = graph.Node[i];
            string domain = NormalizeDomain(node.Domain);
            string label = NodeLabel(node, i);
            if (string.IsNullOrEmpty(node.OpType))
            {
                throw new OnnxFormatException($"graph.node[{i}] ('{label}'): op_type is empty.");
            }

            if (!opsets.TryGetValue(domain, out long version))
            {
                throw new OnnxFormatException($"node '{label}' ({node.OpType}): its domain '{node.Domain}' is not in model.opset_import.");
            }

            OpDef? op = OnnxOpsetAdapter.Resolve(domain, node.OpType, version);
            if (op is null)
            {
                string type = domain.Length == 0 ? node.OpType : $"{domain}:{node.OpType}";
                bool otherVersions = OpRegistry.All.Values.Any(o => o.Domain == domain && o.OpType == node.OpType);
                string key = otherVersions ? $"{type} (not at opset {version})" : type;
                if (!missing.TryGetValue(key, out List<string>? nodes)) missing[key] = nodes = [];
                nodes.Add(label);
            }
            else
            {
                ops[i] = (op, version);
            }
        }

        if (missing.Count > 0)
        {
            throw new OnnxUnsupportedOpsException(missing.ToDictionary(p => p.Key, p => (IReadOnlyList<string>)p.Value));
        }

        return ops;
    }

    private static string NodeLabel(NodeProto node, int index) =>
        string.IsNullOrEmpty(node.Name) ? $"#{index} {node.OpType}" : node.Name;

    /// <summary>Builds one graph: the ONNX names in scope and the tensors made for it.</summary>
    private sealed class Builder(Graph graph, List<Tensor> tensors, IReadOnlyDictionary<string, Tensor>? bound, OnnxExternalData? external)
    {
        private readonly Dictionary<string, Value> _values = new(StringComparer.Ordinal);

        public Graph Graph { get; } = graph;

        public (List<OnnxValueInfo> Inputs, List<OnnxValueInfo> Outputs) Build(GraphProto proto, (OpDef Op, long Opset)[] ops)
        {
            var initializerNames = new HashSet<string>(StringComparer.Ordinal);
            for (int i = 0; i < proto.Initializer.Count; i++)
            {
                TensorProto initializer = proto.Initializer[i];
                string name = initializer.Name;
                if (string.IsNullOrWhiteSpace(name))
                {
                    throw new OnnxFormatException($"graph.initializer[{i}] has no name.");
                }

                if (!initializerNames.Add(name))
                {
                    throw new OnnxFormatException($"graph.initializer '{name}' is defined twice.");
                }

                Tensor data = Own(OnnxTensors.ToTensor(initializer, $"initializer '{name}'", external));
                _values[name] = Graph.Constant(data, name);
            }

            if (proto.SparseInitializer.Count > 0)
            {
                throw new OnnxFormatException($"graph.sparse_initializer '{proto.SparseInitializer[0].Values?.Name}': sparse tensors are not supported.");
            }

            var inputs = new List<OnnxValueInfo>();
            foreach (ValueInfoProto input in proto.Input)
            {
                // Since IR version 4 an initializer may also be listed as an input (a default a caller could override);
                // it stays a constant here, so inference sessions fold it.
                if (initializerNames.Contains(input.Name)) continue;
                if (string.IsNullOrWhiteSpace(input.Name))
                {
                    throw new OnnxFormatException("graph.input: an input has no name.");
                }

                if (_values.ContainsKey(input.Name))
                {
                    throw new OnnxFormatException($"graph.input '{input.Name}' is listed twice.");
                }

                TensorType type = DeclaredType(input, $"graph.input '{input.Name}'");
                if (bound is not null && bound.TryGetValue(input.Name, out Tensor? value))
                {
                    if (value.DType != type.DType)
                    {
                        throw new FeedException(input.Name, $"Feed '{input.Name}' is {value.DType.ShortName()} but the model declares {type}.");
                    }

                    Tensor copy = value.Clone();
                    copy.Scope?.Remove(copy);
                    _values[input.Name] = Graph.Constant(Own(copy), input.Name);
                    continue;
                }

                _values[input.Name] = Graph.Input(input.Name, type.DType, type.ToArray());
                inputs.Add(new OnnxValueInfo(input.Name, type));
            }

            for (int i = 0; i < proto.Node.Count; i++)
            {
                AddNode(proto.Node[i], ops[i].Op, ops[i].Opset, i);
            }

            var outputs = new List<OnnxValueInfo>();
            foreach (ValueInfoProto output in proto.Output)
            {
                if (!_values.TryGetValue(output.Name, out Value? value))
                {
                    throw new OnnxFormatException($"graph.output '{output.Name}' is not produced by any node, initializer or input.");
                }

                Graph.MarkOutput(value);
                outputs.Add(new OnnxValueInfo(output.Name, value.Type));
            }

            if (outputs.Count == 0)
            {
                throw new OnnxFormatException("graph.output is empty: the model computes nothing.");
            }

            return (inputs, outputs);
        }

        private Tensor Own(Tensor tensor)
        {
            tensors.Add(tensor);
            return tensor;
        }

        /// <summary>A graph constant of a tensor made here, which the model then owns.</summary>
        private Value Constant(Tensor tensor)
        {
            tensor.Scope?.Remove(tensor);
            return Graph.Constant(Own(tensor));
        }

        private void AddNode(NodeProto node, OpDef op, long opset, int index)
        {
            string label = NodeLabel(node, index);
            string where = $"node '{label}' ({node.OpType})";

            // An empty name marks an omitted optional input; trailing ones are left off, and one before a given input
            // becomes the empty stand-in of OpDef.TakesOmittedInputs where the op reads it.
            int count = node.Input.Count;
            while (count > 0 && node.Input[count - 1].Length == 0) count--;
            var inputs = new List<Value>(count);
            for (int i = 0; i < count; i++)
            {
                string name = node.Input[i];
                if (name.Length == 0)
                {
                    if (!op.TakesOmittedInputs) throw new OnnxFormatException($"{where}: input {i} is omitted but a later input is given; Myelin's {op.Name} takes no gaps in its inputs.");
                    inputs.Add(Constant(Tensor.Zeros([0], DType.F32)));
                    continue;
                }

                inputs.Add(_values.TryGetValue(name, out Value? value)
                    ? value
                    : throw new OnnxFormatException($"{where}: input '{name}' is not produced by an earlier node, an initializer or a graph input (the nodes must be in topological order)."));
            }

            var attributes = new Dictionary<string, object>(StringComparer.Ordinal);
            foreach (AttributeProto attribute in node.Attribute)
            {
                if (string.IsNullOrEmpty(attribute.Name))
                {
                    throw new OnnxFormatException($"{where}: an attribute has no name.");
                }

                if (!attributes.TryAdd(attribute.Name, AttributeValue(attribute, where)))
                {
                    throw new OnnxFormatException($"{where}: attribute '{attribute.Name}' is given twice.");
                }
            }

            string? nodeName = string.IsNullOrWhiteSpace(node.Name) || Graph.IsNameTaken(node.Name) ? null : node.Name;
            Value[] outputs;
            try
            {
                OnnxOpsetAdapter.Adapt(where, node.OpType, opset, op, node.Output.Count, inputs, attributes, Constant);
                outputs = Graph.Apply(op, [.. inputs], attributes, nodeName);

                // A Shape of a concrete input, or a node of constants (a bound input cast, say), is known now: later
                // nodes that need an input's values when the graph is built (Reshape of Shape(x), Range of a computed
                // limit, as expanded ONNX functions write) see a constant. The node is left without readers, and
                // compiling removes it. A composite's expansion is left to fold node by node when compiled.
                Node? producer = op is CompositeOp ? null : outputs[0].Producer;
                if (producer is not null && op is ShapeOp && inputs[0].Type.IsConcrete)
                {
                    long[] dims = ShapeOp.Evaluate(producer, inputs[0].Type.ToShape().ToArray());
                    outputs = [Constant(Tensor.FromArray(dims, new Shape(dims.Length)))];
                }
                else if (producer is not null && ConstantFolding.IsFoldable(producer))
                {
                    outputs = ConstantFolding.Evaluate(producer).Select(Constant).ToArray();
                }
            }
            catch (Exception exception) when (exception is ArgumentException or InvalidCastException or InvalidOperationException
                                                  or NotSupportedException or IndexOutOfRangeException or KeyNotFoundException or OverflowException)
            {
                throw new OnnxFormatException($"{where}: {exception.Message}", exception);
            }

            if (node.Output.Count > outputs.Length)
            {
                throw new OnnxFormatException($"{where}: lists {node.Output.Count} outputs but {op.Name} produces {outputs.Length}.");
            }

            for (int i = 0; i < node.Output.Count; i++)
            {
                string name = node.Output[i];
                if (name.Length == 0) continue;
                if (!_values.TryAdd(name, outputs[i]))
                {
                    throw new OnnxFormatException($"{where}: output '{name}' is already defined by an earlier node, initializer or input.");
                }
            }
        }

        private object AttributeValue(AttributeProto attribute, string where)
        {
            string what = $"{where} attribute '{attribute.Name}'";
            AttributeProto.Types.AttributeType type = attribute.Type != AttributeProto.Types.AttributeType.Undefined ? attribute.Type : Kind(attribute);
            return type switch
            {
                AttributeProto.Types.AttributeType.Float => (double)attribute.F,
                AttributeProto.Types.AttributeType.Int => attribute.I,
                AttributeProto.Types.AttributeType.String => attribute.S.ToStringUtf8(),
                AttributeProto.Types.AttributeType.Tensor => Own(OnnxTensors.ToTensor(attribute.T ?? throw new OnnxFormatException($"{what}: the tensor is missing."), what, external)),
                AttributeProto.Types.AttributeType.Floats => attribute.Floats.Select(f => (double)f).ToArray(),
                AttributeProto.Types.AttributeType.Ints => attribute.Ints.ToArray(),
                AttributeProto.Types.AttributeType.Strings => attribute.Strings.Select(s => s.ToStringUtf8()).ToArray(),
                _ => throw new OnnxFormatException($"{what}: {type} attributes are not supported."),
            };
        }

        /// <summary>The kind of an attribute written without its type field (IR versions before 0.0.2): the field that is set.</summary>
        private static AttributeProto.Types.AttributeType Kind(AttributeProto a) =>
            a.HasF ? AttributeProto.Types.AttributeType.Float
            : a.HasI ? AttributeProto.Types.AttributeType.Int
            : a.HasS ? AttributeProto.Types.AttributeType.String
            : a.T is not null ? AttributeProto.Types.AttributeType.Tensor
            : a.G is not null ? AttributeProto.Types.AttributeType.Graph
            : a.Floats.Count > 0 ? AttributeProto.Types.AttributeType.Floats
            : a.Ints.Count > 0 ? AttributeProto.Types.AttributeType.Ints
            : a.Strings.Count > 0 ? AttributeProto.Types.AttributeType.Strings
            : AttributeProto.Types.AttributeType.Undefined;
    }

    /// <summary>The dtype and dims a graph input or output declares; <paramref name="what"/> names it in messages.</summary>
    internal static TensorType DeclaredType(ValueInfoProto input, string what)
    {
        TypeProto.Types.Tensor tensorType = input.Type?.TensorType
            ?? throw new OnnxFormatException($"{what}: only tensors are supported (not sequences, maps or optionals).");
        DType dtype = OnnxTensors.ToDType(tensorType.ElemType, what);
        if (tensorType.Shape is null)
        {
            throw new OnnxFormatException($"{what}: the type has no shape; Myelin needs at least the rank.");
        }

        if (tensorType.Shape.Dim.Count > Shape.MaxRank)
        {
            throw new OnnxFormatException($"{what}: the shape has {tensorType.Shape.Dim.Count} dims; Myelin tensors have at most {Shape.MaxRank}.");
        }

        var dims = new Dim[tensorType.Shape.Dim.Count];
        for (int axis = 0; axis < dims.Length; axis++)
        {
            TensorShapeProto.Types.Dimension dim = tensorType.Shape.Dim[axis];
            if (dim.HasDimValue)
            {
                if (dim.DimValue < 0) throw new OnnxFormatException($"{what}: dim {axis} is {dim.DimValue}; dims must not be negative.");
                dims[axis] = Dim.Of(dim.DimValue);
            }
            else
            {
                // A dim with neither a value nor a name is unknown: it gets a symbol of its own.
                dims[axis] = Dim.Sym(dim.HasDimParam && !string.IsNullOrWhiteSpace(dim.DimParam) ? dim.DimParam : $"{input.Name}_dim{axis}");
            }
        }

        return new TensorType(dtype, dims);
    }
}

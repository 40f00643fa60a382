using Myelin.Execution;
using Myelin.Graphs;
using Onnx;

namespace Myelin.Onnx;

/// <summary>
/// Runs an ONNX model: <c>using var session = InferenceSession.Load("model.onnx");</c> then
/// <c>session.Run(new Dictionary&lt;string, Tensor&gt; { ["input"] = x })</c>. The model is imported and compiled
/// once (optimization passes included); each new combination of input shapes is planned once and its plan reused.
/// Runs of one session must not overlap: load one session per thread to run concurrently.
/// </summary>
/// <remarks>
/// Some ops need a value when the graph is built (Reshape's shape, Slice's starts, Unsqueeze's axes, Dropout's
/// ratio, Resize's scales), and a model may feed it as a graph input. When the model does not build with its inputs
/// unknown and it has such inputs (integer or bool, 0-d, or float vectors of at most 2 x <see cref="Shape.MaxRank"/>
/// values), the session builds it at <see cref="Run"/> instead, with those
/// inputs bound to the fed values: once per distinct set of values, each build kept and reused.
/// </remarks>
public sealed class InferenceSession : IDisposable
{
    private readonly ModelProto _proto;
    private readonly string? _externalDataDirectory;
    private readonly CompileOptions? _options;
    private readonly Variant? _single;
    private readonly string[] _bound = [];
    private readonly Dictionary<string, Variant> _variants = new(StringComparer.Ordinal);

    private InferenceSession(ModelProto proto, CompileOptions? options, string? externalDataDirectory)
    {
        _proto = proto;
        _externalDataDirectory = externalDataDirectory;
        _options = options;
        Opsets = OnnxImporter.ReadOpsets(proto);
        OnnxModel? model = null;
        try
        {
            model = OnnxImporter.Import(proto, externalDataDirectory);
        }
        catch (GraphValidationException) when (BindableInputs(proto).Length > 0)
        {
            _bound = BindableInputs(proto);
        }

        if (model is not null)
        {
            _single = new Variant(model, options);
            Inputs = model.Inputs;
            Outputs = model.Outputs;
        }
        else
        {
            Inputs = DeclaredInputs(proto).ToList();
            Outputs = proto.Graph.Output.Select(o => new OnnxValueInfo(o.Name, OnnxImporter.DeclaredType(o, $"graph.output '{o.Name}'"))).ToList();
        }
    }

    /// <summary>
    /// Loads the model file at <paramref name="path"/>; <paramref name="options"/> picks the device, passes and
    /// inter-op threads. Tensors kept in external files are read relative to the model's directory.
    /// </summary>
    /// <exception cref="OnnxFormatException">The file is not a valid model, or its external data cannot be read; the message names the field or node.</exception>
    /// <exception cref="OnnxUnsupportedOpsException">The model uses ops the registry does not have at its opset.</exception>
    /// <exception cref="GraphValidationException">A node's inputs or attributes do not fit its op (named in the message).</exception>
    public static InferenceSession Load(string path, CompileOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Load(File.ReadAllBytes(path), options, OnnxImporter.ModelDirectory(path));
    }

    /// <summary>
    /// Loads a model read to the end of <paramref name="stream"/>. A model with tensors in external files needs
    /// <paramref name="externalDataDirectory"/>, the directory their locations are relative to; without it such a
    /// model is refused.
    /// </summary>
    /// <inheritdoc cref="Load(string, CompileOptions?)" path="/exception"/>
    public static InferenceSession Load(Stream stream, CompileOptions? options = null, string? externalDataDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return Load(buffer.ToArray(), options, externalDataDirectory);
    }

    /// <summary>Loads a serialized <c>ModelProto</c>; <paramref name="externalDataDirectory"/> as in <see cref="Load(Stream, CompileOptions?, string?)"/>.</summary>
    /// <inheritdoc cref="Load(string, CompileOptions?)" path="/exception"/>
    public static InferenceSession Load(byte[] bytes, CompileOptions? options = null, string? externalDataDirectory = null) =>
        new(OnnxImporter.Parse(bytes), options, externalDataDirectory);

    /// <summary>The inputs to feed, by ONNX name, with their dtypes and (possibly symbolic) shapes.</summary>
    public IReadOnlyList<OnnxValueInfo> Inputs { get; }

    /// <summary>The outputs <see cref="Run"/> returns, in its order, with inferred types (declared ones where the model is built per run).</summary>
    public IReadOnlyList<OnnxValueInfo> Outputs { get; }

    /// <summary>Opset version by domain ("" for ai.onnx).</summary>
    public IReadOnlyDictionary<string, long> Opsets { get; }

    /// <summary>Inputs bound to their fed values because the graph needs them when it is built (see the remarks); usually none.</summary>
    public IReadOnlyList<string> ValueBoundInputs => _bound;

    /// <summary>Plans made so far: one per distinct combination of input shapes (and of bound input values).</summary>
    public int PlanCount => (_single?.Compiled?.PlanCount ?? 0) + _variants.Values.Sum(v => v.Compiled?.PlanCount ?? 0);

    /// <summary>
    /// Runs the model on <paramref name="feeds"/> (one tensor per input, by name) and returns new tensors, one per
    /// output in <see cref="Outputs"/>' order and named after it. They belong to the caller (and to the current
    /// <see cref="TensorScope"/>, if any), so later runs do not overwrite them.
    /// </summary>
    /// <exception cref="FeedException">A feed is missing, extra, or has the wrong dtype or shape.</exception>
    public IReadOnlyList<Tensor> Run(IReadOnlyDictionary<string, Tensor> feeds)
    {
        ArgumentNullException.ThrowIfNull(feeds);
        foreach (OnnxValueInfo input in Inputs)
        {
            if (!feeds.ContainsKey(input.Name))
            {
                throw new FeedException(input.Name, $"Feed '{input.Name}' ({input.Type}) is missing; the model's inputs are {string.Join(", ", Inputs.Select(i => $"'{i.Name}'"))}.");
            }
        }

        Variant variant = _single ?? VariantFor(feeds);
        IReadOnlyDictionary<string, Tensor> computedFeeds = _bound.Length == 0 ? feeds : feeds.Where(f => !_bound.Contains(f.Key)).ToDictionary();
        IReadOnlyList<Tensor> computed = variant.Compiled?.Run(computedFeeds) ?? [];
        var results = new Tensor[Outputs.Count];
        for (int i = 0, next = 0; i < results.Length; i++)
        {
            results[i] = (variant.ConstantOutputs[i] ?? computed[next++]).Clone();
            results[i].Name = Outputs[i].Name;
        }

        return results;
    }

    /// <summary>Frees the plans and the model's tensors.</summary>
    public void Dispose()
    {
        _single?.Dispose();
        foreach (Variant variant in _variants.Values) variant.Dispose();
        _variants.Clear();
    }

    private Variant VariantFor(IReadOnlyDictionary<string, Tensor> feeds)
    {
        var bound = _bound.ToDictionary(name => name, name => feeds[name]);
        string key = string.Join(";", _bound.Select(name => OnnxTensors.ValueKey(feeds[name])));
        if (!_variants.TryGetValue(key, out Variant? variant))
        {
            variant = new Variant(OnnxImporter.Import(_proto, _externalDataDirectory, bound), _options);
            _variants[key] = variant;
        }

        return variant;
    }

    private static IEnumerable<OnnxValueInfo> DeclaredInputs(ModelProto proto)
    {
        var initializers = proto.Graph.Initializer.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        return proto.Graph.Input.Where(i => !initializers.Contains(i.Name))
            .Select(i => new OnnxValueInfo(i.Name, OnnxImporter.DeclaredType(i, $"graph.input '{i.Name}'")));
    }

    private static string[] BindableInputs(ModelProto proto) =>
        DeclaredInputs(proto).Where(i => i.Type.DType.IsInteger() || i.Type.DType == DType.Bool || i.Type.Rank == 0 || IsShortFloatVector(i.Type)).Select(i => i.Name).ToArray();

    // Such as Resize's scales and roi: one or two values per dimension.
    private static bool IsShortFloatVector(TensorType type) =>
        type.DType.IsFloatingPoint() && type.Rank == 1 && type[0].IsKnown && type[0].Value <= 2 * Shape.MaxRank;

    /// <summary>One imported and compiled build of the model. Outputs that are constants after optimization are returned from here, not planned.</summary>
    private sealed class Variant : IDisposable
    {
        public Variant(OnnxModel model, CompileOptions? options)
        {
            Model = model;
            try
            {
                Compiled = CompiledGraph.Compile(model.Graph, options);
                Graph graph = model.Graph;
                ConstantOutputs = graph.Outputs.Select(o => o.Kind == ValueKind.Constant ? o.Data : null).ToArray();
                if (ConstantOutputs.Any(c => c is not null))
                {
                    // Plans compute node results; a constant output is copied from the graph instead.
                    Value[] computed = graph.Outputs.Where(o => o.Kind != ValueKind.Constant).ToArray();
                    Compiled.Dispose();
                    Compiled = null;
                    graph.ClearOutputs();
                    if (computed.Length > 0)
                    {
                        graph.MarkOutput(computed);
                        Compiled = CompiledGraph.Compile(graph, options);
                    }
                }
            }
            catch
            {
                Compiled?.Dispose();
                model.Dispose();
                throw;
            }
        }

        public OnnxModel Model { get; }

        public CompiledGraph? Compiled { get; private set; }

        public Tensor?[] ConstantOutputs { get; } = [];

        public void Dispose()
        {
            Compiled?.Dispose();
            Model.Dispose();
        }
    }
}

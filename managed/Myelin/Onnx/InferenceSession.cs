using Myelin.Execution;

namespace Myelin.Onnx;

/// <summary>
/// Runs an ONNX model: <c>using var session = InferenceSession.Load("model.onnx");</c> then
/// <c>session.Run(new Dictionary&lt;string, Tensor&gt; { ["input"] = x })</c>. The model is imported and compiled
/// once (optimization passes included); each new combination of input shapes is planned once and its plan reused.
/// Runs of one session must not overlap: load one session per thread to run concurrently.
/// </summary>
public sealed class InferenceSession : IDisposable
{
    private readonly OnnxModel _model;
    private readonly CompiledGraph _compiled;

    private InferenceSession(OnnxModel model, CompileOptions? options)
    {
        _model = model;
        try
        {
            _compiled = CompiledGraph.Compile(model.Graph, options);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Loads the model file at <paramref name="path"/>; <paramref name="options"/> picks the device, passes and inter-op threads.</summary>
    /// <exception cref="OnnxFormatException">The file is not a valid model; the message names the field or node.</exception>
    /// <exception cref="OnnxUnsupportedOpsException">The model uses ops the registry does not have at its opset.</exception>
    /// <exception cref="Graphs.GraphValidationException">A node's inputs or attributes do not fit its op (named in the message).</exception>
    public static InferenceSession Load(string path, CompileOptions? options = null) => new(OnnxImporter.Load(path), options);

    /// <summary>Loads a model read to the end of <paramref name="stream"/>.</summary>
    /// <inheritdoc cref="Load(string, CompileOptions?)" path="/exception"/>
    public static InferenceSession Load(Stream stream, CompileOptions? options = null) => new(OnnxImporter.Load(stream), options);

    /// <summary>Loads a serialized <c>ModelProto</c>.</summary>
    /// <inheritdoc cref="Load(string, CompileOptions?)" path="/exception"/>
    public static InferenceSession Load(byte[] bytes, CompileOptions? options = null) => new(OnnxImporter.Load(bytes), options);

    /// <summary>The inputs to feed, by ONNX name, with their dtypes and (possibly symbolic) shapes.</summary>
    public IReadOnlyList<OnnxValueInfo> Inputs => _model.Inputs;

    /// <summary>The outputs <see cref="Run"/> returns, in its order.</summary>
    public IReadOnlyList<OnnxValueInfo> Outputs => _model.Outputs;

    /// <summary>Opset version by domain ("" for ai.onnx).</summary>
    public IReadOnlyDictionary<string, long> Opsets => _model.Opsets;

    /// <summary>Plans made so far: one per distinct combination of input shapes.</summary>
    public int PlanCount => _compiled.PlanCount;

    /// <summary>
    /// Runs the model on <paramref name="feeds"/> (one tensor per input, by name) and returns new tensors, one per
    /// output in <see cref="Outputs"/>' order and named after it. They belong to the caller (and to the current
    /// <see cref="TensorScope"/>, if any), so later runs do not overwrite them.
    /// </summary>
    /// <exception cref="Graphs.FeedException">A feed is missing, extra, or has the wrong dtype or shape.</exception>
    public IReadOnlyList<Tensor> Run(IReadOnlyDictionary<string, Tensor> feeds)
    {
        ArgumentNullException.ThrowIfNull(feeds);
        IReadOnlyList<Tensor> results = _compiled.Run(feeds);
        var owned = new Tensor[results.Count];
        for (int i = 0; i < owned.Length; i++)
        {
            owned[i] = results[i].Clone();
            owned[i].Name = _model.Outputs[i].Name;
        }

        return owned;
    }

    /// <summary>Frees the plans and the model's tensors.</summary>
    public void Dispose()
    {
        _compiled?.Dispose();
        _model.Dispose();
    }
}

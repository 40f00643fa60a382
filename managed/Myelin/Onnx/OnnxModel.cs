using Myelin.Graphs;

namespace Myelin.Onnx;

/// <summary>A named input or output of an imported model: its ONNX name and its dtype and (possibly symbolic) shape.</summary>
/// <param name="Name">The name in the ONNX graph, which feeds and results use.</param>
/// <param name="Type">Dtype and dims; a dim given by <c>dim_param</c> is that symbol, a dim given by neither field gets a fresh symbol.</param>
public sealed record OnnxValueInfo(string Name, TensorType Type);

/// <summary>
/// An ONNX model imported into a <see cref="Graphs.Graph"/>: the graph, its inputs and outputs under their ONNX
/// names, the opsets it was written for, and the tensors (initializers, constants) the graph reads, which this
/// object owns: dispose it after the graph's last use.
/// </summary>
public sealed class OnnxModel : IDisposable
{
    private readonly List<Tensor> _tensors;

    internal OnnxModel(Graph graph, IReadOnlyList<OnnxValueInfo> inputs, IReadOnlyList<OnnxValueInfo> outputs,
        IReadOnlyDictionary<string, long> opsets, string producer, List<Tensor> tensors)
    {
        Graph = graph;
        Inputs = inputs;
        Outputs = outputs;
        Opsets = opsets;
        Producer = producer;
        _tensors = tensors;
    }

    /// <summary>The graph; its inputs are named as in the model and its marked outputs follow <see cref="Outputs"/>' order.</summary>
    public Graph Graph { get; }

    /// <summary>The inputs fed at run time (initializers are not among them), in the model's order.</summary>
    public IReadOnlyList<OnnxValueInfo> Inputs { get; }

    /// <summary>The outputs, in the model's order, with the types shape inference gave them.</summary>
    public IReadOnlyList<OnnxValueInfo> Outputs { get; }

    /// <summary>Opset version by domain ("" for ai.onnx), from the model's opset_import.</summary>
    public IReadOnlyDictionary<string, long> Opsets { get; }

    /// <summary>The producer_name and producer_version fields, such as "pytorch 1.13".</summary>
    public string Producer { get; }

    /// <summary>Frees the initializers and constant tensors the graph reads.</summary>
    public void Dispose()
    {
        foreach (Tensor tensor in _tensors) tensor.Dispose();
        _tensors.Clear();
    }
}

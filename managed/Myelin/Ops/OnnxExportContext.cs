using Myelin.Graphs;

namespace Myelin.Ops;

/// <summary>
/// What an op's <see cref="OpDef.ExportOnnx"/> sees: the node, the ONNX names of its inputs and outputs in the model
/// being written, and ways to add standard ONNX nodes and constant tensors (initializers). The ONNX serializer
/// (<c>Myelin.Onnx.OnnxExporter</c>) implements it; ops describe their ONNX form here without knowing protobuf.
/// </summary>
public abstract class OnnxExportContext
{
    /// <summary>The ai.onnx opset the model declares; an op whose registry version is newer writes its older form or a subgraph.</summary>
    public abstract int Opset { get; }

    /// <summary>The node being exported.</summary>
    public abstract Node Node { get; }

    /// <summary>The ONNX name of input <paramref name="index"/>.</summary>
    public abstract string Input(int index);

    /// <summary>The ONNX name output <paramref name="index"/> gets; the last node an op adds writes it.</summary>
    public abstract string Output(int index = 0);

    /// <summary>Adds an ONNX constant (initializer) holding <paramref name="tensor"/>; the exporter copies it, so the caller keeps ownership.</summary>
    public abstract string Constant(Tensor tensor, string hint);

    /// <summary>
    /// Adds a node of ai.onnx op <paramref name="opType"/> reading <paramref name="inputs"/> (ONNX names, "" for an
    /// omitted optional input) and writing <paramref name="outputs"/>, or one fresh intermediate name when null.
    /// Attribute values are long, double, long[], double[], string or <see cref="Tensor"/>. Returns the output names.
    /// </summary>
    public abstract string[] AddNode(string opType, IReadOnlyList<string> inputs, IReadOnlyDictionary<string, object>? attributes = null, IReadOnlyList<string>? outputs = null);

    /// <summary>Makes output <paramref name="index"/> another name for the existing value <paramref name="name"/> (no node: the op vanishes from the model).</summary>
    public abstract void Alias(int index, string name);

    /// <summary>Whether output <paramref name="index"/> is read by the exported graph (a node or a graph output).</summary>
    public abstract bool IsOutputUsed(int index);

    /// <summary>The exception to throw when the node has no ONNX form: it names the node and the op, then <paramref name="problem"/>.</summary>
    public abstract Exception Unsupported(string problem);

    /// <summary>
    /// Adds reduction <paramref name="opType"/> (ReduceSum, ReduceMean, ...) of <paramref name="input"/> over
    /// <paramref name="axes"/>, writing <paramref name="output"/> or a fresh name; returns the name. The axes are an input
    /// from opset 13 for ReduceSum and from 18 for the others, the attribute before.
    /// </summary>
    public string Reduce(string opType, string input, long[] axes, bool keepDims, string? output = null)
    {
        ArgumentNullException.ThrowIfNull(axes);
        var attributes = new Dictionary<string, object> { ["keepdims"] = keepDims ? 1L : 0L };
        string[] inputs = [input];
        if (Opset >= (opType == "ReduceSum" ? 13 : 18)) inputs = [input, Int64s("axes", axes)];
        else attributes["axes"] = axes;
        return AddNode(opType, inputs, attributes, output is null ? null : [output])[0];
    }

    /// <summary>All the node's input names.</summary>
    public string[] Inputs() => Enumerable.Range(0, Node.Inputs.Length).Select(Input).ToArray();

    /// <summary>All the node's output names.</summary>
    public string[] Outputs() => Enumerable.Range(0, Node.Outputs.Length).Select(Output).ToArray();

    /// <summary>A constant 1-d i64 tensor (shapes, axes, split sizes).</summary>
    public string Int64s(string hint, params long[] values)
    {
        using Tensor tensor = Tensor.FromArray(values);
        return Constant(tensor, hint);
    }

    /// <summary>A 0-d constant of <paramref name="dtype"/> (a float input's scalar operand).</summary>
    public string Scalar(double value, DType dtype, string hint)
    {
        using Tensor f64 = Tensor.Scalar(value);
        using Tensor cast = f64.Cast(dtype);
        return Constant(cast, hint);
    }

    /// <summary>Adds a single-output node without attributes writing a fresh intermediate name; returns it.</summary>
    public string Step(string opType, params string[] inputs) => AddNode(opType, inputs)[0];

    /// <summary>Adds a single-output node writing a fresh intermediate name; returns it.</summary>
    public string Step(string opType, string[] inputs, IReadOnlyDictionary<string, object> attributes) => AddNode(opType, inputs, attributes)[0];

    /// <summary>Adds a single-output node writing output <paramref name="index"/> of the exported node.</summary>
    public void Final(string opType, IReadOnlyList<string> inputs, IReadOnlyDictionary<string, object>? attributes = null, int index = 0) =>
        AddNode(opType, inputs, attributes, [Output(index)]);

    /// <summary>
    /// Adds the node as the same ai.onnx op with all its inputs and the given attributes (default: all of the node's);
    /// trailing outputs nothing reads are left off (optional outputs such as LayerNormalization's statistics).
    /// </summary>
    public void Same(IReadOnlyDictionary<string, object>? attributes = null)
    {
        int count = Node.Outputs.Length;
        while (count > 1 && !IsOutputUsed(count - 1)) count--;
        AddNode(Node.Op.OpType, Inputs(), attributes ?? Node.Attributes, Outputs()[..count]);
    }

    /// <summary>
    /// Adds the node as the same ai.onnx op (see <see cref="Same"/>) when the exported opset is at least
    /// <paramref name="since"/>, the op's registry version; returns whether it did, so that the caller writes an older
    /// form otherwise.
    /// </summary>
    public bool SameSince(int since)
    {
        if (Opset < since) return false;
        Same();
        return true;
    }

    /// <summary>The node's attributes without <paramref name="names"/> (those the declared opset's version of the op lacks).</summary>
    public Dictionary<string, object> AttributesWithout(params string[] names) =>
        Node.Attributes.Where(a => !names.Contains(a.Key)).ToDictionary(a => a.Key, a => a.Value);
}

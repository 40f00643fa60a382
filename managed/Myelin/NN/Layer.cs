using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Myelin.Graphs;

namespace Myelin.NN;

/// <summary>
/// A module with one input and one output, the unit of <see cref="Sequential"/>. <see cref="Forward"/> adds the layer's
/// nodes to the input's graph; an error in them names the layer ("Linear 'fc2': node 'fc2.matmul' (MatMul): ...").
/// </summary>
public abstract class Layer : Module
{
    private const string LayerKey = "Myelin.Layer";

    // Per graph being summarized, each layer called, in pre-order (a row is claimed before the layer's children run),
    // with the output type it produced (null while it is still building).
    private static readonly ConditionalWeakTable<Graph, List<(Layer Layer, TensorType? Output)>> s_recorders = [];

    /// <summary>Applies the layer to <paramref name="input"/>, adding its nodes to the input's graph.</summary>
    public Value Forward(Value input)
    {
        ArgumentNullException.ThrowIfNull(input);
        s_recorders.TryGetValue(input.Graph, out List<(Layer Layer, TensorType? Output)>? record);
        int row = record?.Count ?? 0;
        record?.Add((this, null));
        Value output;
        try
        {
            output = Build(input);
        }
        catch (GraphValidationException e) when (!e.Data.Contains(LayerKey))
        {
            var named = new GraphValidationException($"{DisplayName}: {e.Message}", e.NodeName);
            named.Data[LayerKey] = Path;
            throw named;
        }

        if (record is not null) record[row] = (this, output.Type);
        return output;
    }

    /// <summary>Adds the layer's computation of <paramref name="input"/>; called by <see cref="Forward"/>.</summary>
    protected abstract Value Build(Value input);

    /// <summary>
    /// A printable table of every layer called in a forward pass of an input shaped <paramref name="inputDims"/>
    /// (symbols such as "N" allowed), a parent before its children: path, type, output shape, and its own parameter
    /// count; then the totals. As in Keras, a root that only contains other layers (a <see cref="Sequential"/>, no
    /// parameters of its own) has no row.
    /// </summary>
    public string Summary(DType dtype, params Dim[] inputDims)
    {
        var graph = new Graph();
        var record = new List<(Layer Layer, TensorType? Output)>();
        s_recorders.Add(graph, record);
        Forward(graph.Input("input", dtype, inputDims));
        bool rootIsContainer = Children.Any() && OwnParameterCount == 0;
        var rows = record.Where(r => !(rootIsContainer && ReferenceEquals(r.Layer, this))).Select(r => (Name: r.Layer.Path.Length == 0 ? "(root)" : r.Layer.Path,
            Type: r.Layer.GetType().Name, Shape: r.Output!.ShapeText, Parameters: r.Layer.OwnParameterCount.ToString("N0", CultureInfo.InvariantCulture))).ToList();
        rows.Insert(0, ("Layer", "Type", "Output shape", "Params"));
        int[] widths = [rows.Max(r => r.Name.Length), rows.Max(r => r.Type.Length), rows.Max(r => r.Shape.Length), rows.Max(r => r.Parameters.Length)];
        var text = new StringBuilder();
        foreach (var (name, type, shape, parameters) in rows)
        {
            text.Append(name.PadRight(widths[0] + 2)).Append(type.PadRight(widths[1] + 2)).Append(shape.PadRight(widths[2] + 2))
                .AppendLine(parameters.PadLeft(widths[3]));
        }

        text.Append(CultureInfo.InvariantCulture, $"Total parameters: {ParameterCount:N0}");
        return text.ToString();
    }

    /// <summary>Parameters registered on this layer itself, not its children.</summary>
    private long OwnParameterCount =>
        ParameterCount - Children.Sum(c => c.Module.ParameterCount);
}

/// <summary>Layers applied one after another: the output of each is the input of the next.</summary>
public sealed class Sequential : Layer
{
    private readonly List<Layer> _layers = [];

    /// <summary>Chains <paramref name="layers"/>, named "0", "1", ... as in PyTorch.</summary>
    public Sequential(params Layer[] layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        foreach (Layer layer in layers) Add(layer);
    }

    /// <summary>The layers in order.</summary>
    public IReadOnlyList<Layer> Layers => _layers;

    /// <summary>Appends <paramref name="layer"/> under <paramref name="name"/> (default: its index).</summary>
    public Sequential Add(Layer layer, string? name = null)
    {
        _layers.Add(AddModule(name ?? _layers.Count.ToString(CultureInfo.InvariantCulture), layer));
        return this;
    }

    /// <inheritdoc/>
    protected override Value Build(Value input)
    {
        Value x = input;
        foreach (Layer layer in _layers) x = layer.Forward(x);
        return x;
    }
}

using Myelin.Graphs;

namespace Myelin.NN;

/// <summary>
/// Merges axes StartDim..EndDim into one (PyTorch's Flatten, defaults 1 and -1: N x C x H x W becomes N x CHW).
/// Axes after EndDim must have known sizes.
/// </summary>
public sealed class Flatten : Layer
{
    /// <summary>Creates the layer; negative dims count from the end.</summary>
    public Flatten(int startDim = 1, int endDim = -1)
    {
        if (startDim >= 0 && endDim >= 0 && startDim > endDim)
        {
            throw new ArgumentOutOfRangeException(nameof(startDim), $"Flatten: start_dim ({startDim}) must not come after end_dim ({endDim}).");
        }

        StartDim = startDim;
        EndDim = endDim;
    }

    /// <summary>The first merged axis.</summary>
    public int StartDim { get; }

    /// <summary>The last merged axis.</summary>
    public int EndDim { get; }

    /// <inheritdoc/>
    protected override Value Build(Value input)
    {
        int rank = input.Rank, start = StartDim < 0 ? StartDim + rank : StartDim, end = EndDim < 0 ? EndDim + rank : EndDim;
        if (rank == 0 || start < 0 || start >= rank || end < start || end >= rank)
        {
            throw new GraphValidationException($"{DisplayName}: start_dim {StartDim} and end_dim {EndDim} do not fit the input {input.Type.ShapeText}.");
        }

        var spec = new List<long>();
        for (int i = 0; i < start; i++) spec.Add(0);
        spec.Add(-1);
        for (int i = end + 1; i < rank; i++)
        {
            if (!input.Type[i].IsKnown) throw new GraphValidationException($"{DisplayName}: axis {i} after end_dim must have a known size, but the input is {input.Type.ShapeText}.");
            spec.Add(input.Type[i].Value);
        }

        Graph graph = input.Graph;
        return graph.Apply("Reshape", [input, GraphConstants.I64(graph, [.. spec])], name: NodeName(graph, "flatten"))[0];
    }
}

/// <summary>
/// Reshapes its input to Shape with ONNX Reshape's rules: 0 keeps the input's size on that axis and one -1 is inferred,
/// so <c>new Reshape(0, 16, 4, 4)</c> keeps the batch axis of N x 256.
/// </summary>
public sealed class Reshape : Layer
{
    /// <summary>Creates the layer.</summary>
    public Reshape(params long[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Any(d => d < -1) || shape.Count(d => d == -1) > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(shape), $"Reshape: [{string.Join(", ", shape)}] may hold sizes, 0 (keep) and one -1 (inferred) only.");
        }

        Shape = (long[])shape.Clone();
    }

    /// <summary>The target shape specification.</summary>
    public IReadOnlyList<long> Shape { get; }

    /// <inheritdoc/>
    protected override Value Build(Value input)
    {
        Graph graph = input.Graph;
        return graph.Apply("Reshape", [input, GraphConstants.I64(graph, [.. Shape])], name: NodeName(graph, "reshape"))[0];
    }
}

/// <summary>
/// A residual block y = Body(x) + x, or Body(x) + Shortcut(x) with a projection (such as a 1x1 convolution) when the
/// body changes the shape.
/// </summary>
public sealed class Residual : Layer
{
    /// <summary>Creates the block; it owns <paramref name="body"/> and <paramref name="shortcut"/>.</summary>
    public Residual(Layer body, Layer? shortcut = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        Body = AddModule("body", body);
        if (shortcut is not null) Shortcut = AddModule("shortcut", shortcut);
    }

    /// <summary>The residual branch F.</summary>
    public Layer Body { get; }

    /// <summary>The skip projection, or null for the identity.</summary>
    public Layer? Shortcut { get; }

    /// <inheritdoc/>
    protected override Value Build(Value input)
    {
        Value branch = Body.Forward(input);
        Value skip = Shortcut?.Forward(input) ?? input;
        if (!branch.Type.Dims.SequenceEqual(skip.Type.Dims) || branch.DType != skip.DType)
        {
            throw new GraphValidationException($"{DisplayName}: the body gives {branch.Type} but the skip {(Shortcut is null ? "(identity)" : "projection")} gives {skip.Type}; they must match.");
        }

        Graph graph = input.Graph;
        return graph.Apply("Add", [branch, skip], name: NodeName(graph, "add"))[0];
    }
}

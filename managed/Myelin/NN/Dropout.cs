using Myelin.Graphs;

namespace Myelin.NN;

/// <summary>
/// Dropout (PyTorch's Dropout, ONNX Dropout): in training mode each element is zeroed with probability P and the rest
/// scaled by 1 / (1 - P), a new mask on every run; in eval mode the identity (no node).
/// </summary>
public sealed class Dropout : Layer
{
    /// <summary>Creates the layer.</summary>
    /// <param name="p">Drop probability in [0, 1) (PyTorch's default 0.5; PyTorch also allows 1, which zeroes everything and is refused here).</param>
    /// <param name="generator">Source of the layer's mask seed (default <see cref="Generator.Default"/>), so seeded models repeat their masks.</param>
    public Dropout(double p = 0.5, Generator? generator = null)
    {
        if (!(p is >= 0 and < 1)) throw new ArgumentOutOfRangeException(nameof(p), p, $"Dropout: p must lie in [0, 1), not {p}.");
        P = p;
        Generator source = generator ?? Generator.Default;
        Seed = (((long)source.NextUInt32() << 31) ^ source.NextUInt32()) & long.MaxValue;
    }

    /// <summary>Drop probability.</summary>
    public double P { get; }

    /// <summary>The seed of the layer's mask stream.</summary>
    public long Seed { get; }

    /// <inheritdoc/>
    protected override Value Build(Value input)
    {
        ElementwiseActivation.RequireFloat(this, input);
        if (!IsTraining || P == 0) return input;
        return Apply(input, P, Seed, NodeName(input.Graph, "dropout"));
    }

    /// <summary>Adds a training-mode Dropout node named <paramref name="name"/> dropping with probability <paramref name="p"/>.</summary>
    internal static Value Apply(Value x, double p, long seed, string name)
    {
        Graph graph = x.Graph;
        Value training = graph.Constant(Tensor.FromArray(new[] { true }, Shape.Scalar).MoveToOuterScope());
        return graph.Apply("Dropout", [x, graph.Scalar(p, DType.F64), training], new Dictionary<string, object> { ["seed"] = seed }, name)[0];
    }
}

/// <summary>
/// A lookup table (PyTorch's Embedding): integer indices of any shape select rows of weight [NumEmbeddings,
/// EmbeddingDim], initialized N(0, 1). Row PaddingIdx, when given, starts at zero and receives no gradient.
/// </summary>
public sealed class Embedding : Layer
{
    /// <summary>Creates the layer.</summary>
    /// <param name="numEmbeddings">Rows (vocabulary size).</param>
    /// <param name="embeddingDim">Columns (vector size).</param>
    /// <param name="paddingIdx">A row kept at zero and out of training (negative counts from the end), or null.</param>
    /// <param name="weightInit">Override for the weight's initializer (default N(0, 1)).</param>
    /// <param name="dtype">Weight dtype.</param>
    /// <param name="generator">Random source (default <see cref="Generator.Default"/>).</param>
    public Embedding(long numEmbeddings, long embeddingDim, long? paddingIdx = null, Initializer? weightInit = null, DType dtype = DType.F32, Generator? generator = null)
    {
        if (numEmbeddings <= 0 || embeddingDim <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(numEmbeddings), $"Embedding: num_embeddings ({numEmbeddings}) and embedding_dim ({embeddingDim}) must be positive.");
        }

        if (paddingIdx is { } p && (p < -numEmbeddings || p >= numEmbeddings))
        {
            throw new ArgumentOutOfRangeException(nameof(paddingIdx), p, $"Embedding: padding_idx {p} is outside [-{numEmbeddings}, {numEmbeddings}).");
        }

        NumEmbeddings = numEmbeddings;
        EmbeddingDim = embeddingDim;
        PaddingIdx = paddingIdx is { } q && q < 0 ? q + numEmbeddings : paddingIdx;
        Weight = AddParameter("weight", (weightInit ?? new NormalInitializer()).Create([numEmbeddings, embeddingDim], dtype, generator));
        if (PaddingIdx is { } row)
        {
            using Tensor padding = Weight.Select(0, row);
            padding.Fill(0);
        }
    }

    /// <summary>Rows.</summary>
    public long NumEmbeddings { get; }

    /// <summary>Columns.</summary>
    public long EmbeddingDim { get; }

    /// <summary>The padding row (made non-negative), or null.</summary>
    public long? PaddingIdx { get; }

    /// <summary>The table, [NumEmbeddings, EmbeddingDim].</summary>
    public Tensor Weight { get; }

    /// <inheritdoc/>
    protected override Value Build(Value input)
    {
        if (input.DType is not (DType.I64 or DType.I32)) throw new GraphValidationException($"{DisplayName}: expects i64 or i32 indices but got {input.Type}.");
        Graph graph = input.Graph;
        Value rows = graph.Apply("Gather", [Use(graph, Weight), input], name: NodeName(graph, "gather"))[0];
        if (PaddingIdx is not { } padding) return rows;
        // Rows looked up at the padding index pass their value but not their gradient.
        Value isPadding = graph.Apply("Equal", [input, graph.Scalar(padding, input.DType)], name: NodeName(graph, "is_padding"))[0];
        isPadding = graph.Apply("Unsqueeze", [isPadding, GraphConstants.I64(graph, -1)], name: NodeName(graph, "is_padding_row"))[0];
        Value frozen = graph.Apply("StopGradient", [rows], name: NodeName(graph, "frozen"))[0];
        return graph.Apply("Where", [isPadding, frozen, rows], name: NodeName(graph, "padding"))[0];
    }
}

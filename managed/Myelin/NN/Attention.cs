using Myelin.Graphs;
using Myelin.Ops;

namespace Myelin.NN;

/// <summary>What <see cref="MultiheadAttention.Attend"/> computes.</summary>
/// <param name="Output">[L, N, E], or [N, L, E] when batch first.</param>
/// <param name="Weights">The attention weights (after dropout, as PyTorch returns them): [N, L, S] averaged over the
/// heads, or [N, heads, L, S]; null when not asked for.</param>
public sealed record AttentionResult(Value Output, Value? Weights);

/// <summary>
/// Multi-head scaled dot-product attention with PyTorch's semantics (torch.nn.MultiheadAttention): per head,
/// softmax(q k^T / sqrt(head_dim) + mask) v over the projections of query, key and value, the heads concatenated and
/// projected by <c>out_proj</c>. Parameters as PyTorch's: in_proj_weight [3E, E] when key and value have E features
/// (else q_proj_weight [E, E], k_proj_weight [E, kdim], v_proj_weight [E, vdim]), in_proj_bias [3E], and the Linear
/// out_proj; initialized as PyTorch does (Xavier-uniform projections, zero biases). PyTorch's add_bias_kv and
/// add_zero_attn are not supported. As a <see cref="Layer"/>, <see cref="Layer.Forward"/> is self-attention without
/// masks.
/// <para>Masks are additive: a bool mask (true = ignore) becomes -inf where true and 0 elsewhere, a float mask is added
/// as is. A query whose every key is masked gets NaN attention weights and output, as in PyTorch (a softmax over only
/// -inf); a model that pads whole sequences should ignore those rows downstream.</para>
/// </summary>
public sealed class MultiheadAttention : Layer
{
    private readonly Tensor? _inProjWeight, _qProjWeight, _kProjWeight, _vProjWeight, _inProjBias;

    /// <summary>Creates the layer.</summary>
    /// <param name="embedDim">E, the features of the query and of the output.</param>
    /// <param name="numHeads">Heads; E must be a multiple of it.</param>
    /// <param name="dropout">Dropout on the attention weights, in training mode.</param>
    /// <param name="bias">Whether the input and output projections learn biases.</param>
    /// <param name="kdim">Features of the key (default E).</param>
    /// <param name="vdim">Features of the value (default E).</param>
    /// <param name="batchFirst">Inputs and outputs are [N, L, E] rather than [L, N, E].</param>
    /// <param name="dtype">Parameter dtype.</param>
    /// <param name="generator">Random source (default <see cref="Generator.Default"/>).</param>
    /// <exception cref="ArgumentException">A size is not positive, E is not a multiple of the heads, or dropout is outside [0, 1).</exception>
    public MultiheadAttention(long embedDim, int numHeads, double dropout = 0, bool bias = true, long? kdim = null, long? vdim = null,
        bool batchFirst = false, DType dtype = DType.F32, Generator? generator = null)
    {
        if (embedDim <= 0 || numHeads <= 0 || embedDim % numHeads != 0)
        {
            throw new ArgumentException($"{DisplayName}: embed_dim ({embedDim}) must be a positive multiple of num_heads ({numHeads}).", nameof(numHeads));
        }

        if (kdim is <= 0 || vdim is <= 0) throw new ArgumentOutOfRangeException(nameof(kdim), $"{DisplayName}: kdim ({kdim}) and vdim ({vdim}) must be positive.");
        if (dropout is < 0 or >= 1 || double.IsNaN(dropout)) throw new ArgumentOutOfRangeException(nameof(dropout), $"{DisplayName}: dropout ({dropout}) must be in [0, 1).");
        EmbedDim = embedDim;
        NumHeads = numHeads;
        KeyDim = kdim ?? embedDim;
        ValueDim = vdim ?? embedDim;
        Dropout = dropout;
        BatchFirst = batchFirst;
        if (KeyDim == embedDim && ValueDim == embedDim)
        {
            _inProjWeight = AddParameter("in_proj_weight", XavierUniform([3 * embedDim, embedDim], dtype, generator));
        }
        else
        {
            _qProjWeight = AddParameter("q_proj_weight", XavierUniform([embedDim, embedDim], dtype, generator));
            _kProjWeight = AddParameter("k_proj_weight", XavierUniform([embedDim, KeyDim], dtype, generator));
            _vProjWeight = AddParameter("v_proj_weight", XavierUniform([embedDim, ValueDim], dtype, generator));
        }

        var zero = new UniformInitializer(0, 0);
        if (bias) _inProjBias = AddParameter("in_proj_bias", zero.Create([3 * embedDim], dtype, generator));
        OutProj = AddModule("out_proj", new Linear(embedDim, embedDim, bias, biasInit: zero, dtype: dtype, generator: generator));
    }

    /// <summary>E, the features of the query and of the output.</summary>
    public long EmbedDim { get; }

    /// <summary>Heads.</summary>
    public int NumHeads { get; }

    /// <summary>E / heads.</summary>
    public long HeadDim => EmbedDim / NumHeads;

    /// <summary>Features of the key.</summary>
    public long KeyDim { get; }

    /// <summary>Features of the value.</summary>
    public long ValueDim { get; }

    /// <summary>Dropout on the attention weights (training mode).</summary>
    public double Dropout { get; }

    /// <summary>Whether inputs and outputs are [N, L, E].</summary>
    public bool BatchFirst { get; }

    /// <summary>The output projection.</summary>
    public Linear OutProj { get; }

    /// <summary>
    /// Attends from <paramref name="query"/> [L, N, E] to <paramref name="key"/> [S, N, kdim] and <paramref name="value"/>
    /// [S, N, vdim] (batch first: [N, L, E], [N, S, kdim], [N, S, vdim]).
    /// </summary>
    /// <param name="query">The queries.</param>
    /// <param name="key">The keys.</param>
    /// <param name="value">The values.</param>
    /// <param name="keyPaddingMask">[N, S], bool (true = ignore that key) or float (added).</param>
    /// <param name="attnMask">[L, S] or [N * heads, L, S], bool (true = not allowed to attend) or float (added).</param>
    /// <param name="needWeights">Whether to return the attention weights.</param>
    /// <param name="averageWeights">Whether the returned weights are averaged over the heads.</param>
    /// <exception cref="GraphValidationException">An input or mask has the wrong shape or dtype; the message names the layer.</exception>
    public AttentionResult Attend(Value query, Value key, Value value, Value? keyPaddingMask = null, Value? attnMask = null,
        bool needWeights = true, bool averageWeights = true)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        Graph graph = query.Graph;
        DType dtype = OutProj.Weight.DType;
        string layout = BatchFirst ? "[N, L, features]" : "[L, N, features]";
        foreach ((Value operand, string name, long features) in new[] { (query, "query", EmbedDim), (key, "key", KeyDim), (value, "value", ValueDim) })
        {
            if (operand.Rank != 3 || operand.DType != dtype || (operand.Type[2].IsKnown && operand.Type[2].Value != features))
            {
                Fail($"expects the {name} as {dtype.ShortName()} {layout} with {features} features but got {operand.Type}");
            }
        }

        // Projections read the inputs in their own layout (MatMul broadcasts over the leading axes), so neither the
        // inputs nor their gradients pass through transposed views; only the heads are permuted.
        int batchAxis = BatchFirst ? 0 : 1, lengthAxis = 1 - batchAxis;
        if (query.Type[batchAxis] != key.Type[batchAxis] || key.Type[batchAxis] != value.Type[batchAxis] || key.Type[lengthAxis] != value.Type[lengthAxis])
        {
            Fail($"the query {query.Type.ShapeText}, key {key.Type.ShapeText} and value {value.Type.ShapeText} disagree on the batch or source length");
        }

        // [N, heads, L or S, head_dim]
        Value q = SplitHeads(Project(query, 0, _qProjWeight), "q");
        Value k = SplitHeads(Project(key, 1, _kProjWeight), "k");
        Value v = SplitHeads(Project(value, 2, _vProjWeight), "v");
        Value scores = graph.Apply("MatMul", [q * (1 / Math.Sqrt(HeadDim)), k.Transpose(0, 1, 3, 2)], name: NodeName(graph, "scores"))[0];
        Dim batch = q.Type[0], target = q.Type[2], source = k.Type[2];
        if (attnMask is not null)
        {
            bool fits = attnMask.Rank == 2 ? attnMask.Type[0] == target && attnMask.Type[1] == source
                : attnMask.Rank == 3 && attnMask.Type[0] == batch * NumHeads && attnMask.Type[1] == target && attnMask.Type[2] == source;
            if (!fits) Fail($"expects attn_mask as [L, S] = [{target}, {source}] or [N * heads, L, S] = [{batch * NumHeads}, {target}, {source}] but got {attnMask.Type}");
            Value additive = Additive(attnMask, dtype, "attn_mask");
            scores = scores + (attnMask.Rank == 3 ? graph.Apply("ReshapeLike", [additive, scores])[0] : additive);
        }

        if (keyPaddingMask is not null)
        {
            if (keyPaddingMask.Rank != 2 || keyPaddingMask.Type[0] != batch || keyPaddingMask.Type[1] != source)
            {
                Fail($"expects key_padding_mask as [N, S] = [{batch}, {source}] but got {keyPaddingMask.Type}");
            }

            Value axes = graph.Constant(Tensor.FromArray(new long[] { 1, 2 }).MoveToOuterScope());
            scores = scores + graph.Apply("Unsqueeze", [Additive(keyPaddingMask, dtype, "key_padding_mask"), axes])[0];
        }

        Value weights = graph.Apply("Softmax", [scores], new Dictionary<string, object> { ["axis"] = -1L }, NodeName(graph, "softmax"))[0];
        if (Dropout > 0 && IsTraining) weights = SequenceOps.Dropout(weights, Dropout, NodeName(graph, "dropout"));
        Value heads = graph.Apply("MatMul", [weights, v], name: NodeName(graph, "context"))[0].Transpose(BatchFirst ? [0, 2, 1, 3] : [2, 0, 1, 3]);
        Value merged = graph.Apply("Reshape", [heads, graph.Constant(Tensor.FromArray(new long[] { 0, 0, EmbedDim }).MoveToOuterScope())])[0];
        Value output = OutProj.Forward(merged);
        Value? returned = !needWeights ? null : averageWeights ? weights.Mean([1]) : weights;
        return new AttentionResult(output, returned);
    }

    /// <inheritdoc/>
    /// <remarks>Self-attention of <paramref name="input"/> without masks; needs kdim = vdim = E.</remarks>
    protected override Value Build(Value input) => Attend(input, input, input, needWeights: false).Output;

    // x [N, len, features] or [len, N, features] times W^T plus b, for projection 0 (q), 1 (k) or 2 (v): rows of in_proj_weight, or a separate weight.
    private Value Project(Value x, int index, Tensor? separate)
    {
        Graph graph = x.Graph;
        Value weight = separate is not null ? Use(graph, separate)
            : SliceOp.Slice(Use(graph, _inProjWeight!), index * EmbedDim, (index + 1) * EmbedDim, axis: 0);
        string what = "qkv"[index].ToString();
        Value y = graph.Apply("MatMul", [x, weight.Transpose(1, 0)], name: NodeName(graph, $"{what}_proj"))[0];
        return _inProjBias is null ? y : y + SliceOp.Slice(Use(graph, _inProjBias), index * EmbedDim, (index + 1) * EmbedDim, axis: 0);
    }

    // [N, len, E] or [len, N, E] -> [N, heads, len, head_dim]
    private Value SplitHeads(Value x, string what)
    {
        Graph graph = x.Graph;
        Value shape = graph.Constant(Tensor.FromArray(new long[] { 0, 0, NumHeads, HeadDim }).MoveToOuterScope());
        return graph.Apply("Reshape", [x, shape], name: NodeName(graph, $"{what}_heads"))[0].Transpose(BatchFirst ? [0, 2, 1, 3] : [1, 2, 0, 3]);
    }

    // A bool mask as -inf where true and 0 elsewhere; a float mask as is.
    private Value Additive(Value mask, DType dtype, string name)
    {
        Graph graph = mask.Graph;
        if (mask.DType == DType.Bool)
        {
            return graph.Apply("Where", [mask, graph.Scalar(double.NegativeInfinity, dtype), graph.Scalar(0, dtype)], name: NodeName(graph, name))[0];
        }

        if (mask.DType != dtype) Fail($"expects {name} as bool or {dtype.ShortName()} but got {mask.DType.ShortName()}");
        return mask;
    }

    private static Tensor XavierUniform(Shape shape, DType dtype, Generator? generator)
    {
        (long fanIn, long fanOut) = Initializer.Fans(shape);
        double bound = Math.Sqrt(6.0 / (fanIn + fanOut));
        return new UniformInitializer(-bound, bound).Create(shape, dtype, generator);
    }

    private void Fail(string message) => throw new GraphValidationException($"{DisplayName}: {message}.");
}

/// <summary>Masks for attention.</summary>
public static class AttentionMasks
{
    /// <summary>
    /// PyTorch's generate_square_subsequent_mask: a float [size, size] mask with -inf above the diagonal and 0 elsewhere,
    /// so position i attends only to positions up to i (causal self-attention).
    /// </summary>
    public static Tensor SquareSubsequent(long size, DType dtype = DType.F32)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        var data = new double[size * size];
        for (long i = 0; i < size; i++)
        {
            for (long j = i + 1; j < size; j++) data[(i * size) + j] = double.NegativeInfinity;
        }

        using Tensor f64 = Tensor.FromArray(data, size, size);
        return f64.Cast(dtype);
    }
}

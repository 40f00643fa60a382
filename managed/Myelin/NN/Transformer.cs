using Myelin.Graphs;

namespace Myelin.NN;

/// <summary>
/// PyTorch's TransformerEncoderLayer: self-attention then a feed-forward block, each with a residual connection and a
/// layer norm, post-norm (x = norm(x + block(x)), the default) or pre-norm (x = x + block(norm(x)), <c>normFirst</c>).
/// The feed-forward block is linear2(dropout(activation(linear1(x)))); dropout (training mode only) also follows each
/// block. Child names as PyTorch's: self_attn, linear1, linear2, norm1, norm2. As a <see cref="Layer"/>,
/// <see cref="Layer.Forward"/> encodes without masks.
/// </summary>
public sealed class TransformerEncoderLayer : Layer
{
    private readonly TransformerBlocks _blocks;

    /// <summary>Creates the layer.</summary>
    /// <param name="dModel">Features of the input and output.</param>
    /// <param name="nhead">Attention heads.</param>
    /// <param name="dimFeedforward">Hidden features of the feed-forward block.</param>
    /// <param name="dropout">Dropout probability, in training mode.</param>
    /// <param name="activation">"relu" or "gelu" (exact, erf-based).</param>
    /// <param name="layerNormEps">The layer norms' epsilon.</param>
    /// <param name="batchFirst">Inputs and outputs are [N, S, dModel] rather than [S, N, dModel].</param>
    /// <param name="normFirst">Pre-norm (normalize before each block) rather than post-norm.</param>
    /// <param name="dtype">Parameter dtype.</param>
    /// <param name="generator">Random source (default <see cref="Generator.Default"/>).</param>
    /// <exception cref="ArgumentException">An unknown activation or a bad size or probability.</exception>
    public TransformerEncoderLayer(long dModel, int nhead, long dimFeedforward = 2048, double dropout = 0.1, string activation = "relu",
        double layerNormEps = 1e-5, bool batchFirst = false, bool normFirst = false, DType dtype = DType.F32, Generator? generator = null)
    {
        _blocks = new TransformerBlocks(DisplayName, dModel, dimFeedforward, dropout, activation, layerNormEps, normFirst);
        SelfAttn = AddModule("self_attn", new MultiheadAttention(dModel, nhead, dropout, batchFirst: batchFirst, dtype: dtype, generator: generator));
        _blocks.AddFeedForward(AddModule, dtype, generator);
        _blocks.AddNorms(AddModule, 2, dtype);
    }

    /// <summary>The self-attention.</summary>
    public MultiheadAttention SelfAttn { get; }

    /// <summary>
    /// Encodes <paramref name="source"/> ([S, N, dModel], or [N, S, dModel] when batch first) with the optional
    /// self-attention masks (see <see cref="MultiheadAttention.Attend"/>): <paramref name="mask"/> [S, S] or
    /// [N * heads, S, S], <paramref name="keyPaddingMask"/> [N, S].
    /// </summary>
    public Value Encode(Value source, Value? mask = null, Value? keyPaddingMask = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        string Name(string what) => NodeName(source.Graph, what);
        Value x = _blocks.Residual(source, 0, h => SelfAttn.Attend(h, h, h, keyPaddingMask, mask, needWeights: false).Output, IsTraining, Name);
        return _blocks.Residual(x, 1, h => _blocks.FeedForward(h, IsTraining, Name), IsTraining, Name);
    }

    /// <inheritdoc/>
    protected override Value Build(Value input) => Encode(input);
}

/// <summary>
/// PyTorch's TransformerDecoderLayer: self-attention on the target, cross-attention to the encoder's memory, then a
/// feed-forward block; each with a residual connection and a layer norm, post-norm (default) or pre-norm
/// (<c>normFirst</c>). Child names as PyTorch's: self_attn, multihead_attn, linear1, linear2, norm1, norm2, norm3.
/// It reads two sequences, so it is a <see cref="Module"/> rather than a <see cref="Layer"/>.
/// </summary>
public sealed class TransformerDecoderLayer : Module
{
    private readonly TransformerBlocks _blocks;

    /// <summary>Creates the layer.</summary>
    /// <param name="dModel">Features of the target, memory and output.</param>
    /// <param name="nhead">Attention heads.</param>
    /// <param name="dimFeedforward">Hidden features of the feed-forward block.</param>
    /// <param name="dropout">Dropout probability, in training mode.</param>
    /// <param name="activation">"relu" or "gelu" (exact, erf-based).</param>
    /// <param name="layerNormEps">The layer norms' epsilon.</param>
    /// <param name="batchFirst">Inputs and outputs are [N, T, dModel] rather than [T, N, dModel].</param>
    /// <param name="normFirst">Pre-norm (normalize before each block) rather than post-norm.</param>
    /// <param name="dtype">Parameter dtype.</param>
    /// <param name="generator">Random source (default <see cref="Generator.Default"/>).</param>
    /// <exception cref="ArgumentException">An unknown activation or a bad size or probability.</exception>
    public TransformerDecoderLayer(long dModel, int nhead, long dimFeedforward = 2048, double dropout = 0.1, string activation = "relu",
        double layerNormEps = 1e-5, bool batchFirst = false, bool normFirst = false, DType dtype = DType.F32, Generator? generator = null)
    {
        _blocks = new TransformerBlocks(DisplayName, dModel, dimFeedforward, dropout, activation, layerNormEps, normFirst);
        SelfAttn = AddModule("self_attn", new MultiheadAttention(dModel, nhead, dropout, batchFirst: batchFirst, dtype: dtype, generator: generator));
        MultiheadAttn = AddModule("multihead_attn", new MultiheadAttention(dModel, nhead, dropout, batchFirst: batchFirst, dtype: dtype, generator: generator));
        _blocks.AddFeedForward(AddModule, dtype, generator);
        _blocks.AddNorms(AddModule, 3, dtype);
    }

    /// <summary>The target's self-attention.</summary>
    public MultiheadAttention SelfAttn { get; }

    /// <summary>The attention from the target to the memory.</summary>
    public MultiheadAttention MultiheadAttn { get; }

    /// <summary>
    /// Decodes <paramref name="target"/> ([T, N, dModel], or [N, T, dModel] when batch first) attending to
    /// <paramref name="memory"/> ([S, N, dModel] or [N, S, dModel]). Masks as in <see cref="MultiheadAttention.Attend"/>:
    /// <paramref name="targetMask"/> [T, T] or [N * heads, T, T], <paramref name="memoryMask"/> [T, S] or [N * heads, T, S],
    /// key padding masks [N, T] and [N, S]. <paramref name="causal"/> adds <see cref="AttentionMasks.SquareSubsequent"/> to
    /// the target's self-attention (which then needs a known target length), so position t sees only positions up to t.
    /// </summary>
    /// <exception cref="GraphValidationException">A shape does not fit; the message names the layer.</exception>
    public Value Forward(Value target, Value memory, Value? targetMask = null, Value? memoryMask = null, Value? targetKeyPaddingMask = null,
        Value? memoryKeyPaddingMask = null, bool causal = false)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(memory);
        Graph graph = target.Graph;
        string Name(string what) => NodeName(graph, what);
        if (causal)
        {
            Dim length = target.Rank == 3 ? target.Type[SelfAttn.BatchFirst ? 1 : 0] : Dim.Of(0);
            if (!length.IsKnown || length.Value == 0)
            {
                throw new GraphValidationException($"{DisplayName}: a causal mask needs a known target length, but the target is {target.Type.ShapeText}.");
            }

            Value mask = graph.Constant(AttentionMasks.SquareSubsequent(length.Value, target.DType).MoveToOuterScope(), Name("causal_mask"));
            targetMask = targetMask is null ? mask : targetMask + mask;
        }

        Value x = target;
        x = _blocks.Residual(x, 0, h => SelfAttn.Attend(h, h, h, targetKeyPaddingMask, targetMask, needWeights: false).Output, IsTraining, Name);
        x = _blocks.Residual(x, 1, h => MultiheadAttn.Attend(h, memory, memory, memoryKeyPaddingMask, memoryMask, needWeights: false).Output, IsTraining, Name);
        return _blocks.Residual(x, 2, h => _blocks.FeedForward(h, IsTraining, Name), IsTraining, Name);
    }
}

/// <summary>What encoder and decoder layers share: the feed-forward block, the norms, and the residual wiring.</summary>
internal sealed class TransformerBlocks
{
    private readonly long _dModel, _dimFeedforward;
    private readonly double _dropout, _layerNormEps;
    private readonly string _activation;
    private readonly bool _normFirst;
    private readonly List<LayerNorm> _norms = [];
    private Linear? _linear1, _linear2;

    public TransformerBlocks(string owner, long dModel, long dimFeedforward, double dropout, string activation, double layerNormEps, bool normFirst)
    {
        if (dModel <= 0 || dimFeedforward <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(dModel), $"{owner}: d_model ({dModel}) and dim_feedforward ({dimFeedforward}) must be positive.");
        }

        if (dropout is < 0 or >= 1 || double.IsNaN(dropout)) throw new ArgumentOutOfRangeException(nameof(dropout), $"{owner}: dropout ({dropout}) must be in [0, 1).");
        if (activation is not ("relu" or "gelu"))
        {
            throw new ArgumentException($"{owner}: unknown activation '{activation}'; use \"relu\" or \"gelu\".", nameof(activation));
        }

        (_dModel, _dimFeedforward, _dropout, _activation, _layerNormEps, _normFirst) = (dModel, dimFeedforward, dropout, activation, layerNormEps, normFirst);
    }

    public void AddFeedForward(Func<string, Linear, Linear> add, DType dtype, Generator? generator)
    {
        _linear1 = add("linear1", new Linear(_dModel, _dimFeedforward, dtype: dtype, generator: generator));
        _linear2 = add("linear2", new Linear(_dimFeedforward, _dModel, dtype: dtype, generator: generator));
    }

    public void AddNorms(Func<string, LayerNorm, LayerNorm> add, int count, DType dtype)
    {
        for (int i = 1; i <= count; i++) _norms.Add(add($"norm{i}", new LayerNorm(_dModel, _layerNormEps, dtype: dtype)));
    }

    // The block runs on the rows [S * N, dModel] of x: each Linear is then one 2-d Gemm whose weight gradient is one
    // GEMM (on a 3-d x it would be S batched products reduced afterwards); the output takes x's shape back.
    public Value FeedForward(Value x, bool training, Func<string, string> name)
    {
        Value rows = x.Graph.Apply("Reshape", [x, x.Graph.Constant(Tensor.FromArray(new long[] { -1, x.Type[x.Rank - 1].Value }).MoveToOuterScope())])[0];
        Value h = _linear1!.Forward(rows);
        h = _activation == "relu" ? h.Relu() : h.Apply("Gelu");
        if (training && _dropout > 0) h = SequenceOps.Dropout(h, _dropout, name("dropout"));
        return x.Graph.Apply("ReshapeLike", [_linear2!.Forward(h), x])[0];
    }

    // Block `index` (its norm is norm{index + 1}) with its residual connection and the dropout after it.
    public Value Residual(Value x, int index, Func<Value, Value> block, bool training, Func<string, string> name)
    {
        LayerNorm norm = _norms[index];
        Value y = block(_normFirst ? norm.Forward(x) : x);
        if (training && _dropout > 0) y = SequenceOps.Dropout(y, _dropout, name($"dropout{index + 1}"));
        return _normFirst ? x + y : norm.Forward(x + y);
    }
}

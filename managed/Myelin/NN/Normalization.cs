using Myelin.Graphs;

namespace Myelin.NN;

/// <summary>
/// Batch normalization over N and the spatial axes per channel (axis 1), PyTorch's BatchNormNd: learned weight (ones)
/// and bias (zeros) when affine, and buffers running_mean (zeros) and running_var (ones). In training mode it normalizes
/// by the batch's statistics and updates the buffers as PyTorch does, running = (1 - momentum) running + momentum batch
/// (PyTorch's momentum 0.1 is ONNX's 0.9), with the unbiased batch variance in running_var; in eval mode it normalizes
/// by the buffers.
/// </summary>
/// <remarks>
/// The BatchNormalization op updates its statistics inputs with the biased variance (ONNX). To keep PyTorch's unbiased
/// running_var, the training graph gives the op per-layer scratch statistics and writes the buffers itself with Assign
/// nodes, from the op's saved mean and inverse standard deviation and the element count per channel n:
/// var = (1 / invstd² - eps) n / (n - 1).
/// </remarks>
public abstract class BatchNormLayer : Layer
{
    private readonly int[] _ranks;
    private readonly Tensor _scratchMean;
    private readonly Tensor _scratchVar;

    private protected BatchNormLayer(int[] ranks, long numFeatures, double eps, double momentum, bool affine, DType dtype)
    {
        string owner = GetType().Name;
        if (numFeatures <= 0) throw new ArgumentOutOfRangeException(nameof(numFeatures), numFeatures, $"{owner}: num_features must be positive, not {numFeatures}.");
        if (!double.IsFinite(eps) || eps <= 0) throw new ArgumentOutOfRangeException(nameof(eps), eps, $"{owner}: eps must be positive, not {eps}.");
        if (!(momentum is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(momentum), momentum, $"{owner}: momentum must lie in [0, 1], not {momentum}.");
        _ranks = ranks;
        NumFeatures = numFeatures;
        Eps = eps;
        Momentum = momentum;
        if (affine)
        {
            Weight = AddParameter("weight", Tensor.Ones([numFeatures], dtype));
            Bias = AddParameter("bias", Tensor.Zeros([numFeatures], dtype));
        }

        RunningMean = AddBuffer("running_mean", Tensor.Zeros([numFeatures], dtype));
        RunningVar = AddBuffer("running_var", Tensor.Ones([numFeatures], dtype));
        _scratchMean = Tensor.Zeros([numFeatures], dtype).MoveToOuterScope();
        _scratchVar = Tensor.Ones([numFeatures], dtype).MoveToOuterScope();
    }

    /// <summary>Channels (axis 1).</summary>
    public long NumFeatures { get; }

    /// <summary>Added to the variance before the square root.</summary>
    public double Eps { get; }

    /// <summary>PyTorch's momentum: the weight of the batch statistics in the running ones.</summary>
    public double Momentum { get; }

    /// <summary>The scale, [C], or null when not affine.</summary>
    public Tensor? Weight { get; }

    /// <summary>The shift, [C], or null when not affine.</summary>
    public Tensor? Bias { get; }

    /// <summary>The running mean, [C].</summary>
    public Tensor RunningMean { get; }

    /// <summary>The running (unbiased) variance, [C].</summary>
    public Tensor RunningVar { get; }

    /// <inheritdoc/>
    protected override Value Build(Value input)
    {
        if (!_ranks.Contains(input.Rank) || !input.Type[1].IsKnown || input.Type[1].Value != NumFeatures)
        {
            string expected = string.Join(" or ", _ranks.Select(r => r == 2 ? $"N x {NumFeatures}" : $"N x {NumFeatures} x {r - 2} spatial axes"));
            throw new GraphValidationException($"{DisplayName}: expects {expected} but got {input.Type.ShapeText}.");
        }

        ElementwiseActivation.RequireFloat(this, input);
        Graph graph = input.Graph;
        Value scale = Weight is null ? graph.Constant(Tensor.Ones([NumFeatures], input.DType).MoveToOuterScope()) : Use(graph, Weight);
        Value shift = Bias is null ? graph.Constant(Tensor.Zeros([NumFeatures], input.DType).MoveToOuterScope()) : Use(graph, Bias);
        Value runningMean = Use(graph, RunningMean), runningVar = Use(graph, RunningVar);
        if (!IsTraining)
        {
            return graph.Apply("BatchNormalization", [input, scale, shift, runningMean, runningVar],
                new Dictionary<string, object> { ["epsilon"] = Eps }, NodeName(graph, "batchnorm"))[0];
        }

        if (input.Type.IsConcrete && Enumerable.Range(0, input.Rank).Where(i => i != 1).Aggregate(1L, (p, i) => p * input.Type[i].Value) <= 1)
        {
            throw new GraphValidationException($"{DisplayName}: training needs more than one value per channel, but the input is {input.Type.ShapeText}.");
        }

        Value[] outputs = graph.Apply("BatchNormalization",
            [input, scale, shift, graph.Parameter(NodeName(graph, "scratch_mean"), _scratchMean), graph.Parameter(NodeName(graph, "scratch_var"), _scratchVar)],
            new Dictionary<string, object> { ["epsilon"] = Eps, ["training_mode"] = 1L }, NodeName(graph, "batchnorm"));
        Value batchMean = outputs[1], invstd = outputs[2];
        Value count = graph.Apply("CountRatio", [input, batchMean], name: NodeName(graph, "count"))[0];
        Value unbiased = (1.0 / (invstd * invstd) - Eps) * count / (count - 1.0);
        graph.Apply("Assign", [runningMean, runningMean * (1 - Momentum) + batchMean * Momentum], name: NodeName(graph, "update_mean"));
        graph.Apply("Assign", [runningVar, runningVar * (1 - Momentum) + unbiased * Momentum], name: NodeName(graph, "update_var"));
        return outputs[0];
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _scratchMean.Dispose();
            _scratchVar.Dispose();
        }

        base.Dispose(disposing);
    }
}

/// <summary>Batch normalization of N x C or N x C x L (PyTorch's BatchNorm1d); see <see cref="BatchNormLayer"/>.</summary>
/// <param name="numFeatures">Channels C.</param>
/// <param name="eps">Added to the variance (default 1e-5).</param>
/// <param name="momentum">Weight of the batch statistics in the running ones (PyTorch's default 0.1).</param>
/// <param name="affine">Whether to learn a scale and shift.</param>
/// <param name="dtype">Parameter dtype.</param>
public sealed class BatchNorm1d(long numFeatures, double eps = 1e-5, double momentum = 0.1, bool affine = true, DType dtype = DType.F32)
    : BatchNormLayer([2, 3], numFeatures, eps, momentum, affine, dtype);

/// <summary>Batch normalization of N x C x H x W (PyTorch's BatchNorm2d); see <see cref="BatchNormLayer"/>.</summary>
/// <param name="numFeatures">Channels C.</param>
/// <param name="eps">Added to the variance (default 1e-5).</param>
/// <param name="momentum">Weight of the batch statistics in the running ones (PyTorch's default 0.1).</param>
/// <param name="affine">Whether to learn a scale and shift.</param>
/// <param name="dtype">Parameter dtype.</param>
public sealed class BatchNorm2d(long numFeatures, double eps = 1e-5, double momentum = 0.1, bool affine = true, DType dtype = DType.F32)
    : BatchNormLayer([4], numFeatures, eps, momentum, affine, dtype);

/// <summary>
/// Layer normalization over the trailing NormalizedShape axes (PyTorch's LayerNorm, ONNX LayerNormalization): learned
/// elementwise weight (ones) and bias (zeros) of that shape when ElementwiseAffine.
/// </summary>
public sealed class LayerNorm : Layer
{
    /// <summary>Creates the layer.</summary>
    /// <param name="normalizedShape">The trailing dims normalized over, such as [hidden].</param>
    /// <param name="eps">Added to the variance (default 1e-5).</param>
    /// <param name="elementwiseAffine">Whether to learn a weight (and a bias, see <paramref name="bias"/>).</param>
    /// <param name="bias">Whether to learn a bias when affine.</param>
    /// <param name="dtype">Parameter dtype.</param>
    public LayerNorm(long[] normalizedShape, double eps = 1e-5, bool elementwiseAffine = true, bool bias = true, DType dtype = DType.F32)
    {
        ArgumentNullException.ThrowIfNull(normalizedShape);
        if (normalizedShape.Length == 0 || normalizedShape.Any(d => d <= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(normalizedShape), $"LayerNorm: normalized_shape must be non-empty and positive, not [{string.Join(", ", normalizedShape)}].");
        }

        if (!double.IsFinite(eps) || eps <= 0) throw new ArgumentOutOfRangeException(nameof(eps), eps, $"LayerNorm: eps must be positive, not {eps}.");
        NormalizedShape = (long[])normalizedShape.Clone();
        Eps = eps;
        if (elementwiseAffine)
        {
            Weight = AddParameter("weight", Tensor.Ones(NormalizedShape.ToArray(), dtype));
            if (bias) Bias = AddParameter("bias", Tensor.Zeros(NormalizedShape.ToArray(), dtype));
        }
    }

    /// <summary>Creates the layer normalizing the last axis of size <paramref name="normalizedSize"/>.</summary>
    public LayerNorm(long normalizedSize, double eps = 1e-5, bool elementwiseAffine = true, bool bias = true, DType dtype = DType.F32)
        : this([normalizedSize], eps, elementwiseAffine, bias, dtype)
    {
    }

    /// <summary>The trailing dims normalized over.</summary>
    public IReadOnlyList<long> NormalizedShape { get; }

    /// <summary>Added to the variance.</summary>
    public double Eps { get; }

    /// <summary>The weight, or null when not affine.</summary>
    public Tensor? Weight { get; }

    /// <summary>The bias, or null.</summary>
    public Tensor? Bias { get; }

    /// <inheritdoc/>
    protected override Value Build(Value input)
    {
        int k = NormalizedShape.Count;
        if (input.Rank < k || Enumerable.Range(0, k).Any(i => input.Type[input.Rank - k + i] != Dim.Of(NormalizedShape[i])))
        {
            throw new GraphValidationException($"{DisplayName}: expects inputs ending in [{string.Join(", ", NormalizedShape)}] but got {input.Type.ShapeText}.");
        }

        ElementwiseActivation.RequireFloat(this, input);
        Graph graph = input.Graph;
        long[] shape = NormalizedShape.ToArray();
        Value scale = Weight is null ? graph.Constant(Tensor.Ones(shape, input.DType).MoveToOuterScope()) : Use(graph, Weight);
        Value shift = Bias is null ? graph.Constant(Tensor.Zeros(shape, input.DType).MoveToOuterScope()) : Use(graph, Bias);
        return graph.Apply("LayerNormalization", [input, scale, shift], new Dictionary<string, object> { ["axis"] = (long)-k, ["epsilon"] = Eps },
            NodeName(graph, "layernorm"))[0];
    }
}

/// <summary>
/// Group normalization (PyTorch's GroupNorm, ONNX GroupNormalization opset 21): channels split into NumGroups groups,
/// each normalized over its channels and the spatial axes; learned per-channel weight (ones) and bias (zeros) when affine.
/// </summary>
public sealed class GroupNorm : Layer
{
    /// <summary>Creates the layer.</summary>
    /// <param name="numGroups">Groups; must divide <paramref name="numChannels"/>.</param>
    /// <param name="numChannels">Channels C (axis 1).</param>
    /// <param name="eps">Added to the variance (default 1e-5).</param>
    /// <param name="affine">Whether to learn a per-channel scale and shift.</param>
    /// <param name="dtype">Parameter dtype.</param>
    public GroupNorm(long numGroups, long numChannels, double eps = 1e-5, bool affine = true, DType dtype = DType.F32)
    {
        if (numGroups <= 0 || numChannels <= 0 || numChannels % numGroups != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(numGroups), $"GroupNorm: num_groups ({numGroups}) must be positive and divide num_channels ({numChannels}).");
        }

        if (!double.IsFinite(eps) || eps <= 0) throw new ArgumentOutOfRangeException(nameof(eps), eps, $"GroupNorm: eps must be positive, not {eps}.");
        NumGroups = numGroups;
        NumChannels = numChannels;
        Eps = eps;
        if (affine)
        {
            Weight = AddParameter("weight", Tensor.Ones([numChannels], dtype));
            Bias = AddParameter("bias", Tensor.Zeros([numChannels], dtype));
        }
    }

    /// <summary>Groups.</summary>
    public long NumGroups { get; }

    /// <summary>Channels.</summary>
    public long NumChannels { get; }

    /// <summary>Added to the variance.</summary>
    public double Eps { get; }

    /// <summary>The per-channel scale, or null when not affine.</summary>
    public Tensor? Weight { get; }

    /// <summary>The per-channel shift, or null when not affine.</summary>
    public Tensor? Bias { get; }

    /// <inheritdoc/>
    protected override Value Build(Value input)
    {
        if (input.Rank < 2 || input.Type[1] != Dim.Of(NumChannels))
        {
            throw new GraphValidationException($"{DisplayName}: expects N x {NumChannels} x ... but got {input.Type.ShapeText}.");
        }

        ElementwiseActivation.RequireFloat(this, input);
        Graph graph = input.Graph;
        Value scale = Weight is null ? graph.Constant(Tensor.Ones([NumChannels], input.DType).MoveToOuterScope()) : Use(graph, Weight);
        Value shift = Bias is null ? graph.Constant(Tensor.Zeros([NumChannels], input.DType).MoveToOuterScope()) : Use(graph, Bias);
        return graph.Apply("GroupNormalization", [input, scale, shift], new Dictionary<string, object> { ["num_groups"] = NumGroups, ["epsilon"] = Eps },
            NodeName(graph, "groupnorm"))[0];
    }
}

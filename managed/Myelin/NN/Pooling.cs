using Myelin.Graphs;

namespace Myelin.NN;

/// <summary>
/// Max or average pooling over 1 or 2 spatial axes (PyTorch's MaxPoolNd / AvgPoolNd, ONNX MaxPool / AveragePool):
/// stride defaults to the kernel size, padding (at most half the kernel, as PyTorch requires) is implicit -inf for max
/// and zeros for average.
/// </summary>
public abstract class PoolLayer : Layer
{
    private readonly string _op;

    /// <summary>Creates the layer; the arguments are those of <see cref="MaxPool2d"/> and <see cref="AvgPool2d"/>.</summary>
    private protected PoolLayer(string op, int spatialRank, SpatialSize kernelSize, SpatialSize? stride, SpatialSize padding, SpatialSize dilation, bool ceilMode)
    {
        string owner = GetType().Name;
        _op = op;
        KernelSize = kernelSize.Resolve(spatialRank, 1, owner, "kernel_size");
        Stride = stride is { } s ? s.Resolve(spatialRank, 1, owner, "stride") : KernelSize;
        Padding = padding.Resolve(spatialRank, 0, owner, "padding");
        Dilation = dilation.Resolve(spatialRank, 1, owner, "dilation");
        for (int i = 0; i < spatialRank; i++)
        {
            if (Padding[i] > KernelSize[i] / 2)
            {
                throw new ArgumentOutOfRangeException(nameof(padding), $"{owner}: padding ({padding}) must be at most half the kernel size ({kernelSize}), as in PyTorch.");
            }
        }

        CeilMode = ceilMode;
    }

    /// <summary>Window size per spatial axis.</summary>
    public IReadOnlyList<long> KernelSize { get; }

    /// <summary>Stride per spatial axis (default: the kernel size).</summary>
    public IReadOnlyList<long> Stride { get; }

    /// <summary>Padding on both sides of each spatial axis.</summary>
    public IReadOnlyList<long> Padding { get; }

    /// <summary>Spacing of window taps (1 for average pooling).</summary>
    public IReadOnlyList<long> Dilation { get; }

    /// <summary>Whether the output size rounds up, so a partial window at the end still produces an output.</summary>
    public bool CeilMode { get; }

    /// <summary>The op's attributes besides the window geometry.</summary>
    private protected virtual Dictionary<string, object> ExtraAttributes => [];

    /// <inheritdoc/>
    protected override Value Build(Value input)
    {
        int rank = KernelSize.Count + 2;
        if (input.Rank != rank && input.Rank != rank - 1)
        {
            throw new GraphValidationException($"{DisplayName}: expects N x C x {rank - 2} spatial axes (or C x spatial) but got {input.Type.ShapeText}.");
        }

        ElementwiseActivation.RequireFloat(this, input);
        Graph graph = input.Graph;
        // PyTorch also pools an unbatched C x spatial input: add and remove a batch axis of 1.
        bool unbatched = input.Rank == rank - 1;
        Value x = unbatched ? graph.Apply("Unsqueeze", [input, GraphConstants.I64(graph, 0)], name: NodeName(graph, "batch"))[0] : input;
        var attributes = new Dictionary<string, object>(ExtraAttributes)
        {
            ["kernel_shape"] = KernelSize.ToArray(), ["strides"] = Stride.ToArray(), ["pads"] = Padding.Concat(Padding).ToArray(), ["ceil_mode"] = CeilMode ? 1L : 0L,
        };
        Value y = graph.Apply(_op, [x], attributes, NodeName(graph, _op == "MaxPool" ? "maxpool" : "avgpool"))[0];
        return unbatched ? graph.Apply("Squeeze", [y, GraphConstants.I64(graph, 0)], name: NodeName(graph, "unbatch"))[0] : y;
    }
}

/// <summary>Max pooling with dilation; the base class holds the arguments.</summary>
public abstract class MaxPoolLayer : PoolLayer
{
    private protected MaxPoolLayer(int spatialRank, SpatialSize kernelSize, SpatialSize? stride, SpatialSize padding, SpatialSize dilation, bool ceilMode)
        : base("MaxPool", spatialRank, kernelSize, stride, padding, dilation, ceilMode)
    {
    }

    private protected override Dictionary<string, object> ExtraAttributes => new() { ["dilations"] = Dilation.ToArray() };
}

/// <summary>
/// Average pooling. CountIncludePad (PyTorch's default true; ONNX's default is false) decides whether zero padding
/// counts in the divisor.
/// </summary>
public abstract class AvgPoolLayer : PoolLayer
{
    private protected AvgPoolLayer(int spatialRank, SpatialSize kernelSize, SpatialSize? stride, SpatialSize padding, bool ceilMode, bool countIncludePad)
        : base("AveragePool", spatialRank, kernelSize, stride, padding, 1, ceilMode) => CountIncludePad = countIncludePad;

    /// <summary>Whether padded zeros count in the average's divisor.</summary>
    public bool CountIncludePad { get; }

    private protected override Dictionary<string, object> ExtraAttributes => new() { ["count_include_pad"] = CountIncludePad ? 1L : 0L };
}

/// <summary>1-d max pooling over N x C x L.</summary>
/// <param name="kernelSize">Window size.</param>
/// <param name="stride">Stride (default: the window size).</param>
/// <param name="padding">Implicit -inf padding on both sides, at most half the window.</param>
/// <param name="dilation">Spacing of window taps.</param>
/// <param name="ceilMode">Whether the output size rounds up.</param>
public sealed class MaxPool1d(SpatialSize kernelSize, SpatialSize? stride = null, SpatialSize? padding = null, SpatialSize? dilation = null, bool ceilMode = false)
    : MaxPoolLayer(1, kernelSize, stride, padding ?? 0, dilation ?? 1, ceilMode);

/// <summary>2-d max pooling over N x C x H x W.</summary>
/// <param name="kernelSize">Window size: one for both axes or one per axis.</param>
/// <param name="stride">Stride (default: the window size).</param>
/// <param name="padding">Implicit -inf padding on both sides, at most half the window.</param>
/// <param name="dilation">Spacing of window taps.</param>
/// <param name="ceilMode">Whether the output size rounds up.</param>
public sealed class MaxPool2d(SpatialSize kernelSize, SpatialSize? stride = null, SpatialSize? padding = null, SpatialSize? dilation = null, bool ceilMode = false)
    : MaxPoolLayer(2, kernelSize, stride, padding ?? 0, dilation ?? 1, ceilMode);

/// <summary>1-d average pooling over N x C x L.</summary>
/// <param name="kernelSize">Window size.</param>
/// <param name="stride">Stride (default: the window size).</param>
/// <param name="padding">Zero padding on both sides, at most half the window.</param>
/// <param name="ceilMode">Whether the output size rounds up.</param>
/// <param name="countIncludePad">Whether padded zeros count in the divisor (PyTorch's default true).</param>
public sealed class AvgPool1d(SpatialSize kernelSize, SpatialSize? stride = null, SpatialSize? padding = null, bool ceilMode = false, bool countIncludePad = true)
    : AvgPoolLayer(1, kernelSize, stride, padding ?? 0, ceilMode, countIncludePad);

/// <summary>2-d average pooling over N x C x H x W.</summary>
/// <param name="kernelSize">Window size: one for both axes or one per axis.</param>
/// <param name="stride">Stride (default: the window size).</param>
/// <param name="padding">Zero padding on both sides, at most half the window.</param>
/// <param name="ceilMode">Whether the output size rounds up.</param>
/// <param name="countIncludePad">Whether padded zeros count in the divisor (PyTorch's default true).</param>
public sealed class AvgPool2d(SpatialSize kernelSize, SpatialSize? stride = null, SpatialSize? padding = null, bool ceilMode = false, bool countIncludePad = true)
    : AvgPoolLayer(2, kernelSize, stride, padding ?? 0, ceilMode, countIncludePad);

/// <summary>The mean over every spatial axis of N x C x spatial, kept as size-1 axes (ONNX GlobalAveragePool; PyTorch's AdaptiveAvgPool2d(1)).</summary>
public sealed class GlobalAvgPool : Layer
{
    /// <inheritdoc/>
    protected override Value Build(Value input)
    {
        if (input.Rank < 3) throw new GraphValidationException($"{DisplayName}: expects N x C x spatial axes but got {input.Type.ShapeText}.");
        ElementwiseActivation.RequireFloat(this, input);
        return input.Graph.Apply("GlobalAveragePool", [input], name: NodeName(input.Graph, "pool"))[0];
    }
}

/// <summary>
/// Adaptive average pooling to a fixed H x W output (PyTorch's AdaptiveAvgPool2d) for any input size: output i of an
/// axis averages inputs floor(i * in / out) to ceil((i + 1) * in / out) - 1, so windows may differ in size and overlap
/// when the sizes do not divide. Built from Slice and ReduceMean one axis at a time (the window mean of a rectangle is
/// the mean of its row means), so the gradient follows from those ops.
/// </summary>
public sealed class AdaptiveAvgPool2d : Layer
{
    /// <summary>Creates the layer for an output of <paramref name="outputSize"/> (one size for both axes, or one per axis).</summary>
    public AdaptiveAvgPool2d(SpatialSize outputSize) => OutputSize = outputSize.Resolve(2, 1, nameof(AdaptiveAvgPool2d), "output_size");

    /// <summary>Output height and width.</summary>
    public IReadOnlyList<long> OutputSize { get; }

    /// <summary>The first input index and count of output <paramref name="index"/>'s window on an axis of <paramref name="input"/> mapped to <paramref name="output"/>.</summary>
    public static (long Start, long Length) Window(long index, long input, long output)
    {
        long start = index * input / output, end = ((index + 1) * input + output - 1) / output;
        return (start, end - start);
    }

    /// <inheritdoc/>
    protected override Value Build(Value input)
    {
        if (input.Rank != 4 || !input.Type[2].IsKnown || !input.Type[3].IsKnown)
        {
            throw new GraphValidationException($"{DisplayName}: expects N x C x H x W with known H and W but got {input.Type.ShapeText}.");
        }

        ElementwiseActivation.RequireFloat(this, input);
        Value x = input;
        for (int axis = 2; axis < 4; axis++) x = PoolAxis(x, axis, OutputSize[axis - 2]);
        return x;
    }

    private Value PoolAxis(Value x, int axis, long output)
    {
        Graph graph = x.Graph;
        long size = x.Type[axis].Value;
        if (size == output) return x;
        var pieces = new Value[output];
        for (long i = 0; i < output; i++)
        {
            (long start, long length) = Window(i, size, output);
            Value window = graph.Apply("Slice", [x, GraphConstants.I64(graph, start), GraphConstants.I64(graph, start + length), GraphConstants.I64(graph, axis)],
                name: NodeName(graph, "window"))[0];
            pieces[i] = graph.Apply("ReduceMean", [window], new Dictionary<string, object> { ["axes"] = new long[] { axis }, ["keepdims"] = 1L }, NodeName(graph, "mean"))[0];
        }

        return output == 1 ? pieces[0] : graph.Apply("Concat", pieces, new Dictionary<string, object> { ["axis"] = (long)axis }, NodeName(graph, "concat"))[0];
    }
}

using Myelin.Graphs;

namespace Myelin.NN;

/// <summary>
/// A convolution over 1 to 3 spatial axes of an N x C x spatial input (PyTorch's ConvNd, ONNX Conv): weight
/// [out, in / groups, kernel...] and optional bias [out], both initialized as PyTorch (uniform in ±1/sqrt(fan-in)).
/// </summary>
public abstract class ConvLayer : Layer
{
    private readonly long[] _pads;

    /// <summary>Creates the layer; see <see cref="Conv2d"/> for the arguments.</summary>
    protected ConvLayer(int spatialRank, long inChannels, long outChannels, SpatialSize kernelSize, SpatialSize? stride, ConvPadding? padding,
        SpatialSize? dilation, long groups, bool bias, Initializer? weightInit, Initializer? biasInit, DType dtype, Generator? generator)
    {
        string owner = GetType().Name;
        ConvParameters.RequireChannels(owner, inChannels, outChannels, groups);

        InChannels = inChannels;
        OutChannels = outChannels;
        Groups = groups;
        long[] kernel = kernelSize.Resolve(spatialRank, 1, owner, "kernel_size"), strides = (stride ?? 1).Resolve(spatialRank, 1, owner, "stride");
        long[] dilations = (dilation ?? 1).Resolve(spatialRank, 1, owner, "dilation");
        KernelSize = kernel;
        Stride = strides;
        Dilation = dilations;
        Padding = padding ?? 0;
        _pads = Padding.Resolve(kernel, strides, dilations, owner);
        (Weight, Bias) = LayerParameters.WeightAndBias(AddParameter, [outChannels, inChannels / groups, .. kernel], outChannels, bias, weightInit, biasInit, dtype, generator);
    }

    /// <summary>Input channels.</summary>
    public long InChannels { get; }

    /// <summary>Output channels.</summary>
    public long OutChannels { get; }

    /// <summary>Channel groups: each output channel sees InChannels / Groups inputs.</summary>
    public long Groups { get; }

    /// <summary>Kernel size per spatial axis.</summary>
    public IReadOnlyList<long> KernelSize { get; }

    /// <summary>Stride per spatial axis.</summary>
    public IReadOnlyList<long> Stride { get; }

    /// <summary>Dilation per spatial axis.</summary>
    public IReadOnlyList<long> Dilation { get; }

    /// <summary>The padding as given.</summary>
    public ConvPadding Padding { get; }

    /// <summary>The weight, [out, in / groups, kernel...].</summary>
    public Tensor Weight { get; }

    /// <summary>The bias, [out], or null.</summary>
    public Tensor? Bias { get; }

    /// <inheritdoc/>
    protected override Value Build(Value input)
    {
        int rank = KernelSize.Count + 2;
        if (input.Rank != rank || !input.Type[1].IsKnown || input.Type[1].Value != InChannels)
        {
            throw new GraphValidationException($"{DisplayName}: expects N x {InChannels} x {rank - 2} spatial axes but got {input.Type.ShapeText}.");
        }

        Graph graph = input.Graph;
        Value[] inputs = Bias is null ? [input, Use(graph, Weight)] : [input, Use(graph, Weight), Use(graph, Bias)];
        var attributes = new Dictionary<string, object>
        {
            ["kernel_shape"] = KernelSize.ToArray(), ["strides"] = Stride.ToArray(), ["dilations"] = Dilation.ToArray(), ["pads"] = _pads.ToArray(), ["group"] = Groups,
        };
        return graph.Apply("Conv", inputs, attributes, NodeName(graph, "conv"))[0];
    }
}

/// <summary>1-d convolution over N x C x L (PyTorch's Conv1d).</summary>
public sealed class Conv1d : ConvLayer
{
    /// <summary>Creates the layer; the arguments are those of <see cref="Conv2d"/>.</summary>
    public Conv1d(long inChannels, long outChannels, SpatialSize kernelSize, SpatialSize? stride = null, ConvPadding? padding = null, SpatialSize? dilation = null,
        long groups = 1, bool bias = true, Initializer? weightInit = null, Initializer? biasInit = null, DType dtype = DType.F32, Generator? generator = null)
        : base(1, inChannels, outChannels, kernelSize, stride, padding, dilation, groups, bias, weightInit, biasInit, dtype, generator)
    {
    }
}

/// <summary>2-d convolution over N x C x H x W (PyTorch's Conv2d).</summary>
public sealed class Conv2d : ConvLayer
{
    /// <summary>Creates the layer.</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="kernelSize">Kernel size: one for every axis or one per axis.</param>
    /// <param name="stride">Stride (default 1).</param>
    /// <param name="padding">Zero padding on both sides of each axis, or "same" or "valid" (default 0).</param>
    /// <param name="dilation">Spacing of kernel taps (default 1).</param>
    /// <param name="groups">Channel groups (default 1; in_channels for a depthwise convolution).</param>
    /// <param name="bias">Whether to add a learned bias.</param>
    /// <param name="weightInit">Override for the weight's initializer.</param>
    /// <param name="biasInit">Override for the bias's initializer.</param>
    /// <param name="dtype">Parameter dtype.</param>
    /// <param name="generator">Random source (default <see cref="Generator.Default"/>).</param>
    public Conv2d(long inChannels, long outChannels, SpatialSize kernelSize, SpatialSize? stride = null, ConvPadding? padding = null, SpatialSize? dilation = null,
        long groups = 1, bool bias = true, Initializer? weightInit = null, Initializer? biasInit = null, DType dtype = DType.F32, Generator? generator = null)
        : base(2, inChannels, outChannels, kernelSize, stride, padding, dilation, groups, bias, weightInit, biasInit, dtype, generator)
    {
    }
}

/// <summary>3-d convolution over N x C x D x H x W (PyTorch's Conv3d).</summary>
public sealed class Conv3d : ConvLayer
{
    /// <summary>Creates the layer; the arguments are those of <see cref="Conv2d"/>.</summary>
    public Conv3d(long inChannels, long outChannels, SpatialSize kernelSize, SpatialSize? stride = null, ConvPadding? padding = null, SpatialSize? dilation = null,
        long groups = 1, bool bias = true, Initializer? weightInit = null, Initializer? biasInit = null, DType dtype = DType.F32, Generator? generator = null)
        : base(3, inChannels, outChannels, kernelSize, stride, padding, dilation, groups, bias, weightInit, biasInit, dtype, generator)
    {
    }
}

/// <summary>
/// 2-d transposed convolution over N x C x H x W (PyTorch's ConvTranspose2d, ONNX ConvTranspose), the gradient of a
/// Conv2d with respect to its input: weight [in, out / groups, kH, kW] and optional bias [out]. Output size per axis:
/// (in - 1) stride - 2 padding + dilation (kernel - 1) + output_padding + 1. Both parameters start as PyTorch's
/// (uniform in ±1/sqrt(fan-in), fan-in = weight.size(1) * kH * kW = out / groups * kH * kW).
/// Unlike PyTorch, which allows output_padding below max(stride, dilation), output_padding must be below the stride:
/// the ConvTranspose op's native kernel supports only that range.
/// </summary>
public sealed class ConvTranspose2d : Layer
{
    private const int SpatialRank = 2;

    /// <summary>Creates the layer.</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="kernelSize">Kernel size: one for both axes or one per axis.</param>
    /// <param name="stride">Stride (default 1).</param>
    /// <param name="padding">Zero padding: dilation (kernel - 1) - padding rows and columns are cut from each side of the full output (default 0).</param>
    /// <param name="outputPadding">Extra rows and columns added at the end of each axis, to pick among the output sizes a strided Conv2d maps to one input size (default 0).</param>
    /// <param name="groups">Channel groups (default 1).</param>
    /// <param name="bias">Whether to add a learned bias.</param>
    /// <param name="dilation">Spacing of kernel taps (default 1).</param>
    /// <param name="weightInit">Override for the weight's initializer.</param>
    /// <param name="biasInit">Override for the bias's initializer.</param>
    /// <param name="dtype">Parameter dtype.</param>
    /// <param name="generator">Random source (default <see cref="Generator.Default"/>).</param>
    public ConvTranspose2d(long inChannels, long outChannels, SpatialSize kernelSize, SpatialSize? stride = null, SpatialSize? padding = null,
        SpatialSize? outputPadding = null, long groups = 1, bool bias = true, SpatialSize? dilation = null, Initializer? weightInit = null,
        Initializer? biasInit = null, DType dtype = DType.F32, Generator? generator = null)
    {
        const string owner = nameof(ConvTranspose2d);
        ConvParameters.RequireChannels(owner, inChannels, outChannels, groups);

        InChannels = inChannels;
        OutChannels = outChannels;
        Groups = groups;
        KernelSize = kernelSize.Resolve(SpatialRank, 1, owner, "kernel_size");
        Stride = (stride ?? 1).Resolve(SpatialRank, 1, owner, "stride");
        Padding = (padding ?? 0).Resolve(SpatialRank, 0, owner, "padding");
        OutputPadding = (outputPadding ?? 0).Resolve(SpatialRank, 0, owner, "output_padding");
        Dilation = (dilation ?? 1).Resolve(SpatialRank, 1, owner, "dilation");
        for (int axis = 0; axis < SpatialRank; axis++)
        {
            if (OutputPadding[axis] >= Stride[axis])
            {
                throw new ArgumentOutOfRangeException(nameof(outputPadding),
                    $"{owner}: output_padding {OutputPadding[axis]} on spatial axis {axis} must be smaller than the stride {Stride[axis]}.");
            }
        }

        (Weight, Bias) = LayerParameters.WeightAndBias(AddParameter, [inChannels, outChannels / groups, .. KernelSize], outChannels, bias, weightInit, biasInit, dtype, generator);
    }

    /// <summary>Input channels.</summary>
    public long InChannels { get; }

    /// <summary>Output channels.</summary>
    public long OutChannels { get; }

    /// <summary>Channel groups: each group maps InChannels / Groups inputs to OutChannels / Groups outputs.</summary>
    public long Groups { get; }

    /// <summary>Kernel size per spatial axis.</summary>
    public IReadOnlyList<long> KernelSize { get; }

    /// <summary>Stride per spatial axis.</summary>
    public IReadOnlyList<long> Stride { get; }

    /// <summary>Padding per spatial axis, cut from both sides of the full output.</summary>
    public IReadOnlyList<long> Padding { get; }

    /// <summary>Extra size at the end of each spatial axis.</summary>
    public IReadOnlyList<long> OutputPadding { get; }

    /// <summary>Dilation per spatial axis.</summary>
    public IReadOnlyList<long> Dilation { get; }

    /// <summary>The weight, [in, out / groups, kH, kW].</summary>
    public Tensor Weight { get; }

    /// <summary>The bias, [out], or null.</summary>
    public Tensor? Bias { get; }

    /// <inheritdoc/>
    protected override Value Build(Value input)
    {
        if (input.Rank != SpatialRank + 2 || !input.Type[1].IsKnown || input.Type[1].Value != InChannels)
        {
            throw new GraphValidationException($"{DisplayName}: expects N x {InChannels} x H x W but got {input.Type.ShapeText}.");
        }

        Graph graph = input.Graph;
        Value[] inputs = Bias is null ? [input, Use(graph, Weight)] : [input, Use(graph, Weight), Use(graph, Bias)];
        var attributes = new Dictionary<string, object>
        {
            ["kernel_shape"] = KernelSize.ToArray(), ["strides"] = Stride.ToArray(), ["dilations"] = Dilation.ToArray(),
            ["pads"] = Padding.Concat(Padding).ToArray(), ["output_padding"] = OutputPadding.ToArray(), ["group"] = Groups,
        };
        return graph.Apply("ConvTranspose", inputs, attributes, NodeName(graph, "conv_transpose"))[0];
    }
}

/// <summary>The channel checks the convolution layers share.</summary>
internal static class ConvParameters
{
    /// <summary>Fails unless both channel counts are positive and <paramref name="groups"/> divides them.</summary>
    public static void RequireChannels(string owner, long inChannels, long outChannels, long groups)
    {
        if (inChannels <= 0 || outChannels <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(inChannels), $"{owner}: in_channels ({inChannels}) and out_channels ({outChannels}) must be positive.");
        }

        if (groups <= 0 || inChannels % groups != 0 || outChannels % groups != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(groups), $"{owner}: groups ({groups}) must be positive and divide in_channels ({inChannels}) and out_channels ({outChannels}).");
        }
    }
}

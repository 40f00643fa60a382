using System.Globalization;

namespace Myelin.NN;

/// <summary>
/// A per-axis size argument as PyTorch takes it: one number for every spatial axis (<c>3</c>) or one per axis
/// (<c>(3, 5)</c> or <c>new long[] { 3, 5 }</c>).
/// </summary>
public readonly struct SpatialSize
{
    private readonly long[]? _perAxis;
    private readonly long _all;

    private SpatialSize(long all, long[]? perAxis)
    {
        _all = all;
        _perAxis = perAxis;
    }

    /// <summary>The same size on every axis.</summary>
    public static implicit operator SpatialSize(long all) => new(all, null);

    /// <summary>The same size on every axis.</summary>
    public static implicit operator SpatialSize(int all) => new(all, null);

    /// <summary>One size per axis.</summary>
    public static implicit operator SpatialSize(long[] perAxis) => new(0, (long[])perAxis.Clone());

    /// <summary>One size per axis (two axes).</summary>
    public static implicit operator SpatialSize((long, long) perAxis) => new(0, [perAxis.Item1, perAxis.Item2]);

    /// <summary>One size per axis (three axes).</summary>
    public static implicit operator SpatialSize((long, long, long) perAxis) => new(0, [perAxis.Item1, perAxis.Item2, perAxis.Item3]);

    /// <summary>The sizes for <paramref name="rank"/> axes, each checked to be at least <paramref name="minimum"/>; messages name <paramref name="owner"/> and <paramref name="argument"/>.</summary>
    internal long[] Resolve(int rank, long minimum, string owner, string argument)
    {
        long[] sizes = _perAxis ?? Enumerable.Repeat(_all, rank).ToArray();
        if (sizes.Length != rank) throw new ArgumentException($"{owner}: {argument} has {sizes.Length} entries ({this}) but the layer has {rank} spatial axes.", argument);
        if (sizes.Any(s => s < minimum)) throw new ArgumentOutOfRangeException(argument, $"{owner}: every {argument} entry must be at least {minimum}, not {this}.");
        return sizes;
    }

    /// <summary>Such as "3" or "(3, 5)".</summary>
    public override string ToString() => _perAxis is null ? _all.ToString(CultureInfo.InvariantCulture) : $"({string.Join(", ", _perAxis)})";
}

/// <summary>
/// Convolution padding as PyTorch takes it: a size per axis (see <see cref="SpatialSize"/>), "valid" (none) or "same"
/// (the output keeps the input's size; stride 1 only; an odd total puts the extra element at the end, as PyTorch).
/// </summary>
public readonly struct ConvPadding
{
    private ConvPadding(SpatialSize size, string? mode)
    {
        Size = size;
        Mode = mode;
    }

    /// <summary>The explicit padding, when <see cref="Mode"/> is null.</summary>
    public SpatialSize Size { get; }

    /// <summary>"same", "valid", or null for explicit sizes.</summary>
    public string? Mode { get; }

    /// <summary>The same padding on every axis.</summary>
    public static implicit operator ConvPadding(long all) => new(all, null);

    /// <summary>The same padding on every axis.</summary>
    public static implicit operator ConvPadding(int all) => new(all, null);

    /// <summary>Padding per axis.</summary>
    public static implicit operator ConvPadding(long[] perAxis) => new(perAxis, null);

    /// <summary>Padding per axis (two axes).</summary>
    public static implicit operator ConvPadding((long, long) perAxis) => new(perAxis, null);

    /// <summary>Padding per axis (three axes).</summary>
    public static implicit operator ConvPadding((long, long, long) perAxis) => new(perAxis, null);

    /// <summary>"same" or "valid".</summary>
    public static implicit operator ConvPadding(string mode) => mode is "same" or "valid" ? new(0, mode)
        : throw new ArgumentException($"Padding must be a size, \"same\" or \"valid\", not \"{mode}\".", nameof(mode));

    /// <summary>Such as "1", "(1, 2)" or "same".</summary>
    public override string ToString() => Mode ?? Size.ToString();

    /// <summary>ONNX pads (all begins, then all ends) for a kernel, stride and dilation per axis.</summary>
    internal long[] Resolve(long[] kernel, long[] stride, long[] dilation, string owner)
    {
        int rank = kernel.Length;
        var pads = new long[2 * rank];
        switch (Mode)
        {
            case "valid":
                return pads;
            case "same":
                if (stride.Any(s => s != 1)) throw new ArgumentException($"{owner}: padding \"same\" needs stride 1, not ({string.Join(", ", stride)}), as in PyTorch.", "padding");
                for (int i = 0; i < rank; i++)
                {
                    long total = dilation[i] * (kernel[i] - 1);
                    pads[i] = total / 2;
                    pads[rank + i] = total - total / 2;
                }

                return pads;
            default:
                long[] sizes = Size.Resolve(rank, 0, owner, "padding");
                for (int i = 0; i < rank; i++) pads[i] = pads[rank + i] = sizes[i];
                return pads;
        }
    }
}

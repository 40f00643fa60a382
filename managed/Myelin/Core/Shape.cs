using System.Collections;
using Myelin.Native;
using System.Runtime.CompilerServices;
using System.Text;

namespace Myelin;

/// <summary>
/// The dimensions of a tensor: immutable, compared by value, rank 0 (a scalar) to <see cref="MaxRank"/>.
/// </summary>
/// <remarks>A collection expression builds one: <c>Tensor.Zeros([64, 128])</c>.</remarks>
[CollectionBuilder(typeof(Shape), nameof(Create))]
public sealed class Shape : IEquatable<Shape>, IReadOnlyList<long>
{
    /// <summary>The largest rank a tensor can have; equal to the native MLN_MAX_RANK.</summary>
    public const int MaxRank = NativeMethods.MaxRank;

    private readonly long[] _dims;

    /// <summary>The shape of a scalar (rank 0, one element).</summary>
    public static Shape Scalar { get; } = new([]);

    /// <summary>Creates a shape from its dimensions.</summary>
    /// <exception cref="ArgumentException">More than <see cref="MaxRank"/> dimensions, a negative
    /// dimension, or an element count that overflows a 64-bit integer.</exception>
    public Shape(params ReadOnlySpan<long> dims)
    {
        if (dims.Length > MaxRank)
        {
            throw new ArgumentException($"A shape has at most {MaxRank} dimensions; got {dims.Length} ({Format(dims)}).", nameof(dims));
        }

        long count = 1;
        foreach (long dim in dims)
        {
            if (dim < 0)
            {
                throw new ArgumentException($"Shape dimensions must be non-negative; got {Format(dims)}.", nameof(dims));
            }

            try
            {
                count = checked(count * dim);
            }
            catch (OverflowException)
            {
                throw new ArgumentException($"The element count of shape {Format(dims)} overflows a 64-bit integer.", nameof(dims));
            }
        }

        _dims = dims.ToArray();
        ElementCount = count;
    }

    /// <summary>Creates a shape from its dimensions (the collection-expression builder).</summary>
    public static Shape Create(ReadOnlySpan<long> dims) => new(dims);

    /// <summary>Number of dimensions.</summary>
    public int Rank => _dims.Length;

    /// <summary>Product of the dimensions (1 for a scalar, 0 when any dimension is 0).</summary>
    public long ElementCount { get; }

    /// <summary>Size of dimension <paramref name="axis"/>; negative axes count from the end.</summary>
    public long this[int axis] => _dims[NormalizeAxis(axis)];

    int IReadOnlyCollection<long>.Count => _dims.Length;

    /// <summary>The dimensions as a span (no copy).</summary>
    public ReadOnlySpan<long> Dimensions => _dims;

    /// <summary>Copies the dimensions into a new array.</summary>
    public long[] ToArray() => (long[])_dims.Clone();

    /// <summary>
    /// Row-major (C order) strides in elements: the last axis has stride 1.
    /// </summary>
    public long[] ContiguousStrides()
    {
        var strides = new long[_dims.Length];
        long stride = 1;
        for (int axis = _dims.Length - 1; axis >= 0; axis--)
        {
            strides[axis] = stride;
            // A zero-sized dimension would make every outer stride 0; keep them distinct instead.
            stride *= Math.Max(_dims[axis], 1);
        }

        return strides;
    }

    /// <summary>
    /// Maps <paramref name="axis"/> (negative counts from the end) to 0..Rank-1.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The axis is outside -Rank..Rank-1.</exception>
    public int NormalizeAxis(int axis)
    {
        int normalized = axis < 0 ? axis + Rank : axis;
        if (normalized < 0 || normalized >= Rank)
        {
            throw new ArgumentOutOfRangeException(nameof(axis), axis, $"Axis {axis} is out of range for shape {this} of rank {Rank}.");
        }

        return normalized;
    }

    /// <summary>
    /// The NumPy broadcast shape of <paramref name="a"/> and <paramref name="b"/>: shapes are aligned at
    /// their last dimension and each pair of dimensions must be equal or contain a 1.
    /// </summary>
    /// <exception cref="ArgumentException">The shapes do not broadcast; the message names both.</exception>
    public static Shape Broadcast(Shape a, Shape b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        int rank = Math.Max(a.Rank, b.Rank);
        var dims = new long[rank];
        for (int i = 1; i <= rank; i++)
        {
            long da = i <= a.Rank ? a._dims[a.Rank - i] : 1;
            long db = i <= b.Rank ? b._dims[b.Rank - i] : 1;
            if (da != db && da != 1 && db != 1)
            {
                throw new ArgumentException($"Shapes {a} and {b} do not broadcast: dimension {da} vs {db} at axis -{i}.");
            }

            dims[rank - i] = da == 1 ? db : da;
        }

        return new Shape(dims);
    }

    /// <summary>Whether this shape broadcasts to <paramref name="target"/> without changing the target.</summary>
    public bool CanBroadcastTo(Shape target)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (Rank > target.Rank)
        {
            return false;
        }

        for (int i = 1; i <= Rank; i++)
        {
            long dim = _dims[Rank - i];
            if (dim != 1 && dim != target._dims[target.Rank - i])
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Creates a shape from an array of dimensions.</summary>
    public static implicit operator Shape(long[] dims) => new(dims);

    /// <inheritdoc/>
    public bool Equals(Shape? other) => other is not null && _dims.AsSpan().SequenceEqual(other._dims);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as Shape);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (long dim in _dims)
        {
            hash.Add(dim);
        }

        return hash.ToHashCode();
    }

    /// <summary>Value equality.</summary>
    public static bool operator ==(Shape? left, Shape? right) => left is null ? right is null : left.Equals(right);

    /// <summary>Value inequality.</summary>
    public static bool operator !=(Shape? left, Shape? right) => !(left == right);

    /// <summary>The dimensions joined by 'x', such as <c>64x128</c>; a scalar is <c>scalar</c>.</summary>
    public override string ToString() => Format(_dims);

    /// <inheritdoc/>
    public IEnumerator<long> GetEnumerator() => ((IEnumerable<long>)_dims).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _dims.GetEnumerator();

    internal static string Format(ReadOnlySpan<long> dims)
    {
        if (dims.IsEmpty)
        {
            return "scalar";
        }

        var text = new StringBuilder();
        for (int i = 0; i < dims.Length; i++)
        {
            if (i > 0)
            {
                text.Append('x');
            }

            text.Append(dims[i]);
        }

        return text.ToString();
    }
}

namespace Myelin;

// Views share storage with this tensor: writes through one are seen by the other. Each returns a new
// tensor object that the caller disposes (or its scope does).
public sealed partial class Tensor
{
    /// <summary>
    /// The same elements with another shape; one dimension may be -1 to be inferred. A view, so the tensor
    /// must be contiguous.
    /// </summary>
    /// <exception cref="ArgumentException">The element counts differ or more than one dimension is -1.</exception>
    /// <exception cref="InvalidOperationException">The tensor is not contiguous.</exception>
    public Tensor Reshape(params long[] dims)
    {
        ArgumentNullException.ThrowIfNull(dims);
        int inferred = Array.IndexOf(dims, -1L);
        if (inferred >= 0)
        {
            if (Array.IndexOf(dims, -1L, inferred + 1) >= 0)
            {
                throw new ArgumentException($"Reshape of {DisplayName}: only one dimension may be -1 in [{string.Join(", ", dims)}].", nameof(dims));
            }

            long known = 1;
            for (int i = 0; i < dims.Length; i++)
            {
                known = i == inferred ? known : checked(known * dims[i]);
            }

            long[] resolved = (long[])dims.Clone();
            resolved[inferred] = known == 0 || ElementCount % known != 0 ? -1 : ElementCount / known;
            if (resolved[inferred] < 0)
            {
                throw new ArgumentException($"Reshape of {DisplayName}: cannot infer -1 in [{string.Join(", ", dims)}] for {ElementCount} elements.", nameof(dims));
            }

            dims = resolved;
        }

        return Reshape(new Shape(dims));
    }

    /// <summary>The same elements with shape <paramref name="shape"/>; a view of a contiguous tensor.</summary>
    public Tensor Reshape(Shape shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ThrowIfDisposed();
        if (shape.ElementCount != ElementCount)
        {
            throw new ArgumentException($"Cannot reshape {DisplayName} ({ElementCount} elements) to {shape} ({shape.ElementCount} elements).", nameof(shape));
        }

        if (!IsContiguous)
        {
            throw new InvalidOperationException($"Reshape makes a view, which needs a contiguous tensor; {DisplayName} is not. Call Contiguous() first.");
        }

        return View(shape, shape.ContiguousStrides(), Offset);
    }

    /// <summary>Swaps two axes (negative axes count from the end).</summary>
    public Tensor Transpose(int axis0, int axis1)
    {
        int[] order = Enumerable.Range(0, Rank).ToArray();
        (order[Shape.NormalizeAxis(axis0)], order[Shape.NormalizeAxis(axis1)]) = (Shape.NormalizeAxis(axis1), Shape.NormalizeAxis(axis0));
        return Permute(order);
    }

    /// <summary>Swaps the last two axes (the matrix transpose of a rank-2 tensor).</summary>
    /// <exception cref="InvalidOperationException">The rank is below 2.</exception>
    public Tensor Transpose() => Rank >= 2
        ? Transpose(-2, -1)
        : throw new InvalidOperationException($"Transpose() needs rank 2 or more but {DisplayName} has rank {Rank}.");

    /// <summary>Reorders the axes: axis i of the result is axis <c>order[i]</c> of this tensor.</summary>
    /// <exception cref="ArgumentException"><paramref name="order"/> is not a permutation of the axes.</exception>
    public Tensor Permute(params int[] order)
    {
        ArgumentNullException.ThrowIfNull(order);
        ThrowIfDisposed();
        if (order.Length != Rank)
        {
            throw new ArgumentException($"Permute of {DisplayName} needs {Rank} axes but got [{string.Join(", ", order)}].", nameof(order));
        }

        var dims = new long[Rank];
        var strides = new long[Rank];
        var seen = new bool[Rank];
        for (int i = 0; i < Rank; i++)
        {
            int axis = Shape.NormalizeAxis(order[i]);
            if (seen[axis])
            {
                throw new ArgumentException($"Permute of {DisplayName}: axis {order[i]} appears twice in [{string.Join(", ", order)}].", nameof(order));
            }

            seen[axis] = true;
            dims[i] = Shape[axis];
            strides[i] = _strides[axis];
        }

        return View(new Shape(dims), strides, Offset);
    }

    /// <summary>Elements <paramref name="start"/> .. <paramref name="start"/> + <paramref name="length"/> - 1 along <paramref name="axis"/>.</summary>
    public Tensor Narrow(int axis, long start, long length) => Slice(axis, start, start + length);

    /// <summary>
    /// Elements <paramref name="start"/>, <paramref name="start"/> + <paramref name="step"/>, ... below
    /// <paramref name="end"/> along <paramref name="axis"/>; 0 &lt;= start &lt;= end &lt;= size, step &gt;= 1.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is outside the axis or the step is not positive.</exception>
    public Tensor Slice(int axis, long start, long end, long step = 1)
    {
        ThrowIfDisposed();
        int normalized = Shape.NormalizeAxis(axis);
        long size = Shape[normalized];
        if (start < 0 || end < start || end > size)
        {
            throw new ArgumentOutOfRangeException(nameof(start), $"Slice [{start}, {end}) is outside axis {axis} of size {size} of {DisplayName}.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(step, 1);
        long[] dims = Shape.ToArray();
        long[] strides = (long[])_strides.Clone();
        dims[normalized] = (end - start + step - 1) / step;
        strides[normalized] = _strides[normalized] * step;
        // An empty slice must not point past the storage: keep the offset where it is.
        long offset = dims[normalized] == 0 ? Offset : Offset + start * _strides[normalized];
        return View(new Shape(dims), strides, offset);
    }

    /// <summary>The sub-tensor at <paramref name="index"/> along <paramref name="axis"/>, without that axis.</summary>
    public Tensor Select(int axis, long index)
    {
        ThrowIfDisposed();
        int normalized = Shape.NormalizeAxis(axis);
        long size = Shape[normalized];
        long resolved = index < 0 ? index + size : index;
        if (resolved < 0 || resolved >= size)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"Index {index} is outside axis {axis} of size {size} of {DisplayName}.");
        }

        long[] dims = Shape.ToArray();
        var keptDims = new long[Rank - 1];
        var keptStrides = new long[Rank - 1];
        for (int i = 0, j = 0; i < Rank; i++)
        {
            if (i != normalized)
            {
                keptDims[j] = dims[i];
                keptStrides[j++] = _strides[i];
            }
        }

        return View(new Shape(keptDims), keptStrides, Offset + resolved * _strides[normalized]);
    }

    /// <summary>Inserts an axis of size 1 at <paramref name="axis"/> (0..Rank; negative counts from the end).</summary>
    public Tensor Unsqueeze(int axis)
    {
        ThrowIfDisposed();
        int normalized = axis < 0 ? axis + Rank + 1 : axis;
        if (normalized < 0 || normalized > Rank)
        {
            throw new ArgumentOutOfRangeException(nameof(axis), axis, $"Unsqueeze axis {axis} is outside 0..{Rank} for {DisplayName}.");
        }

        List<long> dims = [.. Shape];
        List<long> strides = [.. _strides];
        dims.Insert(normalized, 1);
        strides.Insert(normalized, normalized < Rank ? _strides[normalized] * Shape[normalized] : 1);
        return View(new Shape([.. dims]), [.. strides], Offset);
    }

    /// <summary>
    /// A broadcast view with shape <paramref name="shape"/>: axes of size 1 (and new leading axes) repeat with
    /// stride 0. Such a view can be read but not written by kernels.
    /// </summary>
    /// <exception cref="ArgumentException">This shape does not broadcast to <paramref name="shape"/>.</exception>
    public Tensor Expand(Shape shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ThrowIfDisposed();
        if (!Shape.CanBroadcastTo(shape))
        {
            throw new ArgumentException($"Cannot expand {DisplayName} of shape {Shape} to {shape}.", nameof(shape));
        }

        var strides = new long[shape.Rank];
        int leading = shape.Rank - Rank;
        for (int i = 0; i < Rank; i++)
        {
            strides[leading + i] = Shape[i] == shape[leading + i] ? _strides[i] : 0;
        }

        return View(shape, strides, Offset);
    }
}

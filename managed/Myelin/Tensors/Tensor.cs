using Myelin.Native;

namespace Myelin;

/// <summary>
/// An n-dimensional array on a <see cref="Device"/>. A tensor is a view (shape, strides and offset, in
/// elements) of reference-counted storage that views share; the storage is freed when the last tensor
/// using it is disposed, or by the GC if they are all forgotten.
/// </summary>
/// <remarks>
/// Dispose tensors with <c>using</c>, or create them inside a <see cref="TensorScope"/>. Every operation
/// returns a new tensor object that the caller owns, even when it shares storage (a view).
/// </remarks>
public sealed unsafe partial class Tensor : IDisposable
{
    private static long s_nextId;

    private TensorStorage? _storage;
    private readonly long[] _strides;

    private Tensor(TensorStorage storage, Shape shape, long[] strides, long offset, DType dtype, bool ownedByScope)
    {
        _storage = storage;
        Shape = shape;
        _strides = strides;
        Offset = offset;
        DType = dtype;
        ElementSize = dtype.ElementSize();
        Device = storage.Device;
        Id = Interlocked.Increment(ref s_nextId);
        if (ownedByScope)
        {
            TensorScope.Current?.Add(this);
        }
    }

    /// <summary>A number unique to this tensor object in the process, shown in messages.</summary>
    public long Id { get; }

    /// <summary>An optional name, used in messages instead of the id.</summary>
    public string? Name { get; set; }

    /// <summary>Dimensions.</summary>
    public Shape Shape { get; }

    /// <summary>Element type.</summary>
    public DType DType { get; }

    /// <summary>Device holding the storage.</summary>
    public Device Device { get; }

    /// <summary>Number of dimensions.</summary>
    public int Rank => Shape.Rank;

    /// <summary>Number of elements.</summary>
    public long ElementCount => Shape.ElementCount;

    /// <summary>Bytes per element.</summary>
    public int ElementSize { get; }

    /// <summary>Distance, in elements, between neighbours along each axis; 0 on broadcast axes.</summary>
    public ReadOnlySpan<long> Strides => _strides;

    /// <summary>Index, in elements, of the first element within the storage.</summary>
    public long Offset { get; }

    /// <summary>Whether <see cref="Dispose"/> has run.</summary>
    public bool IsDisposed => Volatile.Read(ref _storage) is null;

    /// <summary>Whether elements lie in row-major order without gaps (axes of size 1 may have any stride).</summary>
    public bool IsContiguous
    {
        get
        {
            if (ElementCount == 0)
            {
                return true;
            }

            long expected = 1;
            for (int axis = Rank - 1; axis >= 0; axis--)
            {
                long dim = Shape[axis];
                if (dim != 1 && _strides[axis] != expected)
                {
                    return false;
                }

                expected *= dim;
            }

            return true;
        }
    }

    /// <summary>The scope that disposes this tensor, if any.</summary>
    internal TensorScope? Scope { get; set; }

    /// <summary>Whether another tensor object shares this tensor's storage.</summary>
    internal bool SharesStorageWith(Tensor other) => ReferenceEquals(LiveStorage(), other.LiveStorage());

    /// <summary>Frees the storage once no other view uses it. Safe to call more than once.</summary>
    public void Dispose()
    {
        TensorStorage? storage = Interlocked.Exchange(ref _storage, null);
        if (storage is null)
        {
            return;
        }

        Scope?.Remove(this);
        storage.Release();
    }

    /// <summary>
    /// Moves this tensor to the scope enclosing the one that owns it (or out of all scopes), so it outlives
    /// its scope. Returns this tensor.
    /// </summary>
    public Tensor MoveToOuterScope()
    {
        ThrowIfDisposed();
        Scope?.Keep(this);
        return this;
    }

    /// <summary>The name shown in messages: <see cref="Name"/>, or the id, dtype and shape.</summary>
    public string DisplayName => Name ?? $"tensor #{Id} ({DType.ShortName()} {Shape})";

    internal void ThrowIfDisposed() => LiveStorage();

    private TensorStorage LiveStorage() =>
        Volatile.Read(ref _storage) ?? throw new ObjectDisposedException(DisplayName, $"{DisplayName} has been disposed.");

    /// <summary>Allocates an uninitialized contiguous tensor.</summary>
    internal static Tensor Empty(Shape shape, DType dtype, Device device, bool ownedByScope = true)
    {
        long byteCount;
        try
        {
            byteCount = checked(shape.ElementCount * dtype.ElementSize());
        }
        catch (OverflowException)
        {
            throw new ArgumentException($"A {dtype.ShortName()} tensor of shape {shape} needs more bytes than a 64-bit size can hold.", nameof(shape));
        }

        TensorStorage storage = TensorStorage.Allocate(device, byteCount);
        return new Tensor(storage, shape, shape.ContiguousStrides(), 0, dtype, ownedByScope);
    }

    /// <summary>A new tensor object over this tensor's storage.</summary>
    internal Tensor View(Shape shape, long[] strides, long offset) =>
        new(LiveStorage().AddReference(), shape, strides, offset, DType, ownedByScope: true);

    /// <summary>Address of the first element; valid while this tensor is alive.</summary>
    internal void* DataPointer => (byte*)LiveStorage().Pointer + Offset * ElementSize;

    /// <summary>
    /// The native descriptor of this view. The caller keeps the tensor alive (GC.KeepAlive) until the native
    /// call that reads it returns.
    /// </summary>
    internal TensorDesc Describe()
    {
        var desc = new TensorDesc
        {
            Data = DataPointer,
            DType = DType,
            Rank = Rank,
        };
        for (int axis = 0; axis < Rank; axis++)
        {
            desc.Shape[axis] = Shape[axis];
            desc.Strides[axis] = _strides[axis];
        }

        return desc;
    }
}

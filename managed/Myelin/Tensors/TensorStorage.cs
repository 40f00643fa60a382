namespace Myelin;

/// <summary>
/// Device memory shared by a tensor and its views, freed when the last of them is disposed
/// (or, for forgotten tensors, when the GC finalizes the buffer).
/// </summary>
internal sealed class TensorStorage
{
    private readonly NativeBufferHandle _buffer;
    private int _references = 1;

    private TensorStorage(Device device, NativeBufferHandle buffer)
    {
        Device = device;
        _buffer = buffer;
    }

    public Device Device { get; }

    public long ByteCount => _buffer.ByteCount;

    /// <summary>Start of the memory; valid while a reference is held.</summary>
    public IntPtr Pointer => _buffer.DangerousGetHandle();

    public static TensorStorage Allocate(Device device, long byteCount) =>
        new(device, NativeBufferHandle.Allocate(device, byteCount));

    /// <summary>Adds a reference for a new view.</summary>
    public TensorStorage AddReference()
    {
        int previous;
        do
        {
            previous = Volatile.Read(ref _references);
            // Only a live tensor makes views, so the count cannot be 0 here unless the caller raced a Dispose.
            ObjectDisposedException.ThrowIf(previous == 0, this);
        }
        while (Interlocked.CompareExchange(ref _references, previous + 1, previous) != previous);

        return this;
    }

    /// <summary>Drops a reference; the last one frees the memory.</summary>
    public void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            _buffer.Dispose();
        }
    }
}

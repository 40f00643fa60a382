namespace Myelin;

/// <summary>
/// Tells the GC about native tensor memory so that forgotten tensors are collected before the process
/// runs out of it. Policy: every non-empty allocation on any device is reported while it lives, because
/// an unreachable tensor holds its memory until a collection finalizes it.
/// </summary>
internal static class MemoryPressure
{
    private static long s_reportedBytes;

    /// <summary>Bytes currently reported to the GC.</summary>
    public static long ReportedBytes => Interlocked.Read(ref s_reportedBytes);

    public static void Add(long bytes)
    {
        if (bytes > 0)
        {
            GC.AddMemoryPressure(bytes);
            Interlocked.Add(ref s_reportedBytes, bytes);
        }
    }

    public static void Remove(long bytes)
    {
        if (bytes > 0)
        {
            GC.RemoveMemoryPressure(bytes);
            Interlocked.Add(ref s_reportedBytes, -bytes);
        }
    }

    /// <summary>
    /// Reports the native memory a handle of another kind holds (prepared convolution weights) while the lease lives:
    /// until it is disposed with that handle, or finalized when both are forgotten.
    /// </summary>
    internal sealed class Lease : IDisposable
    {
        private long _bytes;

        public Lease(long bytes)
        {
            _bytes = bytes;
            Add(bytes);
        }

        ~Lease() => Release();

        public void Dispose()
        {
            Release();
            GC.SuppressFinalize(this);
        }

        private void Release() => Remove(Interlocked.Exchange(ref _bytes, 0));
    }
}

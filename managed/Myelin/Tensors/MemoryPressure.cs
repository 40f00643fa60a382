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
}

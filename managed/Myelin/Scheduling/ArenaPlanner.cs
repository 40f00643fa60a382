namespace Myelin.Scheduling;

/// <summary>
/// A buffer to place in the arena: its size and the steps during which it is live (inclusive). A step may be a stage
/// of launches that run concurrently: buffers live in a common step never share memory.
/// </summary>
public sealed record BufferLifetime(int Id, long Bytes, int FirstStep, int LastStep)
{
    /// <summary>Whether the two buffers are live at a common step.</summary>
    public bool Overlaps(BufferLifetime other) => FirstStep <= other.LastStep && other.FirstStep <= LastStep;
}

/// <summary>
/// Static offset assignment: buffers are placed largest first, each into the best-fitting (smallest sufficient)
/// gap between the buffers already placed whose lifetimes overlap it, else above them.
/// </summary>
public static class ArenaPlanner
{
    /// <summary>Alignment of every offset, in bytes (a cache line, and what vector kernels want).</summary>
    public const long Alignment = 64;

    /// <summary>Offsets by buffer id, and the arena size.</summary>
    /// <exception cref="OverflowException">The arena would be larger than 2^63 - 1 bytes.</exception>
    public static (Dictionary<int, long> Offsets, long ArenaBytes) Plan(IReadOnlyList<BufferLifetime> buffers)
    {
        var offsets = new Dictionary<int, long>();
        var placed = new List<(BufferLifetime Buffer, long Offset)>();
        long arena = 0;
        foreach (BufferLifetime buffer in buffers.OrderByDescending(b => b.Bytes).ThenBy(b => b.FirstStep).ThenBy(b => b.Id))
        {
            long size = Align(buffer.Bytes);
            var busy = placed.Where(p => p.Buffer.Overlaps(buffer)).OrderBy(p => p.Offset).ToList();
            long best = -1, bestGap = long.MaxValue, cursor = 0;
            foreach ((BufferLifetime other, long offset) in busy)
            {
                long gap = offset - cursor;
                if (gap >= size && gap < bestGap)
                {
                    best = cursor;
                    bestGap = gap;
                }

                cursor = Math.Max(cursor, checked(offset + Align(other.Bytes)));
            }

            long chosen = best >= 0 ? best : cursor;
            offsets[buffer.Id] = chosen;
            placed.Add((buffer, chosen));
            arena = Math.Max(arena, checked(chosen + size));
        }

        return (offsets, arena);
    }

    /// <summary>Checks that no two buffers live at the same step share bytes (tests and debug use it).</summary>
    public static bool IsValid(IReadOnlyList<BufferLifetime> buffers, IReadOnlyDictionary<int, long> offsets)
    {
        for (int i = 0; i < buffers.Count; i++)
        {
            for (int j = i + 1; j < buffers.Count; j++)
            {
                BufferLifetime a = buffers[i], b = buffers[j];
                if (a.Bytes == 0 || b.Bytes == 0 || !a.Overlaps(b)) continue;
                long ao = offsets[a.Id], bo = offsets[b.Id];
                if (ao < bo + b.Bytes && bo < ao + a.Bytes) return false;
            }
        }

        return true;
    }

    private static long Align(long bytes) => checked(bytes + Alignment - 1) / Alignment * Alignment;
}

namespace Myelin;

/// <summary>A snapshot of one device allocator's counters since the process started.</summary>
/// <param name="LiveBytes">Bytes allocated and not yet freed.</param>
/// <param name="PeakBytes">Highest <paramref name="LiveBytes"/> seen.</param>
/// <param name="LiveAllocations">Allocations not yet freed.</param>
/// <param name="AllocationCount">Successful allocations.</param>
/// <param name="FreeCount">Frees of a non-null pointer.</param>
public readonly record struct MemoryStats(long LiveBytes, long PeakBytes, long LiveAllocations, long AllocationCount, long FreeCount);

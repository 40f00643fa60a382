using Myelin.Execution;
using NUnit.Framework;

namespace Myelin.Tests.TestSupport;

/// <summary>Allocation checks of a compiled graph's runs after warm-up.</summary>
public static class SteadyState
{
    /// <summary>
    /// After 5 warm-up runs, up to three windows of 20 runs, one of which must allocate nothing: no managed bytes on the
    /// calling thread or the inter-op workers, no native allocations. Steady state is what is asserted: which thread
    /// claims which launch, and whether the caller spins or sleeps, vary from run to run, so a one-time lazy allocation
    /// by the runtime on a thread's first such turn can fall inside the first window (seen in CI: 6448 bytes in an
    /// inter-op test, 1232 in a single-threaded training step). A per-run allocation shows in every window.
    /// </summary>
    public static void AssertNoAllocationPerRun(CompiledGraph compiled, Dictionary<string, Tensor> feeds)
    {
        for (int i = 0; i < 5; i++) compiled.Run(feeds);
        (long Managed, long Workers, long Native) allocated = default;
        for (int window = 0; window < 3; window++)
        {
            long native = Device.Cpu.GetMemoryStats().AllocationCount;
            long managed = GC.GetAllocatedBytesForCurrentThread();
            long workers = compiled.WorkerAllocatedBytes;
            for (int i = 0; i < 20; i++) compiled.Run(feeds);
            allocated = (GC.GetAllocatedBytesForCurrentThread() - managed, compiled.WorkerAllocatedBytes - workers,
                Device.Cpu.GetMemoryStats().AllocationCount - native);
            if (allocated == default) return;
            TestContext.Out.WriteLine($"window {window}: {allocated}");
        }

        Assert.That(allocated.Managed, Is.Zero, "managed bytes on the calling thread over 20 runs, in each of 3 windows");
        Assert.That(allocated.Workers, Is.Zero, "managed bytes on the inter-op workers over 20 runs, in each of 3 windows");
        Assert.That(allocated.Native, Is.Zero, "native allocations over 20 runs, in each of 3 windows");
    }
}

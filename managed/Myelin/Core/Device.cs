using Myelin.Native;

namespace Myelin;

/// <summary>
/// A compute device (the CPU or a CUDA GPU) that owns memory and runs kernels.
/// </summary>
/// <remarks>
/// <see cref="Cpu"/> is shared by the whole process and is never closed: disposing it does nothing.
/// A device opened with <see cref="Open"/> is closed by <see cref="Dispose"/> once no tensor uses it any
/// more (tensors hold a reference to the native handle).
/// </remarks>
public sealed unsafe class Device : IDisposable
{
    private static readonly Lazy<Device> s_cpu = new(() => OpenCore(DeviceKind.Cpu, 0, isShared: true));

    private readonly bool _isShared;

    private Device(DeviceHandle handle, DeviceKind kind, int ordinal, string name, bool isShared)
    {
        Handle = handle;
        Kind = kind;
        Ordinal = ordinal;
        Name = name;
        _isShared = isShared;
    }

    /// <summary>The CPU: the default device of every tensor factory, shared by the process.</summary>
    public static Device Cpu => s_cpu.Value;

    /// <summary>Kind of the device.</summary>
    public DeviceKind Kind { get; }

    /// <summary>Index among devices of the same kind.</summary>
    public int Ordinal { get; }

    /// <summary>Human-readable name, such as <c>cpu:0</c>.</summary>
    public string Name { get; }

    /// <summary>The native handle, for calls through <see cref="NativeMethods"/>.</summary>
    public DeviceHandle Handle { get; }

    /// <summary>Number of devices of <paramref name="kind"/>: 1 for the CPU, 0 for CUDA without a driver or GPU.</summary>
    public static int Count(DeviceKind kind)
    {
        Runtime.EnsureLoaded();
        int count;
        NativeMethods.Check(NativeMethods.DeviceCount(kind, &count));
        return count;
    }

    /// <summary>Opens device <paramref name="ordinal"/> of <paramref name="kind"/>.</summary>
    /// <exception cref="MyelinException">No such device, or it failed to start.</exception>
    public static Device Open(DeviceKind kind, int ordinal = 0) => OpenCore(kind, ordinal, isShared: false);

    private static Device OpenCore(DeviceKind kind, int ordinal, bool isShared)
    {
        Runtime.EnsureLoaded();
        NativeMethods.Check(NativeMethods.DeviceCreate(kind, ordinal, out DeviceHandle handle));
        byte* name;
        NativeMethods.Check(NativeMethods.DeviceGetName(handle, &name));
        return new Device(handle, kind, ordinal, NativeMethods.ToManagedString(name), isShared);
    }

    /// <summary>
    /// Threads the device's kernels use. On the CPU this is the process-wide pool; setting 0 restores the
    /// default (the number of physical cores).
    /// </summary>
    public int ThreadCount
    {
        get
        {
            int count;
            NativeMethods.Check(NativeMethods.DeviceGetThreadCount(Handle, &count));
            return count;
        }
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            NativeMethods.Check(NativeMethods.DeviceSetThreadCount(Handle, value));
        }
    }

    /// <summary>Whether the device implements <paramref name="kernel"/> for <paramref name="dtype"/>.</summary>
    public bool Supports(Kernel kernel, DType dtype)
    {
        int supported;
        NativeMethods.Check(NativeMethods.DeviceSupports(Handle, kernel, dtype, &supported));
        return supported != 0;
    }

    /// <summary>Waits for all work issued to the device.</summary>
    public void Synchronize() => NativeMethods.Check(NativeMethods.DeviceSynchronize(Handle));

    /// <summary>A snapshot of the device allocator's counters.</summary>
    public MemoryStats GetMemoryStats()
    {
        Native.MemoryStats stats;
        NativeMethods.Check(NativeMethods.MemoryGetStats(Handle, &stats));
        return new MemoryStats(stats.LiveBytes, stats.PeakBytes, stats.LiveAllocations, stats.AllocationCount, stats.FreeCount);
    }

    /// <summary>Closes the device once no tensor uses it; does nothing for the shared <see cref="Cpu"/>.</summary>
    public void Dispose()
    {
        if (!_isShared)
        {
            Handle.Dispose();
        }
    }

    /// <summary>The device name.</summary>
    public override string ToString() => Name;
}

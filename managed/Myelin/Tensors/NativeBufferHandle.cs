using System.Runtime.InteropServices;
using Myelin.Native;

namespace Myelin;

/// <summary>
/// Owns one block from <c>mln_memory_alloc</c>. Being a SafeHandle, its release runs as a critical
/// finalizer when a tensor is forgotten, and at most once.
/// </summary>
internal sealed unsafe class NativeBufferHandle : SafeHandle
{
    private readonly DeviceHandle _device;

    private NativeBufferHandle(DeviceHandle device, long byteCount) : base(IntPtr.Zero, ownsHandle: true)
    {
        _device = device;
        ByteCount = byteCount;
    }

    public long ByteCount { get; }

    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>Allocates <paramref name="byteCount"/> bytes (64-byte aligned, uninitialized) on <paramref name="device"/>.</summary>
    public static NativeBufferHandle Allocate(Device device, long byteCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(byteCount);
        var buffer = new NativeBufferHandle(device.Handle, byteCount);
        // The device must outlive the memory: hold a reference on its handle until ReleaseHandle.
        bool deviceReferenced = false;
        device.Handle.DangerousAddRef(ref deviceReferenced);
        void* pointer;
        Status status = NativeMethods.MemoryAlloc(device.Handle, (nuint)byteCount, &pointer);
        if (status != Status.Ok)
        {
            device.Handle.DangerousRelease();
            NativeMethods.Check(status);
        }

        buffer.SetHandle((IntPtr)pointer);
        MemoryPressure.Add(byteCount);
        return buffer;
    }

    protected override bool ReleaseHandle()
    {
        NativeMethods.MemoryFree(_device, (void*)handle);
        MemoryPressure.Remove(ByteCount);
        _device.DangerousRelease();
        return true;
    }
}

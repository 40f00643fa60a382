using System.Runtime.InteropServices;

namespace Myelin.Native;

/// <summary>An <c>mln_device*</c>; disposing it calls <c>mln_device_destroy</c>.</summary>
public sealed class DeviceHandle : SafeHandle
{
    /// <summary>An invalid handle; the marshaller of <c>out DeviceHandle</c> creates it and then sets it.</summary>
    public DeviceHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    /// <inheritdoc />
    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        NativeMethods.DeviceDestroy(handle);
        return true;
    }
}

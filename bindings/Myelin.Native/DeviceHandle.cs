using Microsoft.Win32.SafeHandles;

namespace Myelin.Native;

/// <summary>An <c>mln_device*</c>; disposing it calls <c>mln_device_destroy</c>.</summary>
public sealed class DeviceHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    /// <summary>An invalid handle; the marshaller of <c>out DeviceHandle</c> creates it and then sets it.</summary>
    public DeviceHandle()
        : base(ownsHandle: true)
    {
    }

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        NativeMethods.DeviceDestroy(handle);
        return true;
    }
}

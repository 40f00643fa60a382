using System.Runtime.InteropServices;

namespace Myelin.Native;

/// <summary>
/// Owns an <c>mln_conv_weights</c>: convolution filters prepared once (packed into the forward kernel's layout where one
/// pays) for <c>mln_conv_forward_prepared</c>. Releasing it frees the native copy.
/// </summary>
public sealed class ConvWeightsHandle : SafeHandle
{
    /// <summary>An invalid handle; the marshaller of <c>out ConvWeightsHandle</c> creates it and then sets it.</summary>
    public ConvWeightsHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    /// <inheritdoc />
    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        NativeMethods.ConvWeightsDestroy(handle);
        return true;
    }
}

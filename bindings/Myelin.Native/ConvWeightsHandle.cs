using Microsoft.Win32.SafeHandles;

namespace Myelin.Native;

/// <summary>
/// Owns an <c>mln_conv_weights</c>: convolution filters prepared once (packed into the forward kernel's layout where one
/// pays) for <c>mln_conv_forward_prepared</c>. Releasing it frees the native copy.
/// </summary>
public sealed class ConvWeightsHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    /// <summary>An invalid handle; the marshaller of <c>out ConvWeightsHandle</c> creates it and then sets it.</summary>
    public ConvWeightsHandle()
        : base(ownsHandle: true)
    {
    }

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        NativeMethods.ConvWeightsDestroy(handle);
        return true;
    }
}

using NUnit.Framework;

namespace Myelin.Tests.Core;

public class BFloat16Tests
{
    [Test]
    public void RoundsToNearestEven()
    {
        // 1 + 2^-8 lies halfway between 1 and 1 + 2^-7: ties go to the even mantissa, 1.
        Assert.That((float)(BFloat16)(1f + 1f / 256), Is.EqualTo(1f));
        // 1 + 3 * 2^-8 lies halfway between 1 + 2^-7 and 1 + 2^-6: ties go to 1 + 2^-6.
        Assert.That((float)(BFloat16)(1f + 3f / 256), Is.EqualTo(1f + 1f / 64));
        Assert.That((float)(BFloat16)(1f + 1.5f / 256), Is.EqualTo(1f + 1f / 128));
    }

    [Test]
    public void KeepsSpecialValues()
    {
        Assert.That(float.IsNaN((BFloat16)float.NaN), Is.True);
        Assert.That((float)(BFloat16)float.PositiveInfinity, Is.EqualTo(float.PositiveInfinity));
        Assert.That((BFloat16)(-2f), Is.EqualTo(BFloat16.FromBits(0xC000)));
        Assert.That(((BFloat16)0.5f).ToString(), Is.EqualTo("0.5"));
    }
}

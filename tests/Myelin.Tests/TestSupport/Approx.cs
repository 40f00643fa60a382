using NUnit.Framework;

namespace Myelin.Tests.TestSupport;

/// <summary>Elementwise comparison with absolute plus relative tolerance that names the first bad element.</summary>
internal static class Approx
{
    public static void AssertClose(float[] actual, double[] expected, double absolute = 1e-5, double relative = 1e-5) =>
        AssertClose(Reference.ToDouble(actual), expected, absolute, relative);

    public static void AssertClose(double[] actual, double[] expected, double absolute = 1e-12, double relative = 1e-12)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), "element count");
        for (int i = 0; i < actual.Length; i++)
        {
            double a = actual[i], e = expected[i];
            bool bothNaN = double.IsNaN(a) && double.IsNaN(e);
            bool sameInfinity = double.IsInfinity(e) && a == e;
            if (!bothNaN && !sameInfinity && !(Math.Abs(a - e) <= absolute + relative * Math.Abs(e)))
            {
                Assert.Fail($"element {i}: expected {e:R} but got {a:R} (tolerance {absolute} + {relative} * |expected|)");
            }
        }
    }
}

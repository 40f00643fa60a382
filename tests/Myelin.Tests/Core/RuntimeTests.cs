using Myelin.Native;
using NUnit.Framework;

namespace Myelin.Tests.Core;

public class RuntimeTests
{
    [Test]
    public void ReportsVersionsAndTheLoadedLibrary()
    {
        Assert.That(Runtime.NativeVersion, Does.Match(@"^\d+\.\d+\.\d+"));
        Assert.That(Runtime.Version, Does.Match(@"^\d+\.\d+\.\d+$"));
        Assert.That(Runtime.AbiVersion, Is.EqualTo(NativeMethods.AbiVersion));
        Assert.That(File.Exists(Runtime.LibraryPath), Is.True, Runtime.LibraryPath);
    }

    [Test]
    public void ReportsTheCpu()
    {
        Assert.That(Runtime.PhysicalCoreCount, Is.GreaterThanOrEqualTo(1));
        Assert.That(Runtime.CpuName, Is.Not.Null);
        IReadOnlyList<string> names = Runtime.CpuFeatureNames;
        Assert.That(names, Is.Unique);
        Assert.That(names.All(name => name == name.ToLowerInvariant()), Is.True, string.Join(" ", names));
        Assert.That(names.Contains("avx2"), Is.EqualTo(Runtime.CpuFeatures.HasFlag(CpuFeatures.Avx2)));
        Assert.That(names.Contains("sse4.2"), Is.EqualTo(Runtime.CpuFeatures.HasFlag(CpuFeatures.Sse42)));
        if (Runtime.Isa is Isa.Avx2 or Isa.Avx512)
        {
            Assert.That(Runtime.CpuFeatures.HasFlag(CpuFeatures.Avx2 | CpuFeatures.Fma), Is.True);
        }

        if (Runtime.Isa == Isa.Avx512)
        {
            Assert.That(Runtime.CpuFeatures.HasFlag(CpuFeatures.Avx512F | CpuFeatures.Avx512Bw | CpuFeatures.Avx512Vl | CpuFeatures.Avx512Dq), Is.True);
            Assert.That(names, Does.Contain("avx512dq"));
        }
    }

    [Test]
    public void ScalarIsaCanBeSelectedAndRestored()
    {
        Isa original = Runtime.Isa;
        try
        {
            Runtime.SetIsa(Isa.Scalar);
            Assert.That(Runtime.Isa, Is.EqualTo(Isa.Scalar));
        }
        finally
        {
            Runtime.SetIsa(original);
        }

        Assert.That(Runtime.Isa, Is.EqualTo(original));
    }

    [TestCase(DType.F32, 4)]
    [TestCase(DType.F64, 8)]
    [TestCase(DType.F16, 2)]
    [TestCase(DType.Bf16, 2)]
    [TestCase(DType.I64, 8)]
    [TestCase(DType.I32, 4)]
    [TestCase(DType.U8, 1)]
    [TestCase(DType.I8, 1)]
    [TestCase(DType.Bool, 1)]
    public void ElementSizeComesFromTheNativeLibrary(DType dtype, int bytes)
    {
        Assert.That(dtype.ElementSize(), Is.EqualTo(bytes));
    }

    [Test]
    public void DTypeHelpersClassifyAndName()
    {
        Assert.That(DType.Bf16.IsFloatingPoint(), Is.True);
        Assert.That(DType.I32.IsFloatingPoint(), Is.False);
        Assert.That(DType.U8.IsInteger(), Is.True);
        Assert.That(DType.Bool.IsInteger(), Is.False);
        Assert.That(DType.F32.ShortName(), Is.EqualTo("f32"));
        Assert.That(() => ((DType)99).ElementSize(), Throws.TypeOf<ArgumentOutOfRangeException>());
    }
}

using Myelin.Bindings.Generator;
using NUnit.Framework;

namespace Myelin.Tests.Bindings;

[TestFixture]
public sealed class NamingTests
{
    [TestCase("AVX512F", "Avx512F")]
    [TestCase("SSE4_2", "Sse42")]
    [TestCase("F16C", "F16C")]
    [TestCase("dtype", "DType")]
    [TestCase("dtype_size", "DTypeSize")]
    [TestCase("device_get_thread_count", "DeviceGetThreadCount")]
    [TestCase("INVALID_ARGUMENT", "InvalidArgument")]
    public void Pascal(string snake, string expected) => Assert.That(Naming.Pascal(snake), Is.EqualTo(expected));

    [TestCase("out_count", "outCount")]
    [TestCase("dtype", "dType")]
    [TestCase("transpose_a", "transposeA")]
    [TestCase("object", "@object")]
    [TestCase("out", "@out")]
    public void Camel(string snake, string expected) => Assert.That(Naming.Camel(snake), Is.EqualTo(expected));

    [TestCase("mln_device", "DeviceHandle")]
    [TestCase("mln_memory_pool", "MemoryPoolHandle")]
    public void Handle(string cName, string expected) => Assert.That(Naming.Handle(cName), Is.EqualTo(expected));
}

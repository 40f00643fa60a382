using System.Text;
using Myelin.Native;
using NUnit.Framework;

namespace Myelin.Tests.Bindings;

[TestFixture]
public sealed unsafe class NativeMethodsTests
{
    [Test]
    public void CheckAcceptsOk() => Assert.DoesNotThrow(() => NativeMethods.Check(Status.Ok));

    [TestCase(DeviceKind.Cpu, 12345)]
    [TestCase((DeviceKind)99, 0)]
    public void CheckThrowsWithTheMessageOfARealFailure(DeviceKind kind, int ordinal)
    {
        NativeLibraryLoader.EnsureLoaded();

        Status status = NativeMethods.DeviceCreate(kind, ordinal, out DeviceHandle device);
        var error = Assert.Throws<MyelinException>(() => NativeMethods.Check(status));

        Assert.That(status, Is.Not.EqualTo(Status.Ok));
        Assert.That(error!.Status, Is.EqualTo(status));
        Assert.That(error.Message, Does.Contain("mln_device_create"), "myelin.h: the message names the function");
        Assert.That(device.IsInvalid, Is.True, "out-parameters are untouched on failure");
        device.Dispose();
    }

    [Test]
    public void CheckSaysSoWhenTheLibraryGaveNoMessage()
    {
        NativeLibraryLoader.EnsureLoaded();
        MyelinException? error = null;

        // A fresh thread has had no failed call, so mln_last_error() is "" there.
        var thread = new Thread(() => error = NativeMethods.Failure(Status.Internal));
        thread.Start();
        thread.Join();

        Assert.That(error!.Status, Is.EqualTo(Status.Internal));
        Assert.That(error.Message, Does.Contain("Internal").And.Contain("no message"));
    }

    [Test]
    public void DeviceHandleOwnsTheDevice()
    {
        NativeLibraryLoader.EnsureLoaded();

        NativeMethods.Check(NativeMethods.DeviceCreate(DeviceKind.Cpu, 0, out DeviceHandle device));
        byte* name;
        NativeMethods.Check(NativeMethods.DeviceGetName(device, &name));

        Assert.That(device.IsInvalid, Is.False);
        Assert.That(NativeMethods.ToManagedString(name), Does.StartWith("cpu"));
        device.Dispose();
        Assert.That(device.IsClosed, Is.True);
    }

    [Test]
    public void ToManagedStringDecodesUtf8AndNull()
    {
        byte[] utf8 = Encoding.UTF8.GetBytes("héllo\0");
        fixed (byte* text = utf8)
        {
            Assert.That(NativeMethods.ToManagedString(text), Is.EqualTo("héllo"));
        }

        Assert.That(NativeMethods.ToManagedString(null), Is.EqualTo(string.Empty));
    }

    [Test]
    public void GeneratedStructsMatchTheNativeLayout()
    {
        Assume.That(IntPtr.Size, Is.EqualTo(8), "the sizes below are those of 64-bit targets");

        // mln_tensor_desc: data pointer, dtype, rank, then two int64 arrays of MLN_MAX_RANK.
        Assert.That(sizeof(TensorDesc), Is.EqualTo(8 + 4 + 4 + 2 * 8 * NativeMethods.MaxRank));
        Assert.That(sizeof(MemoryStats), Is.EqualTo(5 * 8));
    }
}

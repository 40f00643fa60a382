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
    public void ConvWeightsHandleOwnsThePreparedWeights()
    {
        NativeLibraryLoader.EnsureLoaded();
        NativeMethods.Check(NativeMethods.DeviceCreate(DeviceKind.Cpu, 0, out DeviceHandle device));
        float[] x = [.. Enumerable.Range(0, 2 * 3 * 5 * 5).Select(i => (float)Math.Sin(i))];
        float[] w = [.. Enumerable.Range(0, 4 * 3 * 3 * 3).Select(i => (float)Math.Cos(i))];
        float[] y = new float[2 * 4 * 5 * 5], yPlain = new float[y.Length];
        var p = new ConvParams { SpatialRank = 2, Groups = 1 };
        for (int i = 0; i < 2; i++)
        {
            p.Strides[i] = 1;
            p.Dilations[i] = 1;
            p.PadsBegin[i] = 1;
            p.PadsEnd[i] = 1;
        }

        fixed (float* xData = x, wData = w, yData = y, yPlainData = yPlain)
        {
            TensorDesc xDesc = Describe(xData, 2, 3, 5, 5), wDesc = Describe(wData, 4, 3, 3, 3);
            TensorDesc yDesc = Describe(yData, 2, 4, 5, 5), yPlainDesc = Describe(yPlainData, 2, 4, 5, 5);
            NativeMethods.Check(NativeMethods.ConvWeightsCreate(device, &p, &xDesc, &wDesc, out ConvWeightsHandle weights));
            Assert.That(weights.IsInvalid, Is.False);
            NativeMethods.Check(NativeMethods.ConvForward(device, &p, &xDesc, &wDesc, null, UnaryOp.Relu, null, &yPlainDesc));
            Array.Fill(w, float.NaN);  // the handle keeps its own copy
            NativeMethods.Check(NativeMethods.ConvForwardPrepared(device, weights, &xDesc, null, UnaryOp.Relu, null, &yDesc));
            Assert.That(y, Is.EqualTo(yPlain).Within(1e-5f));

            // Another input shape than prepared for is refused, naming both.
            TensorDesc xOther = Describe(xData, 1, 3, 5, 5), yOther = Describe(yData, 1, 4, 5, 5);
            Status mismatch = NativeMethods.ConvForwardPrepared(device, weights, &xOther, null, UnaryOp.Identity, null, &yOther);
            var error = Assert.Throws<MyelinException>(() => NativeMethods.Check(mismatch));
            Assert.That(error!.Message, Does.Contain("1x3x5x5").And.Contain("prepared for x 2x3x5x5"));

            weights.Dispose();
            Assert.That(weights.IsClosed, Is.True);
            TensorDesc* xPointer = &xDesc, yPointer = &yDesc;
            Assert.Throws<ObjectDisposedException>(() => NativeMethods.ConvForwardPrepared(device, weights, xPointer, null, UnaryOp.Identity, null, yPointer));
        }

        device.Dispose();
    }

    private static TensorDesc Describe(float* data, params long[] shape)
    {
        var desc = new TensorDesc { Data = data, DType = DType.F32, Rank = shape.Length };
        long stride = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            desc.Shape[i] = shape[i];
            desc.Strides[i] = stride;
            stride *= shape[i];
        }

        return desc;
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

using NUnit.Framework;

namespace Myelin.Tests.Core;

public class DeviceTests
{
    [Test]
    public void CpuIsOneSharedDevice()
    {
        Assert.That(Device.Count(DeviceKind.Cpu), Is.EqualTo(1));
        Assert.That(Device.Cpu, Is.SameAs(Device.Cpu));
        Assert.That(Device.Cpu.Kind, Is.EqualTo(DeviceKind.Cpu));
        Assert.That(Device.Cpu.Name, Is.EqualTo("cpu:0"));
        Assert.That(Device.Count(DeviceKind.Cuda), Is.GreaterThanOrEqualTo(0));
    }

    [Test]
    public void DisposingTheSharedCpuDoesNotCloseIt()
    {
        Device.Cpu.Dispose();
        Assert.That(Device.Cpu.ThreadCount, Is.GreaterThanOrEqualTo(1));
    }

    [Test]
    public void ThreadCountCanBeSetAndRestoredToTheDefault()
    {
        int original = Device.Cpu.ThreadCount;
        try
        {
            Device.Cpu.ThreadCount = 1;
            Assert.That(Device.Cpu.ThreadCount, Is.EqualTo(1));
            Device.Cpu.ThreadCount = 0;
            Assert.That(Device.Cpu.ThreadCount, Is.EqualTo(Runtime.PhysicalCoreCount));
        }
        finally
        {
            Device.Cpu.ThreadCount = original;
        }

        Assert.That(() => Device.Cpu.ThreadCount = -1, Throws.TypeOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void CpuSupportsTheBasicKernelsForF32()
    {
        foreach (Kernel kernel in Enum.GetValues<Kernel>())
        {
            Assert.That(Device.Cpu.Supports(kernel, DType.F32), Is.True, kernel.ToString());
        }

        Assert.That(() => Device.Cpu.Synchronize(), Throws.Nothing);
    }

    [Test]
    public void AnOpenedCpuDeviceSharesTheAllocatorAndOutlivesDisposeWhileTensorsUseIt()
    {
        Device device = Device.Open(DeviceKind.Cpu);
        Tensor tensor = Tensor.Full([3], 2, device: device);
        device.Dispose();
        Assert.That(tensor.ToArray<float>(), Is.EqualTo(new[] { 2f, 2f, 2f }));
        using (new TensorScope())
        {
            Assert.That((tensor + Tensor.Ones([3])).ToArray<float>(), Is.EqualTo(new[] { 3f, 3f, 3f }));
        }

        tensor.Dispose();
    }

    [Test]
    public void OpeningAMissingDeviceThrowsMyelinException()
    {
        Assert.That(() => Device.Open(DeviceKind.Cpu, 5), Throws.TypeOf<MyelinException>());
    }

    [Test]
    public void MemoryStatsCountAllocations()
    {
        MemoryStats before = Device.Cpu.GetMemoryStats();
        using (Tensor.Zeros([256], DType.F64))
        {
            MemoryStats during = Device.Cpu.GetMemoryStats();
            Assert.That(during.AllocationCount, Is.GreaterThan(before.AllocationCount));
            Assert.That(during.PeakBytes, Is.GreaterThanOrEqualTo(during.LiveBytes));
            Assert.That(during.LiveBytes, Is.GreaterThanOrEqualTo(2048));
        }

        Assert.That(Device.Cpu.GetMemoryStats().FreeCount, Is.GreaterThan(before.FreeCount));
    }
}

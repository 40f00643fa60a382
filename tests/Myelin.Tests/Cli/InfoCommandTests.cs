using System.Text.Json;
using NUnit.Framework;

namespace Myelin.Tests.Cli;

public class InfoCommandTests
{
    [Test]
    public void JsonLastLineDescribesTheRuntime()
    {
        (int exitCode, string output, string error) = CliRunner.Run("info", "--json");
        Assert.That(exitCode, Is.Zero, error);
        JsonElement info = CliRunner.LastLineJson(output);
        Assert.That(info.GetProperty("version").GetString(), Is.EqualTo(Runtime.Version));
        Assert.That(info.GetProperty("native_version").GetString(), Is.EqualTo(Runtime.NativeVersion));
        Assert.That(info.GetProperty("abi_version").GetInt32(), Is.EqualTo(Runtime.AbiVersion));
        Assert.That(info.GetProperty("library_path").GetString(), Is.EqualTo(Runtime.LibraryPath));
        JsonElement cpu = info.GetProperty("cpu");
        Assert.That(cpu.GetProperty("name").GetString(), Is.EqualTo(Runtime.CpuName));
        Assert.That(cpu.GetProperty("features").EnumerateArray().Select(f => f.GetString()), Is.EqualTo(Runtime.CpuFeatureNames));
        Assert.That(cpu.GetProperty("isa").GetString(), Is.EqualTo(Runtime.Isa.ToString().ToLowerInvariant()));
        Assert.That(cpu.GetProperty("physical_cores").GetInt32(), Is.EqualTo(Runtime.PhysicalCoreCount));
        Assert.That(info.GetProperty("threads").GetInt32(), Is.EqualTo(Device.Cpu.ThreadCount));
        JsonElement firstDevice = info.GetProperty("devices")[0];
        Assert.That(firstDevice.GetProperty("kind").GetString(), Is.EqualTo("cpu"));
        Assert.That(firstDevice.GetProperty("name").GetString(), Is.EqualTo("cpu:0"));
        Assert.That(info.GetProperty("devices").GetArrayLength(), Is.EqualTo(1 + Device.Count(DeviceKind.Cuda)));
    }

    [Test]
    public void TableNamesEachFact()
    {
        (int exitCode, string output, _) = CliRunner.Run("info");
        Assert.That(exitCode, Is.Zero);
        Assert.That(output, Does.Contain("Native version").And.Contain(Runtime.NativeVersion)
            .And.Contain("ISA in use").And.Contain("cpu:0 (cpu)").And.Contain(Runtime.LibraryPath));
        Assert.That(output, Does.Not.Contain("{"));
    }
}

using System.Text.Json;
using Myelin;
using NUnit.Framework;

namespace Myelin.Tests.Cli;

public class BenchCommandTests
{
    [Test]
    public void GemmJsonReportsEachShape()
    {
        int threadsBefore = Device.Cpu.ThreadCount;
        (int exitCode, string output, string error) = CliRunner.Run("bench", "gemm", "--shapes", "8x8x8,16x4x2", "--threads", "1", "--min-seconds", "0.05", "--json");
        Assert.That(exitCode, Is.Zero, error);
        JsonElement report = CliRunner.LastLineJson(output);
        Assert.That(report.GetProperty("benchmark").GetString(), Is.EqualTo("gemm"));
        Assert.That(report.GetProperty("threads").GetInt32(), Is.EqualTo(1));
        JsonElement[] results = report.GetProperty("results").EnumerateArray().ToArray();
        Assert.That(results, Has.Length.EqualTo(2));
        Assert.That(results[1].GetProperty("m").GetInt64(), Is.EqualTo(16));
        Assert.That(results[1].GetProperty("n").GetInt64(), Is.EqualTo(4));
        Assert.That(results[1].GetProperty("k").GetInt64(), Is.EqualTo(2));
        foreach (JsonElement result in results)
        {
            double gflops = result.GetProperty("gflops").GetDouble();
            Assert.That(gflops, Is.GreaterThan(0));
            Assert.That(gflops, Is.GreaterThanOrEqualTo(result.GetProperty("median_gflops").GetDouble()));
            Assert.That(result.GetProperty("repetitions").GetInt32(), Is.GreaterThanOrEqualTo(1));
        }

        Assert.That(Device.Cpu.ThreadCount, Is.EqualTo(threadsBefore), "the thread count is restored");
    }

    [Test]
    public void GemmDefaultIsAHumanReadableLinePerShape()
    {
        (int exitCode, string output, _) = CliRunner.Run("bench", "gemm", "--shapes", "8x8x8", "--min-seconds", "0");
        Assert.That(exitCode, Is.Zero);
        Assert.That(output, Does.Contain("8x8x8").And.Contain("GFLOP/s"));
    }

    [TestCase("8x8")]
    [TestCase("8x8x0")]
    [TestCase("8xAx8")]
    [TestCase("-8x8x8")]
    public void BadShapeExitsWithOneAndNamesTheToken(string badToken)
    {
        (int exitCode, _, string error) = CliRunner.Run("bench", "gemm", "--shapes", $"4x4x4,{badToken}", "--json");
        Assert.That(exitCode, Is.EqualTo(1));
        Assert.That(error, Does.Contain($"'{badToken}'").And.Contain("MxNxK"));
    }

    [Test]
    public void NonPositiveThreadCountIsAParseError()
    {
        (int exitCode, _, string error) = CliRunner.Run("bench", "gemm", "--shapes", "4x4x4", "--threads", "0");
        Assert.That(exitCode, Is.EqualTo(1));
        Assert.That(error, Does.Contain("--threads"));
    }

    [Test]
    public void EltwiseJsonReportsEachOpAgainstItsBaseline()
    {
        Isa before = Runtime.Isa;
        (int exitCode, string output, string error) = CliRunner.Run("bench", "eltwise", "--ops", "relu, Add,gelu,tanh_backward", "--elements", "4096",
            "--threads", "1", "--isa", "scalar", "--min-seconds", "0", "--json");
        Assert.That(exitCode, Is.Zero, error);
        JsonElement report = CliRunner.LastLineJson(output);
        Assert.That(report.GetProperty("benchmark").GetString(), Is.EqualTo("eltwise"));
        Assert.That(report.GetProperty("elements").GetInt64(), Is.EqualTo(4096));
        Assert.That(report.GetProperty("isa").GetString(), Is.EqualTo("scalar"));
        JsonElement[] results = report.GetProperty("results").EnumerateArray().ToArray();
        Assert.That(results.Select(r => r.GetProperty("op").GetString()), Is.EqualTo(new[] { "relu", "add", "gelu", "tanh_backward" }));
        // Unary forward moves two streams (as a copy), binary and backward three (as STREAM's add).
        Assert.That(results.Select(r => r.GetProperty("baseline").GetString()), Is.EqualTo(new[] { "copy", "add", "copy", "add" }));
        foreach (JsonElement result in results)
        {
            double gbps = result.GetProperty("gbps").GetDouble();
            double baseline = result.GetProperty("baseline_gbps").GetDouble();
            Assert.That(gbps, Is.GreaterThan(0));
            Assert.That(baseline, Is.GreaterThan(0));
            // Both rates are printed to 0.01 GB/s and the fraction to 0.001, so the ratio of the printed rates may be off by that rounding.
            double ratio = gbps / baseline, rounding = ratio * (0.005 / gbps + 0.005 / baseline) + 0.0005;
            Assert.That(result.GetProperty("fraction").GetDouble(), Is.EqualTo(ratio).Within(rounding * 1.01));
        }

        // The run is in-process: the ISA it selected is undone.
        Assert.That(Runtime.Isa, Is.EqualTo(before));
    }

    [Test]
    public void EltwiseParameterizedOpsTakeAlphaAndBeta()
    {
        // celu divides by alpha: the default alpha (1) runs it, forward and backward; alpha 0 is refused by name.
        (int exitCode, string output, string error) = CliRunner.Run("bench", "eltwise", "--ops", "celu,celu_backward,selu", "--elements", "64",
            "--threads", "1", "--min-seconds", "0", "--json");
        Assert.That(exitCode, Is.Zero, error);
        JsonElement[] results = CliRunner.LastLineJson(output).GetProperty("results").EnumerateArray().ToArray();
        Assert.That(results.Select(r => r.GetProperty("op").GetString()), Is.EqualTo(new[] { "celu", "celu_backward", "selu" }));

        (exitCode, _, error) = CliRunner.Run("bench", "eltwise", "--ops", "celu", "--elements", "64", "--alpha", "0", "--min-seconds", "0");
        Assert.That(exitCode, Is.EqualTo(1));
        Assert.That(error, Does.Contain("alpha"));
    }

    [Test]
    public void EltwiseUnknownIsaIsNamedInTheError()
    {
        (int exitCode, _, string error) = CliRunner.Run("bench", "eltwise", "--ops", "relu", "--elements", "16", "--isa", "sse9");
        Assert.That(exitCode, Is.EqualTo(1));
        Assert.That(error, Does.Contain("'sse9'").And.Contain("Avx512"));
    }

    [Test]
    public void EltwiseUnknownOpIsNamedInTheError()
    {
        (int exitCode, _, string error) = CliRunner.Run("bench", "eltwise", "--ops", "relu,frobnicate", "--elements", "16");
        Assert.That(exitCode, Is.EqualTo(1));
        Assert.That(error, Does.Contain("'frobnicate'").And.Contain("Relu"));
    }
}

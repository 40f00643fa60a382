using System.Text.Json;
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
    public void EltwiseJsonReportsEachOpAgainstTheCopyBaseline()
    {
        (int exitCode, string output, string error) = CliRunner.Run("bench", "eltwise", "--ops", "relu, Add,gelu", "--elements", "4096", "--threads", "1", "--min-seconds", "0", "--json");
        Assert.That(exitCode, Is.Zero, error);
        JsonElement report = CliRunner.LastLineJson(output);
        Assert.That(report.GetProperty("benchmark").GetString(), Is.EqualTo("eltwise"));
        Assert.That(report.GetProperty("elements").GetInt64(), Is.EqualTo(4096));
        double copy = report.GetProperty("copy_gbps").GetDouble();
        Assert.That(copy, Is.GreaterThan(0));
        JsonElement[] results = report.GetProperty("results").EnumerateArray().ToArray();
        Assert.That(results.Select(r => r.GetProperty("op").GetString()), Is.EqualTo(new[] { "relu", "add", "gelu" }));
        foreach (JsonElement result in results)
        {
            double gbps = result.GetProperty("gbps").GetDouble();
            Assert.That(gbps, Is.GreaterThan(0));
            // Both rates are printed to 0.01 GB/s and the fraction to 0.001, so the ratio of the printed rates may be off by that rounding.
            double ratio = gbps / copy, rounding = ratio * (0.005 / gbps + 0.005 / copy) + 0.0005;
            Assert.That(result.GetProperty("fraction_of_copy").GetDouble(), Is.EqualTo(ratio).Within(rounding * 1.01));
        }
    }

    [Test]
    public void EltwiseUnknownOpIsNamedInTheError()
    {
        (int exitCode, _, string error) = CliRunner.Run("bench", "eltwise", "--ops", "relu,frobnicate", "--elements", "16");
        Assert.That(exitCode, Is.EqualTo(1));
        Assert.That(error, Does.Contain("'frobnicate'").And.Contain("Relu"));
    }
}

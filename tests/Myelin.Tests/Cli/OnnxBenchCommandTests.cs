using System.Text.Json;
using Myelin.Tests.TestSupport;
using NUnit.Framework;

namespace Myelin.Tests.Cli;

/// <summary><c>myelin bench onnx</c>: load and run times of a model file, and a clear error for a file that is not one.</summary>
public class OnnxBenchCommandTests
{
    [Test]
    public void ReportsLoadAndRunTimesOfAModel()
    {
        string model = Path.Combine(Fixture.Directory, "onnx", "external", "model.onnx");
        (int exitCode, string output, string error) = CliRunner.Run("bench", "onnx", "--model", model, "--dim", "4", "--threads", "1", "--min-seconds", "0", "--json");
        Assert.That(exitCode, Is.Zero, error);
        JsonElement report = CliRunner.LastLineJson(output);
        Assert.That(report.GetProperty("model").GetString(), Is.EqualTo(model));
        foreach (string key in new[] { "first_load_ms", "warm_load_ms", "median_load_ms", "run_ms", "median_run_ms" })
        {
            Assert.That(report.GetProperty(key).GetDouble(), Is.GreaterThan(0), key);
        }

        Assert.That(report.GetProperty("warm_load_ms").GetDouble(), Is.LessThanOrEqualTo(report.GetProperty("median_load_ms").GetDouble()));
    }

    [Test]
    public void AFileThatIsNotAModelExitsWithOne()
    {
        string path = Path.Combine(Path.GetTempPath(), $"myelin-not-a-model-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(path, [0xFF, 0xFF, 0xFF, 0x7F, 1, 2, 3]);
        try
        {
            (int exitCode, _, string error) = CliRunner.Run("bench", "onnx", "--model", path, "--min-seconds", "0");
            Assert.That(exitCode, Is.EqualTo(1));
            Assert.That(error, Does.StartWith("error: model: not a valid ONNX ModelProto"));
        }
        finally
        {
            File.Delete(path);
        }
    }
}

using System.Text.Json;
using NUnit.Framework;

namespace Myelin.Tests.Cli;

public class TrainStepBenchTests
{
    [TestCase("lstm", "lstm 8->16 T=4")]
    [TestCase("transformer", "transformer d=16 h=2 ff=32 T=8")]
    public void TinySequenceModelsReportJsonAndAllocateNothingPerStep(string model, string shape)
    {
        (int exitCode, string output, string error) = CliRunner.Run("bench", "train-step", "--model", model, "--size", "tiny", "--batch-size", "3", "--steps", "5", "--json");
        Assert.That(exitCode, Is.Zero, error);
        JsonElement report = CliRunner.LastLineJson(output);
        Assert.That(report.GetProperty("model").GetString(), Is.EqualTo(model));
        Assert.That(report.GetProperty("shape").GetString(), Is.EqualTo(shape));
        Assert.That(report.GetProperty("batch_size").GetInt32(), Is.EqualTo(3));
        Assert.That(report.GetProperty("ms_per_step").GetDouble(), Is.GreaterThan(0));
        Assert.That(report.GetProperty("arena_bytes").GetInt64(), Is.GreaterThan(0).And.LessThanOrEqualTo(report.GetProperty("naive_bytes").GetInt64()));
        Assert.That(report.GetProperty("allocated_bytes_per_step").GetInt64(), Is.Zero);
        Assert.That(report.GetProperty("native_allocations_per_step").GetDouble(), Is.Zero);
        float first = report.GetProperty("first_loss").GetSingle(), last = report.GetProperty("last_loss").GetSingle();
        Assert.That(float.IsFinite(first) && first > 0, $"first loss {first}");
        Assert.That(last, Is.LessThan(first), "Adam steps on one batch lower the MSE");
    }

    [Test]
    public void ProfileListsTheOpsBeforeTheJsonLine()
    {
        (int exitCode, string output, string error) = CliRunner.Run("bench", "train-step", "--model", "lstm", "--size", "tiny", "--batch-size", "2", "--steps", "2", "--profile", "--json");
        Assert.That(exitCode, Is.Zero, error);
        Assert.That(output, Does.Contain("profile: ").And.Contain("op Gemm").And.Contain("node "));
        Assert.That(CliRunner.LastLineJson(output).GetProperty("model").GetString(), Is.EqualTo("lstm"));
    }

    [Test]
    public void DefaultBatchFollowsTheModel()
    {
        (int exitCode, string output, string error) = CliRunner.Run("bench", "train-step", "--model", "transformer", "--size", "tiny", "--steps", "1", "--json");
        Assert.That(exitCode, Is.Zero, error);
        Assert.That(CliRunner.LastLineJson(output).GetProperty("batch_size").GetInt32(), Is.EqualTo(16));
    }

    [Test]
    public void UnknownModelIsAParseError()
    {
        (int exitCode, _, string error) = CliRunner.Run("bench", "train-step", "--model", "gru", "--json");
        Assert.That(exitCode, Is.EqualTo(1));
        Assert.That(error, Does.Contain("gru"));
    }
}

using System.Text.Json;
using NUnit.Framework;

namespace Myelin.Tests.Cli;

public class GraphCommandTests
{
    [Test]
    public void GradCheckOneOpPrintsJson()
    {
        (int exitCode, string output, string error) = CliRunner.Run("gradcheck", "--op", "Tanh", "--json");
        Assert.That(exitCode, Is.Zero, error);
        JsonElement report = CliRunner.LastLineJson(output);
        Assert.That(report.GetProperty("passed").GetInt32(), Is.EqualTo(1));
        Assert.That(report.GetProperty("failed").GetInt32(), Is.Zero);
        JsonElement op = report.GetProperty("ops")[0];
        Assert.That(op.GetProperty("op").GetString(), Is.EqualTo("Tanh"));
        Assert.That(op.GetProperty("ok").GetBoolean(), Is.True);
        Assert.That(op.GetProperty("max_rel_err").GetDouble(), Is.LessThan(1e-6));
    }

    [Test]
    public void GradCheckAllPrintsASummaryLine()
    {
        (int exitCode, string output, _) = CliRunner.Run("gradcheck");
        Assert.That(exitCode, Is.Zero);
        Assert.That(output.TrimEnd(), Does.EndWith("passed, 0 failed"));
    }

    [Test]
    public void TrainStepBenchReportsPlanAndNoAllocations()
    {
        (int exitCode, string output, string error) = CliRunner.Run("bench", "train-step", "--model", "mlp", "--batch-size", "16", "--steps", "3", "--json");
        Assert.That(exitCode, Is.Zero, error);
        JsonElement report = CliRunner.LastLineJson(output);
        Assert.That(report.GetProperty("ms_per_step").GetDouble(), Is.GreaterThan(0));
        Assert.That(report.GetProperty("arena_bytes").GetInt64(), Is.LessThan(report.GetProperty("naive_bytes").GetInt64()));
        Assert.That(report.GetProperty("allocated_bytes_per_step").GetInt64(), Is.Zero);
    }
}

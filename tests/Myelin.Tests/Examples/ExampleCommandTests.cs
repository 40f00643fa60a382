using System.Text.Json;
using Myelin.Tests.Cli;
using NUnit.Framework;

namespace Myelin.Tests.Examples;

public class ExampleCommandTests
{
    [Test]
    public void JsonLastLineCarriesTheMeasuredFigures()
    {
        (int exitCode, string output, string error) = CliRunner.Run("example", "xor", "--steps", "300", "--json");
        Assert.That(exitCode, Is.Zero, error);
        JsonElement report = CliRunner.LastLineJson(output);
        Assert.That(report.GetProperty("example").GetString(), Is.EqualTo("xor"));
        Assert.That(report.GetProperty("wall_seconds").GetDouble(), Is.GreaterThan(0));
        JsonElement result = report.GetProperty("result");
        Assert.That(result.GetProperty("steps").GetInt32(), Is.EqualTo(300));
        Assert.That(result.GetProperty("mlp_loss").GetDouble(), Is.LessThan(result.GetProperty("single_neuron_loss").GetDouble()));
    }

    [Test]
    public void ReadableOutputStatesTheClaimAndTheFigures()
    {
        (int exitCode, string output, string error) = CliRunner.Run("example", "xor", "--steps", "300");
        Assert.That(exitCode, Is.Zero, error);
        Assert.That(output, Does.Contain("single neuron").And.Contain("2-layer tanh MLP").And.Contain("4/4 correct"));
        Assert.That(output, Does.Not.Contain("{"));
    }

    [TestCase("nope")]
    [TestCase("xor", "--steps", "0")]
    public void BadArgumentsFailNamingThem(params string[] args)
    {
        (int exitCode, _, string error) = CliRunner.Run(["example", .. args]);
        Assert.That(exitCode, Is.Not.Zero);
        Assert.That(error, Does.Contain(args[^1]));
    }
}

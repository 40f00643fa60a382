using Myelin.Onnx;
using NUnit.Framework;

namespace Myelin.Tests.Cli;

public class ExportCommandTests
{
    private string _directory = "";

    [SetUp]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("myelin-export-cli-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    [TestCase("mlp", "12")]
    [TestCase("cnn", "1,8,8")]
    [TestCase("lstm", "1,4,6")]
    public void Export_WritesAModelTheSessionRuns(string model, string shape)
    {
        string path = Path.Combine(_directory, $"{model}.onnx");
        (int exitCode, string output, string error) = CliRunner.Run("export", "--model", model, "--shape", shape, "--classes", "3", "--out", path, "--json");
        Assert.That(exitCode, Is.Zero, error);
        Assert.That(CliRunner.LastLineJson(output).GetProperty("opset").GetInt32(), Is.EqualTo(OnnxExporter.Opset));

        long[] sample = [.. shape.Split(',').Select(long.Parse)];
        using var session = InferenceSession.Load(path);
        using Tensor x = Tensor.RandN(new Shape([2, .. sample]), generator: new Generator(1));
        using var scope = new TensorScope();
        Tensor scores = session.Run(new Dictionary<string, Tensor> { ["input"] = x })[0];
        Assert.That(scores.Shape.ToArray(), Is.EqualTo(new long[] { 2, 3 }));
    }

    [Test]
    public void Export_WithoutWeightsOrShape_NamesTheMissingOption()
    {
        (int exitCode, _, string error) = CliRunner.Run("export", "--model", "mlp", "--classes", "3", "--out", Path.Combine(_directory, "m.onnx"));
        Assert.That(exitCode, Is.EqualTo(1));
        Assert.That(error, Does.Contain("--shape"));
    }
}

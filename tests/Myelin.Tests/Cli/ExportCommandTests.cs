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
    public void Export_OfTrainedWeights_PredictsWhatPredictDoes()
    {
        // Two features, three classes along a line: class c around (c, -c).
        string csv = Path.Combine(_directory, "line.csv");
        float[] features = [.. Enumerable.Range(0, 30).SelectMany(row => new[] { row % 3 + (row % 5 - 2) / 10f, -(row % 3) + (row % 7 - 3) / 10f })];
        File.WriteAllLines(csv, ["f0,f1,label", .. Enumerable.Range(0, 30).Select(row =>
            string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{features[2 * row]},{features[2 * row + 1]},{row % 3}"))]);
        string weights = Path.Combine(_directory, "weights.bin"), onnx = Path.Combine(_directory, "trained.onnx");
        (int trainCode, _, string trainError) = CliRunner.Run("train", "--data", csv, "--model", "mlp", "--epochs", "2", "--batch-size", "8", "--out", weights, "--threads", "1");
        Assert.That(trainCode, Is.Zero, trainError);
        (int exportCode, _, string exportError) = CliRunner.Run("export", "--model", "mlp", "--weights", weights, "--out", onnx);
        Assert.That(exportCode, Is.Zero, exportError);
        (int predictCode, string predictOutput, string predictError) = CliRunner.Run("predict", "--model", "mlp", "--weights", weights, "--input", csv, "--json");
        Assert.That(predictCode, Is.Zero, predictError);
        long[] predicted = [.. CliRunner.LastLineJson(predictOutput).GetProperty("predictions").EnumerateArray().Select(p => p.GetInt64())];

        using var session = InferenceSession.Load(onnx);
        using var scope = new TensorScope();
        float[] scores = session.Run(new Dictionary<string, Tensor> { ["input"] = Tensor.FromArray(features, [30, 2]) })[0].ToArray<float>();
        long[] exported = [.. Enumerable.Range(0, 30).Select(row => (long)Enumerable.Range(0, 3).MaxBy(c => scores[row * 3 + c]))];
        Assert.That(exported, Is.EqualTo(predicted));
    }

    [Test]
    public void Export_WithoutWeightsOrShape_NamesTheMissingOption()
    {
        (int exitCode, _, string error) = CliRunner.Run("export", "--model", "mlp", "--classes", "3", "--out", Path.Combine(_directory, "m.onnx"));
        Assert.That(exitCode, Is.EqualTo(1));
        Assert.That(error, Does.Contain("--shape"));
    }
}

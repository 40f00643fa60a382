using System.Globalization;
using System.Text;
using System.Text.Json;
using NUnit.Framework;

namespace Myelin.Tests.Cli;

public class TrainCommandTests
{
    private const int Classes = 3, Features = 4, RowsPerClass = 40;
    private string _directory = "";
    private string _csv = "";

    [SetUp]
    public void WriteCsv()
    {
        _directory = Path.Combine(Path.GetTempPath(), $"myelin-train-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_directory);
        _csv = Path.Combine(_directory, "blobs.csv");
        // Three well separated blobs: class c sits around (3c, -3c, 3c, 1) with a deterministic spread of +-0.5.
        var text = new StringBuilder("f0,f1,f2,f3,label\n");
        for (int row = 0; row < Classes * RowsPerClass; row++)
        {
            int label = row % Classes;
            double jitter(int feature) => ((row * 7 + feature * 13) % 11 - 5) / 10.0;
            double[] features = [3 * label + jitter(0), -3 * label + jitter(1), 3 * label + jitter(2), 1 + jitter(3)];
            text.AppendLine(string.Join(',', features.Select(f => f.ToString(CultureInfo.InvariantCulture))) + "," + label);
        }

        File.WriteAllText(_csv, text.ToString());
    }

    [TearDown]
    public void Remove() => Directory.Delete(_directory, recursive: true);

    [Test]
    public void TrainOnCsvPrintsTheJsonReport()
    {
        (int exitCode, string output, string error) = CliRunner.Run("train", "--data", _csv, "--model", "mlp", "--epochs", "2", "--batch-size", "16",
            "--optimizer", "adam", "--lr", "0.01", "--json");
        Assert.That(exitCode, Is.Zero, error);
        JsonElement report = CliRunner.LastLineJson(output);
        Assert.That(report.EnumerateObject().Select(p => p.Name), Is.EquivalentTo(new[] { "test_accuracy", "test_loss", "seconds_per_epoch", "epochs" }));
        Assert.That(report.GetProperty("epochs").GetInt32(), Is.EqualTo(2));
        Assert.That(report.GetProperty("seconds_per_epoch").GetDouble(), Is.GreaterThan(0));
        Assert.That(report.GetProperty("test_loss").GetDouble(), Is.GreaterThan(0).And.LessThan(Math.Log(Classes)), "better than chance");
        Assert.That(report.GetProperty("test_accuracy").GetDouble(), Is.GreaterThanOrEqualTo(0.9), "the blobs are separable");
        Assert.That(output, Does.Contain("Epoch 2/2"));
    }

    [Test]
    public void SeedDecidesTheRun()
    {
        double Loss(string seed)
        {
            (int exitCode, string output, string error) = CliRunner.Run("train", "--data", _csv, "--model", "mlp", "--epochs", "1", "--batch-size", "16",
                "--threads", "1", "--seed", seed, "--json");
            Assert.That(exitCode, Is.Zero, error);
            return CliRunner.LastLineJson(output).GetProperty("test_loss").GetDouble();
        }

        double first = Loss("7");
        Assert.That(Loss("7"), Is.EqualTo(first), "the same seed repeats the run");
        Assert.That(Loss("8"), Is.Not.EqualTo(first), "another seed initializes and shuffles differently");
    }

    [Test]
    public void CheckpointResumeContinuesTheRunAndRefusesAnotherModelsFile()
    {
        string checkpoint = Path.Combine(_directory, "run.ckpt");
        string[] train = ["train", "--data", _csv, "--model", "mlp", "--batch-size", "16", "--threads", "1", "--checkpoint", checkpoint, "--json"];
        (int code, string output, string error) = CliRunner.Run([.. train, "--epochs", "2"]);
        Assert.That(code, Is.Zero, error);
        using (var saved = Myelin.Training.TrainingCheckpoint.Load(checkpoint)) Assert.That(saved.Epoch, Is.EqualTo(2));

        (code, output, error) = CliRunner.Run([.. train, "--epochs", "3", "--resume"]);
        Assert.That(code, Is.Zero, error);
        Assert.That(output, Does.Contain($"Resuming from {checkpoint} after epoch 2.").And.Contain("Epoch 3/3").And.Not.Contain("Epoch 1/3"));
        Assert.That(CliRunner.LastLineJson(output).GetProperty("epochs").GetInt32(), Is.EqualTo(3));
        using (var saved = Myelin.Training.TrainingCheckpoint.Load(checkpoint)) Assert.That((saved.Epoch, saved.History.Count), Is.EqualTo((3, 3)));

        (code, _, error) = CliRunner.Run("train", "--data", _csv, "--resume");
        Assert.That(code, Is.Not.Zero);
        Assert.That(error, Does.Contain("--resume needs --checkpoint FILE."));

        string other = Path.Combine(_directory, "other.ckpt");
        using (var network = new Myelin.NN.Sequential(new Myelin.NN.Linear(3, 2)))
        using (var model = new Myelin.Training.Model(network)) model.SaveCheckpoint(other);
        (code, _, error) = CliRunner.Run([.. train[..^3], "--checkpoint", other, "--resume", "--epochs", "1"]);
        Assert.That(code, Is.Not.Zero);
        Assert.That(error, Does.Contain("--checkpoint:").And.Contain(other).And.Contain("saved from another model"));
    }

    [Test]
    public void EvalAndPredictReproduceTheSavedModel()
    {
        string weights = Path.Combine(_directory, "blobs.weights");
        string logs = Path.Combine(_directory, "logs");
        (int trainCode, string trainOutput, string trainError) = CliRunner.Run("train", "--data", _csv, "--model", "mlp", "--epochs", "2", "--batch-size", "16",
            "--optimizer", "momentum", "--lr", "0.05", "--schedule", "cosine", "--out", weights, "--log-dir", logs, "--threads", "1", "--json");
        Assert.That(trainCode, Is.Zero, trainError);
        JsonElement trained = CliRunner.LastLineJson(trainOutput);
        Assert.That(Directory.GetFiles(logs, "events.out.tfevents.*"), Is.Not.Empty);

        (int evalCode, string evalOutput, string evalError) = CliRunner.Run("eval", "--model", "mlp", "--weights", weights, "--data", _csv, "--json");
        Assert.That(evalCode, Is.Zero, evalError);
        JsonElement evaluated = CliRunner.LastLineJson(evalOutput);
        Assert.That(evaluated.GetProperty("test_accuracy").GetDouble(), Is.EqualTo(trained.GetProperty("test_accuracy").GetDouble()));
        Assert.That(evaluated.GetProperty("test_loss").GetDouble(), Is.EqualTo(trained.GetProperty("test_loss").GetDouble()).Within(1e-6));
        Assert.That(evaluated.GetProperty("samples").GetInt32(), Is.EqualTo(Classes * RowsPerClass / 5));

        (int predictCode, string predictOutput, string predictError) = CliRunner.Run("predict", "--model", "mlp", "--weights", weights, "--input", _csv, "--json");
        Assert.That(predictCode, Is.Zero, predictError);
        long[] predictions = [.. CliRunner.LastLineJson(predictOutput).GetProperty("predictions").EnumerateArray().Select(p => p.GetInt64())];
        long[] labels = [.. Enumerable.Range(0, Classes * RowsPerClass).Select(row => (long)(row % Classes))];
        Assert.That(predictions, Has.Length.EqualTo(labels.Length));
        double accuracy = predictions.Zip(labels).Count(p => p.First == p.Second) / (double)labels.Length;
        Assert.That(accuracy, Is.GreaterThanOrEqualTo(0.9), "the saved model classifies the whole file as it did the held-out part");

        (int textCode, string text, _) = CliRunner.Run("predict", "--model", "mlp", "--weights", weights, "--input", _csv);
        Assert.That(textCode, Is.Zero);
        Assert.That(text, Does.Contain($"0: {predictions[0]} (label 0)"));
    }

    [TestCase("--model", "resnet")]
    [TestCase("--optimizer", "lbfgs")]
    [TestCase("--schedule", "warp")]
    [TestCase("--epochs", "0")]
    [TestCase("--batch-size", "-4")]
    [TestCase("--lr", "0")]
    [TestCase("--threads", "0")]
    public void BadArgumentsAreNamed(string option, string value)
    {
        (int exitCode, _, string error) = CliRunner.Run("train", "--data", _csv, option, value);
        Assert.That(exitCode, Is.Not.Zero);
        Assert.That(error, Does.Contain(option).And.Contain(value));
    }

    [Test]
    public void MissingFilesAreNamed()
    {
        string missing = Path.Combine(_directory, "missing.csv");
        (int trainCode, _, string trainError) = CliRunner.Run("train", "--data", missing);
        Assert.That(trainCode, Is.Not.Zero);
        Assert.That(trainError, Does.Contain("--data").And.Contain(missing));

        (int evalCode, _, string evalError) = CliRunner.Run("eval", "--model", "mlp", "--weights", missing, "--data", _csv);
        Assert.That(evalCode, Is.Not.Zero);
        Assert.That(evalError, Does.Contain("--weights").And.Contain(missing));

        (int predictCode, _, string predictError) = CliRunner.Run("predict", "--model", "mlp", "--weights", _csv, "--input", missing);
        Assert.That(predictCode, Is.Not.Zero);
        Assert.That(predictError, Does.Contain("--input").And.Contain(missing));
    }

    [Test]
    public void MissingFashionMnistSaysHowToGetIt()
    {
        (int exitCode, _, string error) = CliRunner.Run("train", "--data", _directory);
        Assert.That(exitCode, Is.Not.Zero);
        Assert.That(error, Does.Contain("--data").And.Contain("apt-get install dataset-fashion-mnist"));
    }

    [Test]
    public void ImageModelsRejectFeaturesThatAreNotAnImage()
    {
        // 4 features are a 2x2 image, too small for cnn's two poolings; an odd count is no image at all.
        (int smallCode, _, string smallError) = CliRunner.Run("train", "--data", _csv, "--model", "cnn", "--epochs", "1");
        Assert.That(smallCode, Is.Not.Zero);
        Assert.That(smallError, Does.Contain("--model cnn").And.Contain("2x2"));
        string odd = Path.Combine(_directory, "odd.csv");
        File.WriteAllLines(odd, ["1,2,3,0", "4,5,6,1", "7,8,9,0", "1,1,1,1", "2,2,2,0"]);
        (int exitCode, _, string error) = CliRunner.Run("train", "--data", odd, "--model", "lstm", "--epochs", "1");
        Assert.That(exitCode, Is.Not.Zero);
        Assert.That(error, Does.Contain("--model lstm"));
    }

    [Test]
    public void WeightsOfAnotherModelAreRejected()
    {
        string weights = Path.Combine(_directory, "mlp.weights");
        Assert.That(CliRunner.Run("train", "--data", _csv, "--epochs", "1", "--out", weights).ExitCode, Is.Zero);
        (int exitCode, _, string error) = CliRunner.Run("eval", "--model", "lstm", "--weights", weights, "--data", _csv);
        Assert.That(exitCode, Is.Not.Zero);
        Assert.That(error, Does.Contain("--weights"));
    }
}

using System.Diagnostics;
using Myelin.Training;
using NUnit.Framework;

namespace Myelin.Tests.Training;

/// <summary>
/// Crash safety of checkpoints: `myelin train --checkpoint` runs as a child process and is killed at several moments,
/// some right as an epoch's checkpoint is being written; the file left behind always loads, and resuming from it ends
/// with the weights and history of an uninterrupted run.
/// </summary>
public class CheckpointKillTests
{
    // Many more epochs than the kills use, so a run is still going when its kill arrives even if reading its output lags
    // far behind on a loaded machine (an epoch of this run takes tens of milliseconds).
    private const int Epochs = 60;

    // (epochs after the resumed one whose end line triggers the kill, milliseconds waited after the line): the checkpoint
    // is written right after the line, so the short waits land before, during or after the write.
    private static readonly (int Offset, int DelayMs)[] s_kills = [(2, 0), (3, 1), (3, 3), (4, 8), (4, 20)];

    private string _directory = "";

    [SetUp]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("myelin-kill-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    [Test]
    public void AKilledRunLeavesALoadableCheckpointAndResumesToTheUninterruptedResult()
    {
        string reference = Path.Combine(_directory, "reference.ckpt"), referenceWeights = Path.Combine(_directory, "reference.weights");
        string checkpoint = Path.Combine(_directory, "killed.ckpt"), weights = Path.Combine(_directory, "killed.weights");
        RunToEnd(["--checkpoint", reference, "--out", referenceWeights]);

        int lastEpoch = 0, killed = 0;
        foreach ((int offset, int delay) in s_kills)
        {
            int epoch = lastEpoch + offset;
            if (RunAndKill(["--checkpoint", checkpoint, "--resume"], epoch, delay)) killed++;
            Assert.That(File.Exists(checkpoint), Is.True, $"a checkpoint exists after the kill at epoch {epoch}");
            using TrainingCheckpoint left = TrainingCheckpoint.Load(checkpoint);
            Assert.That(left.Epoch, Is.InRange(Math.Max(lastEpoch, epoch - 1), Epochs), $"killed after epoch {epoch} (+{delay} ms)");
            Assert.That(left.History, Has.Count.EqualTo(left.Epoch));
            lastEpoch = left.Epoch;
        }

        Assert.That(killed, Is.GreaterThanOrEqualTo(3), "most runs were killed before they could finish");

        string output = RunToEnd(["--checkpoint", checkpoint, "--resume", "--out", weights]);
        Assert.That(output, Does.Contain($"Resuming from {checkpoint} after epoch {lastEpoch}."));

        using TrainingCheckpoint expected = TrainingCheckpoint.Load(referenceWeights), actual = TrainingCheckpoint.Load(weights);
        Assert.That(actual.Weights.Keys, Is.EqualTo(expected.Weights.Keys));
        foreach ((string name, Tensor tensor) in expected.Weights) Assert.That(actual.Weights[name].ToArray<float>(), Is.EqualTo(tensor.ToArray<float>()), name);
        using TrainingCheckpoint expectedState = TrainingCheckpoint.Load(reference), actualState = TrainingCheckpoint.Load(checkpoint);
        Assert.That(actualState.History.Select(h => h["loss"]), Is.EqualTo(expectedState.History.Select(h => h["loss"])));
        Assert.That(actualState.Epoch, Is.EqualTo(Epochs));
        Assert.That(Directory.GetFiles(_directory, "*.tmp"), Is.Empty, "temporary files of killed saves are removed by the next save");
    }

    private static ProcessStartInfo StartInfo(string[] extra)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        string[] args =
        [
            Path.Combine(AppContext.BaseDirectory, "Myelin.Cli.dll"), "train", "--data", "digits", "--model", "mlp", "--epochs", $"{Epochs}", "--batch-size", "64",
            "--optimizer", "adam", "--schedule", "cosine", "--threads", "1", .. extra,
        ];
        foreach (string arg in args) info.ArgumentList.Add(arg);
        return info;
    }

    private static string RunToEnd(string[] extra)
    {
        using Process process = Process.Start(StartInfo(extra))!;
        Task<string> error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        Assert.That(process.WaitForExit(120_000), Is.True, "the training run finishes");
        Assert.That(process.ExitCode, Is.Zero, error.Result);
        return output;
    }

    /// <summary>Runs until the end line of <paramref name="epoch"/>, waits, kills; whether the kill caught the run before it finished.</summary>
    private static bool RunAndKill(string[] extra, int epoch, int delayMs)
    {
        using Process process = Process.Start(StartInfo(extra))!;
        _ = process.StandardError.ReadToEndAsync();
        string trigger = $"Epoch {epoch}/{Epochs}";
        while (process.StandardOutput.ReadLine() is { } line)
        {
            if (!line.StartsWith(trigger, StringComparison.Ordinal)) continue;
            if (delayMs > 0) Thread.Sleep(delayMs);
            process.Kill(entireProcessTree: true);
            break;
        }

        Assert.That(process.WaitForExit(120_000), Is.True, "the killed run ends");
        return process.ExitCode != 0;
    }
}

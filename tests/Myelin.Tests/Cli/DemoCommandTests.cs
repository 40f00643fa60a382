using System.Text.Json;
using System.Text.RegularExpressions;
using NUnit.Framework;

namespace Myelin.Tests.Cli;

public class DemoCommandTests
{
    [Test]
    public void TrainsSavesReloadsAndPredictsTheDigits()
    {
        string weights = Path.Combine(Path.GetTempPath(), $"myelin-demo-{Guid.NewGuid():N}.weights");
        try
        {
            (int exitCode, string output, string error) = CliRunner.Run("demo", "--json", "--epochs", "5", "--out", weights);
            Assert.That(exitCode, Is.Zero, error);
            double accuracy = CliRunner.LastLineJson(output).GetProperty("test_accuracy").GetDouble();
            // 5 epochs of the 20 by default already reach 95% on the 359 held-out digits.
            Assert.That(accuracy, Is.GreaterThanOrEqualTo(0.95));
            Assert.That(File.Exists(weights), Is.True);
            Assert.That(output, Does.Contain("Epoch 5/5").And.Contain("Reloaded it into a fresh model"));

            // Six drawings, each 8 rows of 8 double-width pixels, with a prediction and a true label 0-9.
            Assert.That(Regex.Matches(output, @"^  \|.{16}\|", RegexOptions.Multiline), Has.Count.EqualTo(6 * 8));
            MatchCollection predicted = Regex.Matches(output, @"predicted (\d)\s*$", RegexOptions.Multiline);
            MatchCollection truth = Regex.Matches(output, @"true +(\d)", RegexOptions.Multiline);
            Assert.That(predicted, Has.Count.EqualTo(6));
            Assert.That(truth, Has.Count.EqualTo(6));
            int right = Enumerable.Range(0, 6).Count(i => predicted[i].Groups[1].Value == truth[i].Groups[1].Value);
            Assert.That(right, Is.GreaterThanOrEqualTo(4), "the reloaded model predicts most shown digits right");
            Assert.That(Regex.Matches(output, @"\(wrong\)"), Has.Count.EqualTo(6 - right));
        }
        finally
        {
            File.Delete(weights);
        }
    }

    [Test]
    public void NonPositiveEpochsAreRejected()
    {
        (int exitCode, _, string error) = CliRunner.Run("demo", "--epochs", "0");
        Assert.That(exitCode, Is.Not.Zero);
        Assert.That(error, Does.Contain("--epochs"));
    }
}

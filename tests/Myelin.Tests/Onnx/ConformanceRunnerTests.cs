using System.Text.Json;
using Myelin.Tests.Cli;
using Myelin.Tests.TestSupport;
using NUnit.Framework;

namespace Myelin.Tests.Onnx;

/// <summary>Runs <c>myelin conformance</c> over a few ONNX backend-test cases from the shared conformance data.</summary>
public class ConformanceRunnerTests
{
    /// <summary>The shared conformance folder (shared/conformance in a folder above the test assembly), or null.</summary>
    private static string? ConformanceDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "shared", "conformance");
            if (Directory.Exists(Path.Combine(candidate, "onnx-node"))) return candidate;
        }

        return null;
    }

    private static string RequireData()
    {
        string? directory = ConformanceDirectory();
        if (directory is null) Assert.Ignore($"No shared/conformance/onnx-node folder above {AppContext.BaseDirectory}.");
        return directory!;
    }

    [Test]
    public void RunnerReportsPassAndUnsupportedCasesAsJson()
    {
        string node = Path.Combine(RequireData(), "onnx-node");
        string[] passing = ["test_abs", "test_add_bcast", "test_relu", "test_matmul_2d", "test_transpose_all_permutations_2", "test_gemm_default_matrix_bias"];
        string[] args = ["conformance", .. passing.Select(c => Path.Combine(node, c)), Path.Combine(node, "test_loop11"), "--json"];

        (int exitCode, string output, string error) = CliRunner.Run(args);
        Assert.That(error, Is.Empty);
        Assert.That(exitCode, Is.Zero, output);
        JsonElement report = CliRunner.LastLineJson(output);
        Assert.That(report.GetProperty("passed").GetInt32(), Is.EqualTo(passing.Length), output);
        Assert.That(report.GetProperty("failed").GetInt32(), Is.Zero);
        Assert.That(report.GetProperty("unsupported").GetInt32(), Is.EqualTo(1));
        JsonElement loop = report.GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "test_loop11");
        Assert.That(loop.GetProperty("status").GetString(), Is.EqualTo("UNSUPPORTED"));
        Assert.That(loop.GetProperty("detail").GetString(), Does.Contain("Loop"));
    }

    [Test]
    public void AWrongExpectedOutputIsAFailNamingTheWorstElement()
    {
        string source = Path.Combine(RequireData(), "onnx-node", "test_abs");
        string copy = Path.Combine(Path.GetTempPath(), $"myelin-conformance-{Guid.NewGuid():N}", "test_abs");
        try
        {
            Directory.CreateDirectory(Path.Combine(copy, "test_data_set_0"));
            File.Copy(Path.Combine(source, "model.onnx"), Path.Combine(copy, "model.onnx"));
            File.Copy(Path.Combine(source, "test_data_set_0", "input_0.pb"), Path.Combine(copy, "test_data_set_0", "input_0.pb"));

            // The expected output is the input itself: abs(x) differs wherever x < 0.
            File.Copy(Path.Combine(source, "test_data_set_0", "input_0.pb"), Path.Combine(copy, "test_data_set_0", "output_0.pb"));
            (int exitCode, string output, _) = CliRunner.Run("conformance", Path.GetDirectoryName(copy)!);
            Assert.That(exitCode, Is.EqualTo(1), output);
            Assert.That(output, Does.Contain("FAIL").And.Contain("test_abs").And.Contain("worst at ["));
            Assert.That(output.TrimEnd(), Does.EndWith("0 passed, 1 failed, 0 unsupported"));
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(copy)!, recursive: true);
        }
    }

    [Test]
    public void EverySuiteCaseHasItsExpectedStatus()
    {
        string data = RequireData();
        string listPath = Path.Combine(Fixture.Directory, "..", "Myelin.Tests", "Onnx", "conformance-expected.txt");
        Dictionary<string, string> expected = File.ReadAllLines(listPath)
            .Where(line => line.Length > 0 && !line.StartsWith('#'))
            .Select(line => line.Split(' '))
            .ToDictionary(parts => parts[0], parts => parts[1]);

        var unexpected = new List<string>();
        foreach (string suite in new[] { "onnx-node", "onnx-pytorch" })
        {
            // SKIP marks a case that takes the process down with it (a Myelin bug noted in the list), so it is left out.
            string[] cases = Directory.GetDirectories(Path.Combine(data, suite))
                .Where(dir => File.Exists(Path.Combine(dir, "model.onnx")))
                .Where(dir => expected.GetValueOrDefault($"{suite}/{Path.GetFileName(dir)}") != "SKIP")
                .ToArray();
            (_, string output, string error) = CliRunner.Run(["conformance", .. cases, "--json"]);
            Assert.That(error, Is.Empty);
            foreach (JsonElement result in CliRunner.LastLineJson(output).GetProperty("cases").EnumerateArray())
            {
                string name = $"{suite}/{result.GetProperty("name").GetString()}";
                string status = result.GetProperty("status").GetString()!;
                string want = expected.Remove(name, out string? listed) ? listed : "PASS";
                if (status != want) unexpected.Add($"{name}: {status} (expected {want}) {result.GetProperty("detail")}");
            }
        }

        unexpected.AddRange(expected.Where(p => p.Value != "SKIP").Select(p => $"{p.Key}: listed but not found"));
        Assert.That(unexpected, Is.Empty, "update conformance-expected.txt when a case starts passing");
    }
}

using System.Text.Json;
using Myelin.Cli;

namespace Myelin.Tests.Cli;

/// <summary>Runs the <c>myelin</c> command line in-process and captures its output.</summary>
internal static class CliRunner
{
    public static (int ExitCode, string Output, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int exitCode = CliApplication.Run(args, output, error);
        return (exitCode, output.ToString(), error.ToString());
    }

    /// <summary>The last non-empty line of <paramref name="output"/>, parsed as JSON.</summary>
    public static JsonElement LastLineJson(string output)
    {
        string last = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1];
        using JsonDocument document = JsonDocument.Parse(last);
        return document.RootElement.Clone();
    }
}

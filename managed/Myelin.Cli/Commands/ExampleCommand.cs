using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Myelin.Examples;

namespace Myelin.Cli.Commands;

/// <summary><c>myelin example NAME [--steps N] [--json]</c>: runs one worked example end to end and prints its measured figures.</summary>
internal static class ExampleCommand
{
    public static Command Create()
    {
        var name = new Argument<string>("name")
        {
            Description = "The example: " + string.Join(", ", ExampleCatalog.All.Select(e => e.Name)) + ".",
        };
        name.AcceptOnlyFromAmong([.. ExampleCatalog.All.Select(e => e.Name)]);
        var steps = new Option<int?>("--steps") { Description = "Training steps per model instead of the example's default (a shorter run)." };
        steps.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is int value and <= 0) result.AddError($"--steps must be positive, not {value}.");
        });
        var json = new Option<bool>("--json") { Description = "Print one JSON object of the figures as the last line." };
        var command = new Command("example", "Run a worked example (" + string.Join(", ", ExampleCatalog.All.Select(e => e.Name)) + ") and print what it shows.")
        {
            name, steps, json,
        };
        command.SetAction(parseResult => CommandRunner.Run(parseResult, output =>
        {
            Example example = ExampleCatalog.Get(parseResult.GetValue(name)!);
            bool asJson = parseResult.GetValue(json);
            if (!asJson) output.WriteLine($"{example.Name}: {example.Shows}");
            var clock = Stopwatch.StartNew();
            IExampleResult result = example.Run(parseResult.GetValue(steps));
            double seconds = clock.Elapsed.TotalSeconds;
            if (asJson)
            {
                output.WriteLine(JsonOutput.Serialize(new Report(example.Name, Math.Round(seconds, 2), result)));
            }
            else
            {
                foreach (string line in result.Describe()) output.WriteLine(line);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"({seconds:F1} s)"));
            }

            return 0;
        }));
        return command;
    }

    /// <summary>The JSON line: the example's name, its wall time, and its result record's figures.</summary>
    private sealed record Report(string Example, double WallSeconds, object Result);
}

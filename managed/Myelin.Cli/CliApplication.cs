using System.CommandLine;
using System.CommandLine.Invocation;
using Myelin.Cli.Commands;

namespace Myelin.Cli;

/// <summary>The <c>myelin</c> command line: builds the command tree and runs it.</summary>
public static class CliApplication
{
    /// <summary>The root command with every subcommand.</summary>
    public static RootCommand CreateRootCommand() => new("Myelin: a neural-network runtime for .NET.")
    {
        InfoCommand.Create(),
        BenchCommand.Create(),
        GradCheckCommand.Create(),
        DemoCommand.Create(),
        TrainCommand.Create(),
        EvalCommand.Create(),
        PredictCommand.Create(),
        ExportCommand.Create(),
        ExampleCommand.Create(),
        ConformanceCommand.Create(),
    };

    /// <summary>
    /// Parses <paramref name="args"/> and runs the chosen command, writing to the given writers.
    /// Returns the process exit code: 0 on success, non-zero on a parse error or a failure.
    /// </summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        ParseResult parseResult = CreateRootCommand().Parse(args);
        if (parseResult.Action is ParseErrorAction parseError)
        {
            // The error names the bad argument; a full help text after it would bury it (and break "last line is JSON").
            parseError.ShowHelp = false;
        }

        return parseResult.Invoke(new InvocationConfiguration { Output = output, Error = error });
    }
}

using System.CommandLine;

namespace Myelin.Cli.Commands;

/// <summary>Runs a command body so that Myelin failures print one message to stderr and exit 1.</summary>
internal static class CommandRunner
{
    /// <summary>Exit code of a command that failed for a reason the user can act on.</summary>
    public const int FailureExitCode = 1;

    public static int Run(ParseResult parseResult, Func<TextWriter, int> body)
    {
        InvocationConfiguration configuration = parseResult.InvocationConfiguration;
        try
        {
            return body(configuration.Output);
        }
        // Library load failures and native errors carry a complete message; a stack trace adds nothing for a user.
        catch (Exception exception) when (exception is MyelinException or DllNotFoundException or EntryPointNotFoundException)
        {
            configuration.Error.WriteLine($"error: {exception.Message}");
            return FailureExitCode;
        }
    }
}

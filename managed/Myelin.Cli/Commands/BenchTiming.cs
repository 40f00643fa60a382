using System.CommandLine;
using System.Diagnostics;

namespace Myelin.Cli.Commands;

/// <summary>What the kernel benchmarks share: the timing loop, the common options and the rate units.</summary>
internal static class BenchTiming
{
    /// <summary>Best and median seconds of one call, and how many calls were timed.</summary>
    internal readonly record struct Times(double Best, double Median, int Repetitions);

    /// <summary>One warm-up call, then timed calls until <paramref name="minSeconds"/> have passed (at least one).</summary>
    public static Times Measure(Action call, double minSeconds)
    {
        call();
        var seconds = new List<double>();
        var total = Stopwatch.StartNew();
        do
        {
            long start = Stopwatch.GetTimestamp();
            call();
            seconds.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        while (total.Elapsed.TotalSeconds < minSeconds);

        seconds.Sort();
        return new Times(seconds[0], seconds[seconds.Count / 2], seconds.Count);
    }

    public static Option<int?> ThreadsOption()
    {
        var threads = new Option<int?>("--threads") { Description = "Kernel threads (default: the current count, physical cores unless changed)." };
        threads.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is < 1)
            {
                result.AddError("--threads must be at least 1.");
            }
        });
        return threads;
    }

    public static Option<double> MinSecondsOption() => new("--min-seconds")
    {
        Description = "Timed repetitions per case continue until this much time has passed.",
        DefaultValueFactory = _ => 0.3,
    };

    public static Option<bool> JsonOption() => new("--json") { Description = "Print one JSON object as the last line." };

    /// <summary>
    /// A comma-separated list option (repeatable) whose items <paramref name="parse"/> reads; a
    /// <see cref="FormatException"/> from it becomes a parse error that starts with the option's name.
    /// </summary>
    public static Option<T[]> ListOption<T>(string name, string description, string defaultText, Func<string, T[]> parse) => new(name)
    {
        Description = $"{description} Default: {defaultText}.",
        DefaultValueFactory = _ => parse(defaultText),
        CustomParser = result =>
        {
            try
            {
                return [.. result.Tokens.SelectMany(token => parse(token.Value))];
            }
            catch (FormatException exception)
            {
                result.AddError($"{name}: {exception.Message}.");
                return [];
            }
        },
    };

    /// <summary>An integer option that must be at least <paramref name="minimum"/> (the parse error names it).</summary>
    public static Option<long> AtLeastOption(string name, string description, long defaultValue, long minimum = 1)
    {
        var option = new Option<long>(name) { Description = description, DefaultValueFactory = _ => defaultValue };
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<long>() < minimum) result.AddError($"{name} must be at least {minimum}.");
        });
        return option;
    }

    /// <summary>Decimal gigabytes per second of <paramref name="bytes"/> moved in <paramref name="seconds"/>, to 0.01.</summary>
    public static double Gbps(double bytes, double seconds) => Math.Round(bytes / seconds / 1e9, 2);

    /// <summary>Milliseconds, to 0.0001 (0.1 microseconds).</summary>
    public static double Milliseconds(double seconds) => Math.Round(seconds * 1e3, 4);

    /// <summary>Runs <paramref name="body"/> with the kernel thread count set, restoring the previous count after.</summary>
    public static int WithThreads(int? threadCount, Func<int> body)
    {
        // In-process callers (tests, hosts) keep the thread count they had.
        int previous = Device.Cpu.ThreadCount;
        try
        {
            if (threadCount is int count)
            {
                Device.Cpu.ThreadCount = count;
            }

            return body();
        }
        finally
        {
            Device.Cpu.ThreadCount = previous;
        }
    }
}

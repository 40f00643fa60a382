using System.CommandLine;
using System.Diagnostics;

namespace Myelin.Cli.Commands;

/// <summary>What the kernel benchmarks share: the timing loop and the <c>--threads</c> / <c>--min-seconds</c> options.</summary>
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

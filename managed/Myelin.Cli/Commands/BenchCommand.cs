using System.CommandLine;
using System.Diagnostics;
using System.Globalization;

namespace Myelin.Cli.Commands;

/// <summary><c>myelin bench gemm</c>: times the native kernels.</summary>
internal static class BenchCommand
{
    private const string DefaultShapes = "64x64x64,256x256x256,512x512x512";

    public static Command Create() => new("bench", "Time native kernels and compiled graphs.") { CreateGemm(), TrainStepBenchCommand.Create() };

    private static Command CreateGemm()
    {
        var shapes = new Option<GemmShape[]>("--shapes")
        {
            Description = "Comma-separated MxNxK sizes: C (MxN) = A (MxK) * B (KxN).",
            DefaultValueFactory = _ => GemmShape.ParseList(DefaultShapes),
            CustomParser = result =>
            {
                try
                {
                    return [.. result.Tokens.SelectMany(token => GemmShape.ParseList(token.Value))];
                }
                catch (FormatException exception)
                {
                    result.AddError($"--shapes: {exception.Message}.");
                    return [];
                }
            },
        };
        var threads = new Option<int?>("--threads") { Description = "Kernel threads (default: the current count, physical cores unless changed)." };
        threads.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is < 1)
            {
                result.AddError("--threads must be at least 1.");
            }
        });
        var minSeconds = new Option<double>("--min-seconds")
        {
            Description = "Timed repetitions per shape continue until this much time has passed.",
            DefaultValueFactory = _ => 0.3,
        };
        var json = new Option<bool>("--json") { Description = "Print one JSON object as the last line." };

        var command = new Command("gemm", "Time f32 GEMM (C = A * B) and report GFLOP/s per shape.") { shapes, threads, minSeconds, json };
        command.SetAction(parseResult => CommandRunner.Run(parseResult, output =>
        {
            GemmShape[] sizes = parseResult.GetValue(shapes) ?? [];
            int? threadCount = parseResult.GetValue(threads);
            int previousThreads = Device.Cpu.ThreadCount;
            try
            {
                if (threadCount is int count)
                {
                    Device.Cpu.ThreadCount = count;
                }

                var results = new List<GemmResult>();
                bool asJson = parseResult.GetValue(json);
                foreach (GemmShape size in sizes)
                {
                    GemmResult result = Measure(size, parseResult.GetValue(minSeconds));
                    results.Add(result);
                    if (!asJson)
                    {
                        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"gemm {size,-16} best {result.Gflops,9:F2} GFLOP/s  median {result.MedianGflops,9:F2} GFLOP/s  ({result.Repetitions} runs)"));
                    }
                }

                var report = new GemmReport("gemm", Device.Cpu.ThreadCount, results);
                if (asJson)
                {
                    output.WriteLine(JsonOutput.Serialize(report));
                }

                return 0;
            }
            finally
            {
                // In-process callers (tests, hosts) keep the thread count they had.
                Device.Cpu.ThreadCount = previousThreads;
            }
        }));
        return command;
    }

    /// <summary>One warm-up call, then timed calls until <paramref name="minSeconds"/> have passed.</summary>
    internal static GemmResult Measure(GemmShape size, double minSeconds)
    {
        using var scope = new TensorScope();
        var generator = new Generator(seed: 1);
        Tensor a = Tensor.Rand([size.M, size.K], generator: generator);
        Tensor b = Tensor.Rand([size.K, size.N], generator: generator);
        Tensor c = Tensor.Zeros([size.M, size.N]);
        Tensor.Gemm(a, b, output: c);

        var seconds = new List<double>();
        var total = Stopwatch.StartNew();
        do
        {
            long start = Stopwatch.GetTimestamp();
            Tensor.Gemm(a, b, output: c);
            seconds.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        while (total.Elapsed.TotalSeconds < minSeconds);

        seconds.Sort();
        double best = seconds[0];
        double median = seconds[seconds.Count / 2];
        return new GemmResult(size.M, size.N, size.K, Gflops(size, best), Gflops(size, median), best, seconds.Count);
    }

    private static double Gflops(GemmShape size, double seconds) => Math.Round(size.FlopCount / seconds / 1e9, 3);

    internal sealed record GemmReport(string Benchmark, int Threads, IReadOnlyList<GemmResult> Results);

    /// <summary>Best (highest) and median throughput of one shape; <c>Gflops</c> is the best.</summary>
    internal sealed record GemmResult(long M, long N, long K, double Gflops, double MedianGflops, double BestSeconds, int Repetitions);
}

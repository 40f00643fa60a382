using System.CommandLine;
using System.Globalization;

namespace Myelin.Cli.Commands;

/// <summary><c>myelin bench</c>: times the native kernels (<c>gemm</c> here; the others in their own files).</summary>
internal static class BenchCommand
{
    private const string DefaultShapes = "64x64x64,256x256x256,512x512x512";

    public static Command Create() => new("bench", "Time native kernels and compiled graphs.")
    {
        CreateGemm(), ConvBenchCommand.Create(), EltwiseBenchCommand.Create(), SoftmaxBenchCommand.Create(), NormBenchCommand.Create(),
        PoolBenchCommand.Create(), TrainStepBenchCommand.Create(), OnnxBenchCommand.Create(),
    };

    private static Command CreateGemm()
    {
        var shapes = BenchTiming.ListOption("--shapes", "Comma-separated MxNxK sizes: C (MxN) = A (MxK) * B (KxN).", DefaultShapes, GemmShape.ParseList);
        var threads = BenchTiming.ThreadsOption();
        var minSeconds = BenchTiming.MinSecondsOption();
        var json = BenchTiming.JsonOption();

        var command = new Command("gemm", "Time f32 GEMM (C = A * B) and report GFLOP/s per shape.") { shapes, threads, minSeconds, json };
        command.SetAction(parseResult => CommandRunner.Run(parseResult, output => BenchTiming.WithThreads(parseResult.GetValue(threads), () =>
        {
            GemmShape[] sizes = parseResult.GetValue(shapes) ?? [];
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

            if (asJson)
            {
                output.WriteLine(JsonOutput.Serialize(new GemmReport("gemm", Device.Cpu.ThreadCount, results)));
            }

            return 0;
        })));
        return command;
    }

    internal static GemmResult Measure(GemmShape size, double minSeconds)
    {
        using var scope = new TensorScope();
        var generator = new Generator(seed: 1);
        Tensor a = Tensor.Rand([size.M, size.K], generator: generator);
        Tensor b = Tensor.Rand([size.K, size.N], generator: generator);
        Tensor c = Tensor.Zeros([size.M, size.N]);
        BenchTiming.Times times = BenchTiming.Measure(() => Tensor.Gemm(a, b, output: c), minSeconds);
        return new GemmResult(size.M, size.N, size.K, Gflops(size, times.Best), Gflops(size, times.Median), times.Best, times.Repetitions);
    }

    private static double Gflops(GemmShape size, double seconds) => Math.Round(size.FlopCount / seconds / 1e9, 3);

    internal sealed record GemmReport(string Benchmark, int Threads, IReadOnlyList<GemmResult> Results);

    /// <summary>Best (highest) and median throughput of one shape; <c>Gflops</c> is the best.</summary>
    internal sealed record GemmResult(long M, long N, long K, double Gflops, double MedianGflops, double BestSeconds, int Repetitions);
}

using System.CommandLine;
using System.Globalization;

namespace Myelin.Cli.Commands;

/// <summary>
/// <c>myelin bench eltwise</c>: memory throughput of elementwise kernels on large f32 tensors, as a fraction of a
/// vectorized copy of the same size on the same threads (the identity op with streaming stores, which stands for
/// the machine's usable bandwidth, as STREAM's copy does).
/// </summary>
internal static class EltwiseBenchCommand
{
    private const string DefaultOps = "relu,sigmoid,tanh,exp,gelu,add,mul";

    public static Command Create()
    {
        var ops = new Option<string>("--ops")
        {
            Description = $"Comma-separated unary or binary op names (UnaryOp/BinaryOp members, any case). Default: {DefaultOps}.",
            DefaultValueFactory = _ => DefaultOps,
        };
        var elements = new Option<long>("--elements")
        {
            Description = "Elements per tensor (default 16M: 64 MiB of f32, well beyond the caches).",
            DefaultValueFactory = _ => 16L << 20,
        };
        elements.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<long>() < 1) result.AddError("--elements must be at least 1.");
        });
        var threads = BenchTiming.ThreadsOption();
        var minSeconds = BenchTiming.MinSecondsOption();
        var json = new Option<bool>("--json") { Description = "Print one JSON object as the last line." };
        var command = new Command("eltwise", "Time elementwise kernels and report GB/s and the fraction of a vectorized copy's GB/s.")
        {
            ops, elements, threads, minSeconds, json,
        };
        command.SetAction(parseResult => CommandRunner.Run(parseResult, output => BenchTiming.WithThreads(parseResult.GetValue(threads), () =>
        {
            EltwiseOp[] selected = EltwiseOp.ParseList(parseResult.GetValue(ops)!);
            long count = parseResult.GetValue(elements);
            double min = parseResult.GetValue(minSeconds);
            bool asJson = parseResult.GetValue(json);

            using var scope = new TensorScope();
            var generator = new Generator(seed: 1);
            // Inputs in [-2, 2) keep every op in its ordinary range (exp and gelu included).
            Tensor a = Tensor.Rand([count], generator: generator) * 4f - 2f;
            Tensor b = Tensor.Rand([count], generator: generator) * 4f - 2f;
            Tensor y = Tensor.Zeros([count]);

            double copyGbps = Gbps(2, count, BenchTiming.Measure(() => a.Unary(UnaryOp.Identity, y), min).Best);
            var results = new List<EltwiseResult>();
            foreach (EltwiseOp op in selected)
            {
                BenchTiming.Times times = BenchTiming.Measure(() => op.Run(a, b, y), min);
                double gbps = Gbps(op.Streams, count, times.Best);
                results.Add(new EltwiseResult(op.Name, Math.Round(gbps, 2), Math.Round(gbps / copyGbps, 3), times.Best));
            }

            if (asJson)
            {
                output.WriteLine(JsonOutput.Serialize(new EltwiseReport("eltwise", Device.Cpu.ThreadCount, count, Math.Round(copyGbps, 2), results)));
            }
            else
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"copy     {copyGbps,8:F2} GB/s (vectorized identity, {count} f32, {Device.Cpu.ThreadCount} threads)"));
                foreach (EltwiseResult r in results)
                {
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{r.Op,-8} {r.Gbps,8:F2} GB/s  {r.FractionOfCopy,6:P0} of copy"));
                }
            }

            return 0;
        })));
        return command;
    }

    /// <summary>Bytes read and written per second: every stream moves <paramref name="count"/> f32 values.</summary>
    private static double Gbps(int streams, long count, double seconds) => streams * count * sizeof(float) / seconds / 1e9;

    /// <summary>A unary op (one input stream) or a binary op (two), resolved from its name.</summary>
    private sealed record EltwiseOp(string Name, UnaryOp? Unary, BinaryOp? Binary)
    {
        public int Streams => Unary is null ? 3 : 2;

        public void Run(Tensor a, Tensor b, Tensor y)
        {
            if (Unary is UnaryOp unary)
            {
                a.Unary(unary, y);
            }
            else
            {
                Tensor.Binary(Binary!.Value, a, b, y);
            }
        }

        public static EltwiseOp[] ParseList(string text) =>
            [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Parse)];

        private static EltwiseOp Parse(string name)
        {
            if (Enum.TryParse(name, ignoreCase: true, out UnaryOp unary) && Enum.IsDefined(unary))
            {
                return new EltwiseOp(name.ToLowerInvariant(), unary, null);
            }

            if (Enum.TryParse(name, ignoreCase: true, out BinaryOp binary) && Enum.IsDefined(binary))
            {
                return new EltwiseOp(name.ToLowerInvariant(), null, binary);
            }

            throw new MyelinException(Status.InvalidArgument,
                $"--ops: '{name}' is neither a unary op ({string.Join(", ", Enum.GetNames<UnaryOp>())}) nor a binary op ({string.Join(", ", Enum.GetNames<BinaryOp>())}).");
        }
    }

    internal sealed record EltwiseReport(string Benchmark, int Threads, long Elements, double CopyGbps, IReadOnlyList<EltwiseResult> Results);

    internal sealed record EltwiseResult(string Op, double Gbps, double FractionOfCopy, double BestSeconds);
}

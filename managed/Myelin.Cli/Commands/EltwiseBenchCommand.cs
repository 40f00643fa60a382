using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Myelin.Native;
using Myelin.Ops;

namespace Myelin.Cli.Commands;

/// <summary>
/// <c>myelin bench eltwise</c>: memory throughput of elementwise kernels (unary forward, unary backward, binary) on large
/// f32 tensors, as a fraction of the machine's bandwidth measured in the same run for the same traffic: a copy (one
/// stream in, one out: the identity op, vectorized with streaming stores, as STREAM's copy) for unary forward, and
/// STREAM's add (two in, one out: the add op) for backward and binary ops. Each op is timed interleaved with its
/// baseline, best of each, so a machine that gets busier or quieter during the run moves both alike.
/// </summary>
internal static unsafe class EltwiseBenchCommand
{
    private const string DefaultOps =
        "relu,sigmoid,tanh,exp,gelu,silu,add,mul,relu_backward,sigmoid_backward,tanh_backward,gelu_backward,silu_backward";

    public static Command Create()
    {
        var ops = new Option<string>("--ops")
        {
            Description = $"Comma-separated unary or binary op names (UnaryOp/BinaryOp members, any case); a unary name with "
                + $"the suffix _backward times its backward (x, dy -> dx). Default: {DefaultOps}.",
            DefaultValueFactory = _ => DefaultOps,
        };
        var elements = new Option<long>("--elements")
        {
            Description = "Elements per tensor (default 64M: 256 MiB of f32, far beyond the caches).",
            DefaultValueFactory = _ => 64L << 20,
        };
        elements.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<long>() < 1) result.AddError("--elements must be at least 1.");
        });
        // The parameterized ops' alpha and beta change the values computed, not the work; 1 is a valid value for each
        // (celu rejects 0, which it divides by).
        var alpha = new Option<double>("--alpha")
        {
            Description = "alpha of the ops that take one (leaky_relu, elu, selu, celu, hard_sigmoid, ...; default 1).",
            DefaultValueFactory = _ => 1.0,
        };
        var beta = new Option<double>("--beta")
        {
            Description = "beta of the ops that take one (selu's gamma, hard_sigmoid's beta, ...; default 1).",
            DefaultValueFactory = _ => 1.0,
        };
        var isa = new Option<string?>("--isa") { Description = "Kernel ISA: scalar, avx2 or avx512 (default: the best this CPU runs)." };
        var threads = BenchTiming.ThreadsOption();
        var minSeconds = BenchTiming.MinSecondsOption();
        var json = new Option<bool>("--json") { Description = "Print one JSON object as the last line." };
        var command = new Command("eltwise",
            "Time elementwise kernels and report GB/s and the fraction of the copy / add bandwidth measured alongside.")
        {
            ops, elements, alpha, beta, isa, threads, minSeconds, json,
        };
        command.SetAction(parseResult => CommandRunner.Run(parseResult, output => BenchTiming.WithThreads(parseResult.GetValue(threads), () =>
        {
            EltwiseOp[] selected = EltwiseOp.ParseList(parseResult.GetValue(ops)!, parseResult.GetValue(alpha), parseResult.GetValue(beta));
            long count = parseResult.GetValue(elements);
            double min = parseResult.GetValue(minSeconds);
            bool asJson = parseResult.GetValue(json);
            Isa previousIsa = Runtime.Isa;
            if (parseResult.GetValue(isa) is string isaName)
            {
                if (!Enum.TryParse(isaName, ignoreCase: true, out Isa chosen) || !Enum.IsDefined(chosen))
                {
                    throw new MyelinException(Status.InvalidArgument, $"--isa: '{isaName}' is not one of {string.Join(", ", Enum.GetNames<Isa>())}.");
                }

                Runtime.SetIsa(chosen);
            }

            try
            {
                using var scope = new TensorScope();
                var generator = new Generator(seed: 1);
                // Inputs in [-2, 2) keep every op in its ordinary range (exp and gelu included).
                Tensor a = Tensor.Rand([count], generator: generator) * 4f - 2f;
                Tensor b = Tensor.Rand([count], generator: generator) * 4f - 2f;
                Tensor y = Tensor.Zeros([count]);
                var copy = new EltwiseOp("copy", UnaryOp.Identity, null, Backward: false, 0, 0);
                var add = new EltwiseOp("add", null, BinaryOp.Add, Backward: false, 0, 0);

                var results = new List<EltwiseResult>();
                double copyBest = double.MaxValue, addBest = double.MaxValue;
                foreach (EltwiseOp op in selected)
                {
                    EltwiseOp baseline = op.Streams == 2 ? copy : add;
                    (double opSeconds, double baselineSeconds) = MeasureInterleaved(() => op.Run(a, b, y), () => baseline.Run(a, b, y), min);
                    if (op.Streams == 2) copyBest = Math.Min(copyBest, baselineSeconds);
                    else addBest = Math.Min(addBest, baselineSeconds);
                    double gbps = Gbps(op.Streams, count, opSeconds);
                    double baselineGbps = Gbps(op.Streams, count, baselineSeconds);
                    results.Add(new EltwiseResult(op.Name, Math.Round(gbps, 2), baseline.Name, Math.Round(baselineGbps, 2),
                        Math.Round(gbps / baselineGbps, 3), opSeconds));
                }

                string isaText = Runtime.Isa.ToString().ToLowerInvariant();
                if (asJson)
                {
                    output.WriteLine(JsonOutput.Serialize(new EltwiseReport("eltwise", isaText, Device.Cpu.ThreadCount, count, results)));
                }
                else
                {
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{count} f32 per tensor, {Device.Cpu.ThreadCount} threads, isa {isaText}; baseline timed interleaved with each op"));
                    output.WriteLine($"{"op",-18} {"GB/s",8}  {"baseline",-8} {"GB/s",8}  fraction");
                    foreach (EltwiseResult r in results)
                    {
                        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"{r.Op,-18} {r.Gbps,8:F2}  {r.Baseline,-8} {r.BaselineGbps,8:F2}  {r.Fraction,6:P0}"));
                    }
                }

                return 0;
            }
            finally
            {
                Runtime.SetIsa(previousIsa);
            }
        })));
        return command;
    }

    /// <summary>
    /// One warm-up call of each, then alternating timed calls of <paramref name="op"/> and <paramref name="baseline"/>
    /// until <paramref name="minSeconds"/> have passed (at least three each); the best time of each.
    /// </summary>
    private static (double Op, double Baseline) MeasureInterleaved(Action op, Action baseline, double minSeconds)
    {
        op();
        baseline();
        double bestOp = double.MaxValue, bestBaseline = double.MaxValue;
        var total = Stopwatch.StartNew();
        for (int round = 0; round < 3 || total.Elapsed.TotalSeconds < minSeconds; round++)
        {
            long start = Stopwatch.GetTimestamp();
            op();
            bestOp = Math.Min(bestOp, Stopwatch.GetElapsedTime(start).TotalSeconds);
            start = Stopwatch.GetTimestamp();
            baseline();
            bestBaseline = Math.Min(bestBaseline, Stopwatch.GetElapsedTime(start).TotalSeconds);
        }

        return (bestOp, bestBaseline);
    }

    /// <summary>Bytes read and written per second: every stream moves <paramref name="count"/> f32 values.</summary>
    private static double Gbps(int streams, long count, double seconds) => streams * count * sizeof(float) / seconds / 1e9;

    /// <summary>
    /// A unary op forward (one input stream) or backward (two), with the parameters of the ops that take them, or a binary
    /// op (two), resolved from its name.
    /// </summary>
    private sealed record EltwiseOp(string Name, UnaryOp? Unary, BinaryOp? Binary, bool Backward, double Alpha, double Beta)
    {
        /// <summary>Tensors read plus written.</summary>
        public int Streams => Unary is not null && !Backward ? 2 : 3;

        /// <summary>Forward: y = op(a); backward: y = b * op'(a) (dy = b, dx = y); binary: y = a op b.</summary>
        public void Run(Tensor a, Tensor b, Tensor y)
        {
            if (Unary is not UnaryOp unary)
            {
                Tensor.Binary(Binary!.Value, a, b, y);
            }
            else if (!Backward)
            {
                TensorDesc x = BenchKernels.Describe(a), output = BenchKernels.Describe(y);
                KernelCalls.Unary(Device.Cpu.Handle, unary, Alpha, Beta, &x, &output);
            }
            else
            {
                TensorDesc x = BenchKernels.Describe(a), dy = BenchKernels.Describe(b), dx = BenchKernels.Describe(y);
                KernelCalls.UnaryBackward(Device.Cpu.Handle, unary, Alpha, Beta, &x, null, &dy, &dx);
            }
        }

        public static EltwiseOp[] ParseList(string text, double alpha, double beta) =>
            [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(name => Parse(name, alpha, beta))];

        private static EltwiseOp Parse(string name, double alpha, double beta)
        {
            const string backwardSuffix = "_backward";
            bool backward = name.EndsWith(backwardSuffix, StringComparison.OrdinalIgnoreCase);
            string opName = backward ? name[..^backwardSuffix.Length] : name;
            if (Enum.TryParse(opName, ignoreCase: true, out UnaryOp unary) && Enum.IsDefined(unary))
            {
                return new EltwiseOp(name.ToLowerInvariant(), unary, null, backward, alpha, beta);
            }

            if (!backward && Enum.TryParse(opName, ignoreCase: true, out BinaryOp binary) && Enum.IsDefined(binary))
            {
                return new EltwiseOp(name.ToLowerInvariant(), null, binary, Backward: false, 0, 0);
            }

            throw new MyelinException(Status.InvalidArgument,
                $"--ops: '{name}' is neither a unary op ({string.Join(", ", Enum.GetNames<UnaryOp>())}, optionally with the suffix "
                + $"{backwardSuffix}) nor a binary op ({string.Join(", ", Enum.GetNames<BinaryOp>())}).");
        }
    }

    internal sealed record EltwiseReport(string Benchmark, string Isa, int Threads, long Elements, IReadOnlyList<EltwiseResult> Results);

    internal sealed record EltwiseResult(string Op, double Gbps, string Baseline, double BaselineGbps, double Fraction, double BestSeconds);
}

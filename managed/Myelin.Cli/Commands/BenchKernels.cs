using System.CommandLine;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Myelin.Native;

namespace Myelin.Cli.Commands;

/// <summary>
/// What the kernel benchmarks without an eager <see cref="Tensor"/> op share: native descriptors of eager tensors,
/// dimension lists written <c>AxBxC</c>, the command skeleton, and the bandwidth report of the memory-bound kernels
/// (softmax, normalization, pooling).
/// </summary>
internal static unsafe class BenchKernels
{
    /// <summary>
    /// The descriptor of a contiguous CPU tensor of element type <typeparamref name="T"/>. The tensor must stay alive
    /// (its scope open) while the descriptor is used.
    /// </summary>
    public static TensorDesc Describe<T>(Tensor tensor) where T : unmanaged
    {
        Span<T> elements = tensor.AsSpan<T>();
        var desc = new TensorDesc { Data = Unsafe.AsPointer(ref MemoryMarshal.GetReference(elements)), DType = tensor.DType, Rank = tensor.Rank };
        for (int axis = 0; axis < tensor.Rank; axis++)
        {
            desc.Shape[axis] = tensor.Shape[axis];
            desc.Strides[axis] = tensor.Strides[axis];
        }

        return desc;
    }

    /// <inheritdoc cref="Describe{T}(Tensor)"/>
    public static TensorDesc Describe(Tensor tensor) => Describe<float>(tensor);

    /// <summary>Bytes of the elements of <paramref name="tensors"/>: the compulsory traffic when each is read or written once.</summary>
    public static long Bytes(params Tensor[] tensors) => tensors.Sum(t => t.ElementCount * t.ElementSize);

    /// <summary>
    /// Parses <c>AxBx...</c> with <paramref name="minRank"/> to <paramref name="maxRank"/> positive integers;
    /// <paramref name="form"/> names the expected form in the error (such as <c>RxC</c>).
    /// </summary>
    /// <exception cref="FormatException">The token is not of that form; the message names it.</exception>
    public static long[] ParseDims(string token, int minRank, int maxRank, string form)
    {
        string[] parts = token.Split('x', 'X');
        var dims = new long[parts.Length];
        bool valid = parts.Length >= minRank && parts.Length <= maxRank;
        for (int i = 0; valid && i < parts.Length; i++)
        {
            valid = long.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out dims[i]) && dims[i] > 0;
        }

        return valid ? dims : throw new FormatException($"invalid shape '{token}': expected {form} with positive integers");
    }

    /// <summary>Splits a comma-separated list of shapes and parses each with <see cref="ParseDims"/>.</summary>
    public static long[][] ParseDimsList(string text, int minRank, int maxRank, string form) =>
        [.. text.Split(',', StringSplitOptions.TrimEntries).Select(token => ParseDims(token, minRank, maxRank, form))];

    /// <summary>Splits a comma-separated list of names; each must be one of <paramref name="allowed"/> (any case).</summary>
    /// <exception cref="FormatException">A name is not allowed; the message names it and the allowed ones.</exception>
    public static string[] ParseNames(string text, IReadOnlyList<string> allowed)
    {
        string[] names = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        foreach (string name in names)
        {
            if (!allowed.Contains(name, StringComparer.OrdinalIgnoreCase))
            {
                throw new FormatException($"unknown name '{name}': expected one of {string.Join(", ", allowed)}");
            }
        }

        return names.Length > 0 ? [.. names.Select(n => n.ToLowerInvariant()).Distinct()] : throw new FormatException($"empty list: expected one or more of {string.Join(", ", allowed)}");
    }

    /// <summary>Writes <paramref name="dims"/> as <c>AxBx...</c>.</summary>
    public static string FormatDims(IEnumerable<long> dims) => string.Join('x', dims);

    /// <summary>
    /// A kernel benchmark command: <paramref name="options"/> plus the common <c>--threads</c>, <c>--min-seconds</c>
    /// and <c>--json</c>; <paramref name="body"/> runs with the thread count set and failures reported by
    /// <see cref="CommandRunner"/>.
    /// </summary>
    public static Command CreateCommand(string name, string description, Option[] options, Func<ParseResult, BenchRun, int> body)
    {
        var threads = BenchTiming.ThreadsOption();
        var minSeconds = BenchTiming.MinSecondsOption();
        var json = BenchTiming.JsonOption();
        var command = new Command(name, description);
        foreach (Option option in options.Append(threads).Append(minSeconds).Append(json))
        {
            command.Options.Add(option);
        }

        command.SetAction(parseResult => CommandRunner.Run(parseResult, output => BenchTiming.WithThreads(parseResult.GetValue(threads),
            () => body(parseResult, new BenchRun(name, output, parseResult.GetValue(minSeconds), parseResult.GetValue(json))))));
        return command;
    }
}

/// <summary>One run of a kernel benchmark command: where it writes, how long it times each case, and in which form.</summary>
internal sealed record BenchRun(string Benchmark, TextWriter Output, double MinSeconds, bool AsJson)
{
    /// <summary>Writes a human-readable line unless the run prints JSON.</summary>
    public void Line(FormattableString line)
    {
        if (!AsJson) Output.WriteLine(line.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>Writes the JSON report if the run prints JSON.</summary>
    public void Report<T>(T report)
    {
        if (AsJson) Output.WriteLine(JsonOutput.Serialize(report));
    }
}

/// <summary>
/// The results of a memory-bound benchmark (softmax, normalization, pooling): GB/s counts the bytes of every tensor
/// the kernel must read or write once (parameters and statistics included), so it compares with the machine's
/// copy bandwidth (<c>myelin bench eltwise</c>).
/// </summary>
internal sealed class BandwidthBench(BenchRun run)
{
    private readonly List<BandwidthResult> _results = [];

    /// <summary>Times <paramref name="call"/>, which moves <paramref name="bytes"/>, and records (and prints) the result.</summary>
    public void Measure(string kernel, long[] shape, string direction, long bytes, Action call)
    {
        BenchTiming.Times times = BenchTiming.Measure(call, run.MinSeconds);
        var result = new BandwidthResult(kernel, BenchKernels.FormatDims(shape), direction, BenchTiming.Gbps(bytes, times.Best),
            BenchTiming.Gbps(bytes, times.Median), BenchTiming.Milliseconds(times.Best), bytes, times.Repetitions);
        _results.Add(result);
        run.Line($"{run.Benchmark} {kernel,-20} {result.Shape,-18} {direction,-9} {result.Gbps,8:F2} GB/s  median {result.MedianGbps,8:F2} GB/s  {result.Ms,9:F4} ms  ({result.Repetitions} runs)");
    }

    /// <summary>Prints the JSON report (when asked for) and returns the exit code.</summary>
    public int Finish()
    {
        run.Report(new BandwidthReport(run.Benchmark, Device.Cpu.ThreadCount, _results));
        return 0;
    }
}

internal sealed record BandwidthReport(string Benchmark, int Threads, IReadOnlyList<BandwidthResult> Results);

/// <summary>One kernel on one shape in one direction; <c>Gbps</c> and <c>Ms</c> are of the best run.</summary>
internal sealed record BandwidthResult(string Kernel, string Shape, string Direction, double Gbps, double MedianGbps, double Ms, long Bytes, int Repetitions);

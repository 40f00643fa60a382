using System.CommandLine;
using System.Diagnostics;
using Myelin.Onnx;

namespace Myelin.Cli.Commands;

/// <summary>
/// <c>myelin bench onnx --model FILE</c>: how long <see cref="InferenceSession.Load(string, Execution.CompileOptions?)"/>
/// takes (the first load in the process, which also pays for JIT compilation, then the best and median of later
/// loads) and the latency of one run on feeds of ones, with symbolic dims set by <c>--dim</c>.
/// </summary>
internal static class OnnxBenchCommand
{
    public static Command Create()
    {
        Option<FileInfo> model = TrainingSetup.ExistingFile("--model", "The ONNX model file.");
        var dim = BenchTiming.AtLeastOption("--dim", "The size given to every symbolic input dim (such as a batch N).", 1);
        return BenchKernels.CreateCommand("onnx", "Time loading an ONNX model (import and compile) and running it once.", [model, dim], (parseResult, run) =>
        {
            string path = parseResult.GetValue(model)!.FullName;
            long start = Stopwatch.GetTimestamp();
            using (InferenceSession.Load(path))
            {
                // Only the load is timed: disposing is not part of it.
            }

            double firstMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            BenchTiming.Times load = BenchTiming.Measure(() => InferenceSession.Load(path).Dispose(), run.MinSeconds);

            using InferenceSession session = InferenceSession.Load(path);
            using var scope = new TensorScope();
            long size = parseResult.GetValue(dim);
            var feeds = session.Inputs.ToDictionary(i => i.Name, i => Tensor.Full(new Shape(i.Type.ToArray().Select(d => d.IsKnown ? d.Value : size).ToArray()), 1, i.Type.DType));
            BenchTiming.Times latency = BenchTiming.Measure(() =>
            {
                foreach (Tensor output in session.Run(feeds)) output.Dispose();
            }, run.MinSeconds);

            run.Line($"onnx {Path.GetFileName(path)}: first load {firstMs:F1} ms, warm load best {load.Best * 1e3:F1} ms median {load.Median * 1e3:F1} ms ({load.Repetitions} loads), run best {latency.Best * 1e3:F2} ms median {latency.Median * 1e3:F2} ms ({latency.Repetitions} runs)");
            run.Report(new OnnxBenchReport("onnx", path, Device.Cpu.ThreadCount, Math.Round(firstMs, 3), Math.Round(load.Best * 1e3, 3), Math.Round(load.Median * 1e3, 3),
                Math.Round(latency.Best * 1e3, 3), Math.Round(latency.Median * 1e3, 3)));
            return 0;
        });
    }

    internal sealed record OnnxBenchReport(string Benchmark, string Model, int Threads, double FirstLoadMs, double WarmLoadMs, double MedianLoadMs, double RunMs, double MedianRunMs);
}

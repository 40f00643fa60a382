using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Myelin.Execution;
using Myelin.Models;
using Myelin.Optim;

namespace Myelin.Cli.Commands;

/// <summary><c>myelin bench train-step</c>: times one compiled training step (forward, backward, Adam) and reports its memory plan.</summary>
internal static class TrainStepBenchCommand
{
    private static readonly int[] s_mlpSizes = [784, 256, 128, 10];

    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model: mlp (784-256-128-10, ReLU, softmax cross-entropy, Adam) or cnn.", DefaultValueFactory = _ => "mlp" };
        model.AcceptOnlyFromAmong("mlp", "cnn");
        var batchSize = new Option<int>("--batch-size") { Description = "Rows per step.", DefaultValueFactory = _ => 128 };
        batchSize.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() < 1) result.AddError("--batch-size must be at least 1.");
        });
        var steps = new Option<int>("--steps") { Description = "Timed steps after 3 warm-up steps.", DefaultValueFactory = _ => 50 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object as the last line." };
        var command = new Command("train-step", "Time a compiled training step and report ms/step, arena bytes, naive bytes and bytes allocated per step.")
        {
            model, batchSize, steps, json,
        };
        command.SetAction(parseResult => CommandRunner.Run(parseResult, output =>
        {
            string name = parseResult.GetValue(model)!;
            TrainStepReport report = Measure(name, parseResult.GetValue(batchSize), Math.Max(1, parseResult.GetValue(steps)));
            if (parseResult.GetValue(json))
            {
                output.WriteLine(JsonOutput.Serialize(report));
            }
            else
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"train-step {(name == "mlp" ? "mlp 784-256-128-10" : "cnn conv8-pool-conv16-pool-fc10")} batch {report.BatchSize}: {report.MsPerStep:F3} ms/step, arena {report.ArenaBytes} bytes, naive {report.NaiveBytes} bytes ({(double)report.ArenaBytes / report.NaiveBytes:P0}), allocated {report.AllocatedBytesPerStep} bytes/step, {report.NativeAllocationsPerStep} native allocations/step, loss {report.FirstLoss:F4} -> {report.LastLoss:F4}"));
            }

            return 0;
        }));
        return command;
    }

    internal static TrainStepReport Measure(string name, int batch, int steps)
    {
        using var scope = new TensorScope();
        ModelGraph model = name == "cnn" ? BenchmarkModels.Cnn(seed: 1) : BenchmarkModels.Mlp(s_mlpSizes, seed: 1);
        using CompiledGraph step = TrainingStep.Compile(model.Loss, model.Parameters, new Adam(learningRate: 1e-3));
        var generator = new Generator(seed: 2);
        Tensor x = Tensor.Rand(name == "cnn" ? [batch, 1, 28, 28] : [batch, s_mlpSizes[0]], generator: generator);
        const int classes = 10;
        float[] oneHot = new float[batch * classes];
        for (int row = 0; row < batch; row++) oneHot[row * classes + (int)(generator.NextUInt32() % classes)] = 1;
        Tensor target = Tensor.FromArray(oneHot, [batch, classes]);
        var feeds = new Dictionary<string, Tensor> { ["x"] = x, ["target"] = target };

        float firstLoss = step.Run(feeds)[0].Item<float>();
        for (int i = 0; i < 2; i++) step.Run(feeds);
        ExecutionPlan plan = step.PlanFor(feeds);
        long nativeBefore = Device.Cpu.GetMemoryStats().AllocationCount;
        long managedBefore = GC.GetAllocatedBytesForCurrentThread();
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < steps; i++) step.Run(feeds);
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        long managed = GC.GetAllocatedBytesForCurrentThread() - managedBefore;
        long native = Device.Cpu.GetMemoryStats().AllocationCount - nativeBefore;
        float lastLoss = step.Run(feeds)[0].Item<float>();
        return new TrainStepReport("train-step", name, batch, Math.Round(seconds * 1000 / steps, 4), plan.ArenaBytes, plan.NaiveBytes,
            managed / steps, (double)native / steps, steps, firstLoss, lastLoss);
    }

    internal sealed record TrainStepReport(string Benchmark, string Model, int BatchSize, double MsPerStep, long ArenaBytes, long NaiveBytes,
        long AllocatedBytesPerStep, double NativeAllocationsPerStep, int Steps, float FirstLoss, float LastLoss);
}

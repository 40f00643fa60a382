using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Myelin.Execution;
using Myelin.Models;
using Myelin.NN;
using Myelin.Optim;

namespace Myelin.Cli.Commands;

/// <summary><c>myelin bench train-step</c>: times one compiled training step (forward, backward, Adam) and reports its memory plan.</summary>
internal static class TrainStepBenchCommand
{
    private static readonly int[] s_mlpSizes = [784, 256, 128, 10];

    public static Command Create()
    {
        var model = new Option<string>("--model")
        {
            Description = "Model: mlp (784-256-128-10, ReLU, softmax cross-entropy), cnn, lstm (LSTM 128->256, T=64, MSE on its outputs) or "
                + "transformer (encoder layer d=256, 4 heads, ff 1024, T=128, dropout 0, MSE on its outputs); all train with Adam 1e-3.",
            DefaultValueFactory = _ => "mlp",
        };
        model.AcceptOnlyFromAmong("mlp", "cnn", "lstm", "transformer");
        var size = new Option<string>("--size")
        {
            Description = "full: the shapes above; tiny: small lstm (8->16, T=4) and transformer (d=16, 2 heads, ff 32, T=8) for quick checks (mlp and cnn have one size).",
            DefaultValueFactory = _ => "full",
        };
        size.AcceptOnlyFromAmong("full", "tiny");
        var batchSize = new Option<int?>("--batch-size") { Description = "Rows per step (default: 128 for mlp and cnn, 32 for lstm, 16 for transformer)." };
        batchSize.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() < 1) result.AddError("--batch-size must be at least 1.");
        });
        var steps = new Option<int>("--steps") { Description = "Timed steps after 3 warm-up steps.", DefaultValueFactory = _ => 50 };
        var profile = new Option<bool>("--profile") { Description = "After timing, profile the steps launch by launch and print the costliest ops and nodes (before the JSON line)." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object as the last line." };
        var command = new Command("train-step", "Time a compiled training step and report ms/step, arena bytes, naive bytes and bytes allocated per step.")
        {
            model, size, batchSize, steps, profile, json,
        };
        command.SetAction(parseResult => CommandRunner.Run(parseResult, output =>
        {
            string name = parseResult.GetValue(model)!;
            TrainStepReport report = Measure(name, parseResult.GetValue(size) == "tiny", parseResult.GetValue(batchSize) ?? DefaultBatch(name),
                Math.Max(1, parseResult.GetValue(steps)), parseResult.GetValue(profile) ? output : null);
            if (parseResult.GetValue(json))
            {
                output.WriteLine(JsonOutput.Serialize(report));
            }
            else
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"train-step {report.Shape} batch {report.BatchSize}: {report.MsPerStep:F3} ms/step, arena {report.ArenaBytes} bytes, naive {report.NaiveBytes} bytes ({(double)report.ArenaBytes / report.NaiveBytes:P0}), allocated {report.AllocatedBytesPerStep} bytes/step, {report.NativeAllocationsPerStep} native allocations/step, loss {report.FirstLoss:F4} -> {report.LastLoss:F4}"));
            }

            return 0;
        }));
        return command;
    }

    private static int DefaultBatch(string name) => name switch { "lstm" => 32, "transformer" => 16, _ => 128 };

    // The model, its input and target shapes for one batch, and how the report names its shape.
    private static (ModelGraph Model, long[] Input, long[] Target, string Shape) Build(string name, bool tiny, int batch) => (name, tiny) switch
    {
        ("mlp", _) => (BenchmarkModels.Mlp(s_mlpSizes, seed: 1), [batch, s_mlpSizes[0]], [batch, 10], "mlp 784-256-128-10"),
        ("cnn", _) => (BenchmarkModels.Cnn(seed: 1), [batch, 1, 28, 28], [batch, 10], "cnn conv8-pool-conv16-pool-fc10"),
        ("lstm", false) => (BenchmarkModels.Lstm(128, 256, 64, seed: 1), [64, batch, 128], [64, batch, 256], "lstm 128->256 T=64"),
        ("lstm", true) => (BenchmarkModels.Lstm(8, 16, 4, seed: 1), [4, batch, 8], [4, batch, 16], "lstm 8->16 T=4"),
        ("transformer", false) => (BenchmarkModels.Transformer(256, 4, 1024, 128, seed: 1), [128, batch, 256], [128, batch, 256], "transformer d=256 h=4 ff=1024 T=128"),
        _ => (BenchmarkModels.Transformer(16, 2, 32, 8, seed: 1), [8, batch, 16], [8, batch, 16], "transformer d=16 h=2 ff=32 T=8"),
    };

    internal static TrainStepReport Measure(string name, bool tiny, int batch, int steps, TextWriter? profileOutput = null)
    {
        using var scope = new TensorScope();
        (ModelGraph model, long[] inputShape, long[] targetShape, string shape) = Build(name, tiny, batch);
        using Module? owner = model.Owner;
        using CompiledGraph step = TrainingStep.Compile(model.Loss, model.Parameters, new Adam(learningRate: 1e-3));
        var generator = new Generator(seed: 2);
        Tensor x = Tensor.Rand(inputShape, generator: generator);
        Tensor target;
        if (name is "mlp" or "cnn")
        {
            const int classes = 10;
            float[] oneHot = new float[batch * classes];
            for (int row = 0; row < batch; row++) oneHot[row * classes + (int)(generator.NextUInt32() % classes)] = 1;
            target = Tensor.FromArray(oneHot, [batch, classes]);
        }
        else
        {
            target = Tensor.RandN(targetShape, generator: generator);
        }

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
        if (profileOutput is not null) WriteProfile(profileOutput, step.Profile(feeds, steps));
        return new TrainStepReport("train-step", name, shape, batch, Math.Round(seconds * 1000 / steps, 4), plan.ArenaBytes, plan.NaiveBytes,
            managed / steps, (double)native / steps, steps, firstLoss, lastLoss);
    }

    // The ops by total time, then the 15 costliest launches.
    private static void WriteProfile(TextWriter output, IReadOnlyList<LaunchProfile> profile)
    {
        double total = profile.Sum(p => p.Milliseconds);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"profile: {profile.Count} launches, {total:F3} ms/step launched one at a time"));
        foreach (var op in profile.GroupBy(p => p.Op).Select(g => (Op: g.Key, Count: g.Count(), Ms: g.Sum(p => p.Milliseconds))).OrderByDescending(g => g.Ms))
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  op {op.Op,-28} {op.Count,5} launches {op.Ms,10:F3} ms {op.Ms / total,7:P1}"));
        }

        foreach (LaunchProfile launch in profile.OrderByDescending(p => p.Milliseconds).Take(15))
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  node {launch.Launch} ({launch.Op}) {launch.Milliseconds:F3} ms"));
        }
    }

    internal sealed record TrainStepReport(string Benchmark, string Model, string Shape, int BatchSize, double MsPerStep, long ArenaBytes, long NaiveBytes,
        long AllocatedBytesPerStep, double NativeAllocationsPerStep, int Steps, float FirstLoss, float LastLoss);
}

using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Myelin.Data;
using Myelin.NN;
using Myelin.Optim;
using Myelin.Training;

namespace Myelin.Cli.Commands;

/// <summary>
/// <c>myelin train</c>: trains mlp, cnn or lstm on digits, Fashion-MNIST, an IDX directory or a CSV file, then reports
/// the held-out accuracy and loss and the mean seconds per training pass.
/// </summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var data = new Option<string>("--data") { Description = TrainingSetup.DataHelp, Required = true };
        Option<string> model = TrainingSetup.ModelOption(required: false);
        Option<int> epochs = TrainingSetup.PositiveInt("--epochs", "Passes over the training data.", 5);
        Option<int> batchSize = TrainingSetup.PositiveInt("--batch-size", "Samples per training step.", 128);
        var optimizer = new Option<string>("--optimizer") { Description = "sgd, momentum (SGD with momentum 0.9), rmsprop, adam or adamw.", DefaultValueFactory = _ => "adam" };
        TrainingSetup.AcceptOnly(optimizer, TrainingSetup.OptimizerNames);
        var learningRate = new Option<double>("--lr") { Description = "Learning rate (the peak rate for onecycle).", DefaultValueFactory = _ => 1e-3 };
        learningRate.Validators.Add(result =>
        {
            double value = result.GetValueOrDefault<double>();
            if (!(value > 0) || double.IsInfinity(value)) result.AddError(string.Create(CultureInfo.InvariantCulture, $"--lr must be a positive number but is {value}."));
        });
        var schedule = new Option<string>("--schedule")
        {
            Description = "Learning-rate schedule: none, step (x0.1 every third of the epochs), cosine (to 0 over all batches, per batch), exponential (x0.9 per epoch), onecycle (per batch).",
            DefaultValueFactory = _ => "none",
        };
        TrainingSetup.AcceptOnly(schedule, TrainingSetup.ScheduleNames);
        var outFile = new Option<string?>("--out") { Description = "Save the trained weights (with the fitted standardization) to this file." };
        var checkpoint = new Option<string?>("--checkpoint")
        {
            Description = "Save the full training state (weights, optimizer, schedule, random streams, history) to this file after every epoch, atomically.",
        };
        var resume = new Option<bool>("--resume") { Description = "Continue from the --checkpoint file when it exists (same data, model and settings), up to --epochs in all." };
        var logDirectory = new Option<string?>("--log-dir") { Description = "Write TensorBoard event files (scalars and weight histograms) to this directory." };
        var threads = new Option<int?>("--threads") { Description = "Kernel threads (default: the runtime's choice)." };
        threads.Validators.Add(result =>
        {
            int? value = result.GetValueOrDefault<int?>();
            if (value is < 1) result.AddError($"--threads must be at least 1 but is {value}.");
        });
        var seed = new Option<ulong>("--seed") { Description = "Seed of the weight initialization and of the shuffling.", DefaultValueFactory = _ => 1 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object as the last line." };
        var command = new Command("train", "Train a classifier and report its held-out accuracy and loss.")
        {
            data, model, epochs, batchSize, optimizer, learningRate, schedule, outFile, checkpoint, resume, logDirectory, threads, seed, json,
        };
        command.Validators.Add(result =>
        {
            if (result.GetValue(resume) && result.GetValue(checkpoint) is null) result.AddError("--resume needs --checkpoint FILE.");
        });
        command.SetAction(parseResult => TrainingSetup.Run(parseResult, "--data", output =>
        {
            if (parseResult.GetValue(threads) is int count) Device.Cpu.ThreadCount = count;
            var options = new TrainOptions(parseResult.GetValue(data)!, parseResult.GetValue(model)!, parseResult.GetValue(epochs), parseResult.GetValue(batchSize),
                parseResult.GetValue(optimizer)!, parseResult.GetValue(learningRate), parseResult.GetValue(schedule)!, parseResult.GetValue(outFile),
                parseResult.GetValue(logDirectory), parseResult.GetValue(checkpoint), parseResult.GetValue(resume), parseResult.GetValue(seed));
            TrainReport report = Train(options, output);
            if (parseResult.GetValue(json))
            {
                output.WriteLine(JsonOutput.Serialize(report));
            }
            else
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{options.Model} on {options.Data}: test accuracy {report.TestAccuracy:0.0000}, test loss {report.TestLoss:0.0000}, {report.SecondsPerEpoch:0.00} s per epoch ({report.Epochs} epochs)"));
                if (options.Out is not null) output.WriteLine($"Saved weights to {options.Out}");
            }

            return 0;
        }));
        return command;
    }

    /// <summary>Trains as <paramref name="options"/> say, writing progress to <paramref name="output"/>.</summary>
    internal static TrainReport Train(TrainOptions options, TextWriter output)
    {
        TrainingData data = TrainingSetup.LoadData(options.Data);
        InMemoryDataset train = TrainingSetup.ShapeFor(options.Model, data.Train);
        InMemoryDataset test = TrainingSetup.ShapeFor(options.Model, data.Test);
        using Sequential network = TrainingSetup.BuildNetwork(options.Model, train.SampleShape, Math.Max(train.ClassCount, test.ClassCount), options.Seed);
        ((Standardization)network.Layers[0]).Set(TrainingSetup.FitStandardization(data, train));
        Optimizer optimizer = TrainingSetup.CreateOptimizer(options.Optimizer, options.LearningRate);
        using Model model = TrainingSetup.Compile(network, optimizer);
        var loader = new DataLoader(train, options.BatchSize, shuffle: true, seed: options.Seed);
        var timer = new EpochTimer();
        List<Callback> callbacks = [timer];
        if (TrainingSetup.CreateSchedule(options.Schedule, optimizer, options.Epochs, loader.BatchCount) is { } scheduler) callbacks.Add(scheduler);
        using TensorBoard? board = options.LogDirectory is null ? null : new TensorBoard(options.LogDirectory);
        if (board is not null) callbacks.Add(board);
        (ProgressMode mode, Callback? logger) = TrainingSetup.Progress(output);
        if (logger is not null) callbacks.Add(logger);
        int initialEpoch = 0;
        if (options.Checkpoint is not null)
        {
            callbacks.Add(new ModelCheckpoint(options.Checkpoint));
            if (options.Resume && File.Exists(options.Checkpoint))
            {
                try
                {
                    initialEpoch = Math.Min(model.LoadCheckpoint(options.Checkpoint), options.Epochs);
                }
                catch (CheckpointException exception)
                {
                    throw new ArgumentException($"--checkpoint: {exception.Message}", exception);
                }

                output.WriteLine($"Resuming from {options.Checkpoint} after epoch {initialEpoch}.");
            }
        }

        History history = model.Fit(loader, epochs: options.Epochs, callbacks: callbacks, progress: mode, initialEpoch: initialEpoch);
        IReadOnlyDictionary<string, double> results = model.Evaluate(TrainingSetup.EvaluationLoader(test, options.BatchSize));
        if (options.Out is not null) model.SaveWeights(options.Out);
        return new TrainReport(results["accuracy"], results["loss"], timer.MeanSeconds, history.Epochs.Count);
    }

    /// <summary>What <c>train</c> was asked to do.</summary>
    internal sealed record TrainOptions(string Data, string Model, int Epochs, int BatchSize, string Optimizer, double LearningRate, string Schedule,
        string? Out, string? LogDirectory, string? Checkpoint = null, bool Resume = false, ulong Seed = 1);

    /// <summary>The JSON of <c>train --json</c>.</summary>
    internal sealed record TrainReport(double TestAccuracy, double TestLoss, double SecondsPerEpoch, int Epochs);

    /// <summary>Times each epoch's training pass: from the epoch's start to its last training batch (no evaluation inside).</summary>
    private sealed class EpochTimer : Callback
    {
        private readonly List<double> _seconds = [];
        private long _start, _lastBatch;

        /// <summary>The mean seconds of the timed passes.</summary>
        public double MeanSeconds => _seconds.Count == 0 ? 0 : _seconds.Average();

        /// <inheritdoc/>
        public override void OnEpochBegin(int epoch) => _start = _lastBatch = Stopwatch.GetTimestamp();

        /// <inheritdoc/>
        public override void OnBatchEnd(int batch, BatchLogs logs) => _lastBatch = Stopwatch.GetTimestamp();

        /// <inheritdoc/>
        public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs) => _seconds.Add(Stopwatch.GetElapsedTime(_start, _lastBatch).TotalSeconds);
    }
}

using System.CommandLine;
using Myelin.Data;
using Myelin.Graphs;
using Myelin.Metrics;
using Myelin.NN;
using Myelin.Optim;
using Myelin.Training;

namespace Myelin.Cli.Commands;

/// <summary>A dataset for the training commands: the training and held-out test samples.</summary>
/// <param name="Name">The dataset as the user named it.</param>
/// <param name="Train">Training samples.</param>
/// <param name="Test">Held-out samples (Fashion-MNIST's test set, or the seeded stratified test part of a single set).</param>
/// <param name="IsTabular">Whether the features are tabular (CSV, digits), standardized per feature, rather than images (IDX), standardized per channel; both fitted on the training part.</param>
internal sealed record TrainingData(string Name, InMemoryDataset Train, InMemoryDataset Test, bool IsTabular);

/// <summary>What <c>train</c>, <c>eval</c>, <c>predict</c> and <c>demo</c> share: data, networks, optimizers, schedules and argument checks.</summary>
internal static class TrainingSetup
{
    /// <summary>The model names <c>--model</c> accepts.</summary>
    public static readonly string[] ModelNames = ["mlp", "cnn", "lstm"];

    /// <summary>The optimizer names <c>--optimizer</c> accepts.</summary>
    public static readonly string[] OptimizerNames = ["sgd", "momentum", "rmsprop", "adam", "adamw"];

    /// <summary>The schedule names <c>--schedule</c> accepts.</summary>
    public static readonly string[] ScheduleNames = ["none", "step", "cosine", "exponential", "onecycle"];

    /// <summary>The share of a single dataset (digits, a CSV file) held out for testing, split stratified with <see cref="SplitSeed"/>.</summary>
    public const double TestFraction = 0.2;

    /// <summary>The seed of the test split, so that <c>eval</c> sees the samples <c>train</c> held out.</summary>
    public const ulong SplitSeed = 0;

    /// <summary>Name of the layer holding the feature means and scales (a weights file's "standardize.mean" gives the sample shape).</summary>
    public const string StandardizeName = "standardize";

    /// <summary>Name of the final dense layer (a weights file's "classifier.weight" gives the class count).</summary>
    public const string ClassifierName = "classifier";

    /// <summary>Help text of <c>--model</c>.</summary>
    public const string ModelHelp =
        "mlp: dense 256, ReLU, dense 128, ReLU, dense C (784-256-128-10 on Fashion-MNIST). "
        + "cnn: conv 32 3x3 pad 1, ReLU, maxpool 2, conv 64 3x3 pad 1, ReLU, maxpool 2, dense 128, ReLU, dense C. "
        + "lstm: reads an image row by row (one row per time step) with an LSTM of 128 hidden units; its last hidden state feeds dense C. "
        + "cnn and lstm need images; flat features of a square count n*n are taken as n x n images.";

    /// <summary>Help text of <c>--data</c>.</summary>
    public const string DataHelp =
        "digits (the UCI digits embedded in Myelin), fashion-mnist (from " + FashionMnist.DefaultDirectory + "), "
        + "a directory of MNIST-layout IDX files (train-/t10k-images-idx3-ubyte, -labels-idx1-ubyte, raw or .gz), "
        + "or a CSV file whose last column is the class label. A single set (digits, CSV) is split "
        + "stratified into 80% training and 20% test. The inputs are standardized with statistics of the training part only: "
        + "per feature for CSV and digits, one mean and deviation per channel for images (IDX).";

    /// <summary>An option that must be at least 1.</summary>
    public static Option<int> PositiveInt(string name, string description, int defaultValue)
    {
        var option = new Option<int>(name) { Description = description, DefaultValueFactory = _ => defaultValue };
        option.Validators.Add(result =>
        {
            int value = result.GetValueOrDefault<int>();
            if (value < 1) result.AddError($"{name} must be at least 1 but is {value}.");
        });
        return option;
    }

    /// <summary>Restricts <paramref name="option"/> to <paramref name="names"/>, with an error that names the option.</summary>
    public static void AcceptOnly(Option<string> option, string[] names)
    {
        option.Validators.Add(result =>
        {
            string? value = result.GetValueOrDefault<string>();
            if (value is not null && !names.Contains(value)) result.AddError($"{option.Name} must be one of {string.Join(", ", names)} but is '{value}'.");
        });
        option.CompletionSources.Add(names);
    }

    /// <summary>The <c>--model</c> option.</summary>
    public static Option<string> ModelOption(bool required)
    {
        var option = new Option<string>("--model") { Description = ModelHelp, Required = required };
        if (!required) option.DefaultValueFactory = _ => "mlp";
        AcceptOnly(option, ModelNames);
        return option;
    }

    /// <summary>An option naming a file that must exist.</summary>
    public static Option<FileInfo> ExistingFile(string name, string description)
    {
        var option = new Option<FileInfo>(name) { Description = description, Required = true };
        option.Validators.Add(result =>
        {
            FileInfo? file = result.GetValueOrDefault<FileInfo>();
            if (file is not null && !file.Exists) result.AddError($"{name}: file '{file.FullName}' does not exist.");
        });
        return option;
    }

    /// <summary>
    /// Runs a training command body: on top of <see cref="CommandRunner"/>, failures to read the data or the weights
    /// (missing files, malformed CSV or IDX) print one message naming <paramref name="dataArgument"/>, and data that does not
    /// fit the model one naming the argument at fault; both exit 1.
    /// </summary>
    public static int Run(ParseResult parseResult, string dataArgument, Func<TextWriter, int> body) => CommandRunner.Run(parseResult, output =>
    {
        try
        {
            return body(output);
        }
        catch (Exception exception) when (exception is IOException or FormatException or InvalidDataException or UnauthorizedAccessException)
        {
            parseResult.InvocationConfiguration.Error.WriteLine($"error: {dataArgument}: {exception.Message}");
            return CommandRunner.FailureExitCode;
        }
        // Data that does not fit the chosen model (cnn on non-image features, weights of another model) names the argument at fault.
        catch (ArgumentException exception)
        {
            parseResult.InvocationConfiguration.Error.WriteLine($"error: {exception.Message}");
            return CommandRunner.FailureExitCode;
        }
    });

    /// <summary>Loads <paramref name="spec"/>: "digits", "fashion-mnist", an IDX directory or a CSV file (see <see cref="DataHelp"/>).</summary>
    /// <exception cref="FileNotFoundException">The dataset is not there; for Fashion-MNIST the message says how to get it.</exception>
    public static TrainingData LoadData(string spec)
    {
        if (spec == "digits") return SplitSingle(spec, Digits.Load().Reshape([1, 8, 8]));
        if (spec == "fashion-mnist") return FromIdxDirectory(spec, FashionMnist.DefaultDirectory);
        if (Directory.Exists(spec)) return FromIdxDirectory(spec, spec);
        if (File.Exists(spec)) return SplitSingle(spec, CsvDataset.Load(spec).Dataset);
        throw new FileNotFoundException($"'{spec}' is neither digits, fashion-mnist, an IDX directory nor a CSV file.", spec);
    }

    /// <summary>The samples of <paramref name="dataset"/> shaped as the network <paramref name="model"/> needs them.</summary>
    /// <exception cref="ArgumentException">cnn or lstm was asked for features that are not an image.</exception>
    public static InMemoryDataset ShapeFor(string model, InMemoryDataset dataset)
    {
        if (model == "mlp" || dataset.SampleShape.Count == 3) return dataset;
        long size = dataset.SampleSize;
        long side = (long)Math.Round(Math.Sqrt(size));
        if (dataset.SampleShape.Count == 1 && side * side == size) return dataset.Reshape([1, side, side]);
        throw new ArgumentException($"--model {model} needs images [1, H, W] or n*n features, but the samples are [{string.Join(", ", dataset.SampleShape)}].");
    }

    /// <summary>
    /// The network <paramref name="model"/> for samples of <paramref name="sampleShape"/> and <paramref name="classes"/>
    /// classes, its first layer standardizing the features (identity until <see cref="Standardization.Set"/> or loaded weights).
    /// </summary>
    public static Sequential BuildNetwork(string model, IReadOnlyList<long> sampleShape, int classes, ulong seed = 1)
    {
        var generator = new Generator(seed);
        long features = sampleShape.Aggregate(1L, (a, b) => a * b);
        var network = new Sequential();
        network.Add(new Standardization([.. sampleShape]), StandardizeName);
        long hidden;
        switch (model)
        {
            case "mlp":
                network.Add(new Flatten())
                    .Add(new Linear(features, 256, generator: generator)).Add(new ReLU())
                    .Add(new Linear(256, 128, generator: generator)).Add(new ReLU());
                hidden = 128;
                break;
            case "cnn":
                (long channels, long height, long width) = ImageDims(model, sampleShape);
                if (height < 4 || width < 4) throw new ArgumentException($"--model cnn pools twice by 2 and needs images of at least 4x4, but they are {height}x{width}.");
                network.Add(new Conv2d(channels, 32, 3, padding: 1, generator: generator)).Add(new ReLU()).Add(new MaxPool2d(2))
                    .Add(new Conv2d(32, 64, 3, padding: 1, generator: generator)).Add(new ReLU()).Add(new MaxPool2d(2))
                    .Add(new Flatten())
                    .Add(new Linear(64 * (height / 2 / 2) * (width / 2 / 2), 128, generator: generator)).Add(new ReLU());
                hidden = 128;
                break;
            case "lstm":
                (long rowChannels, long rows, long rowWidth) = ImageDims(model, sampleShape);
                hidden = 128;
                network.Add(new Reshape(0, rows, rowChannels * rowWidth)).Add(new LastHiddenState(new Lstm(rowChannels * rowWidth, hidden, batchFirst: true, generator: generator)));
                break;
            default:
                throw new ArgumentException($"--model '{model}' is not one of {string.Join(", ", ModelNames)}.");
        }

        network.Add(new Linear(hidden, classes, generator: generator), ClassifierName);
        return network;
    }

    /// <summary>The optimizer <paramref name="name"/> with learning rate <paramref name="learningRate"/> (momentum is SGD with momentum 0.9).</summary>
    public static Optimizer CreateOptimizer(string name, double learningRate) => name switch
    {
        "sgd" => new Sgd(learningRate),
        "momentum" => new Sgd(learningRate, momentum: 0.9),
        "rmsprop" => new RmsProp(learningRate),
        "adam" => new Adam(learningRate),
        "adamw" => new AdamW(learningRate),
        _ => throw new ArgumentException($"--optimizer '{name}' is not one of {string.Join(", ", OptimizerNames)}."),
    };

    /// <summary>
    /// The schedule callback <paramref name="name"/>, or null for "none": step divides the rate by 10 every third of the
    /// epochs, cosine anneals from the given rate to 0 over all batches of the run (stepped per batch, as Keras'
    /// CosineDecay or PyTorch's CosineAnnealingLR stepped per batch: per epoch, a 2-epoch run would only halve the rate
    /// once), exponential multiplies it by 0.9 per epoch, onecycle rises to the given rate and anneals per batch.
    /// </summary>
    public static LearningRateScheduler? CreateSchedule(string name, Optimizer optimizer, int epochs, int batchesPerEpoch) => name switch
    {
        "none" => null,
        "step" => new LearningRateScheduler(new StepLR(optimizer, stepSize: Math.Max(1, epochs / 3))),
        "cosine" => new LearningRateScheduler(new CosineAnnealingLR(optimizer, tMax: epochs * batchesPerEpoch), ScheduleInterval.Batch),
        "exponential" => new LearningRateScheduler(new ExponentialLR(optimizer, gamma: 0.9)),
        "onecycle" => new LearningRateScheduler(new OneCycleLR(optimizer, maxLr: optimizer.DefaultGroup.LearningRate, totalSteps: epochs * batchesPerEpoch),
            ScheduleInterval.Batch),
        _ => throw new ArgumentException($"--schedule '{name}' is not one of {string.Join(", ", ScheduleNames)}."),
    };

    /// <summary>
    /// The standardization of <paramref name="data"/>, fitted on <paramref name="train"/> only: per feature for tabular
    /// data, per channel for images (one mean and deviation over all pixels, so that rarely lit border pixels are not
    /// blown up). Zero-mean, unit-variance inputs are what the initializations assume; on Fashion-MNIST's cnn they lift
    /// the test accuracy after 2 epochs over pixels in [0, 1] (README, "Training recipe").
    /// </summary>
    public static Standardize FitStandardization(TrainingData data, InMemoryDataset train) =>
        data.IsTabular || train.SampleShape.Count != 3 ? Standardize.Fit(train) : Standardize.FitPerChannel(train);

    /// <summary>A model of <paramref name="network"/> compiled with cross-entropy, <paramref name="optimizer"/> and accuracy.</summary>
    public static Model Compile(Layer network, Optimizer optimizer)
    {
        var model = new Model(network);
        model.Compile(new CrossEntropyLoss(), optimizer, new Accuracy());
        return model;
    }

    /// <summary>A loader of <paramref name="dataset"/> for evaluation: in order, every sample.</summary>
    public static DataLoader EvaluationLoader(InMemoryDataset dataset, int batchSize) => new(dataset, batchSize, shuffle: false);

    /// <summary>
    /// How training shows progress on <paramref name="output"/>: the console gets <see cref="ProgressMode.Auto"/> (a live
    /// bar when interactive); any other writer (tests, captured output) gets one line per epoch.
    /// </summary>
    public static (ProgressMode Mode, Callback? Logger) Progress(TextWriter output) =>
        ReferenceEquals(output, Console.Out) ? (ProgressMode.Auto, null) : (ProgressMode.None, new ProgressLogger(output));

    private static TrainingData SplitSingle(string name, InMemoryDataset dataset)
    {
        DatasetSplit split = Splits.TrainValidationTest(dataset, 0, TestFraction, SplitSeed, stratify: true);
        return new TrainingData(name, split.Train, split.Test, IsTabular: true);
    }

    private static TrainingData FromIdxDirectory(string name, string directory)
    {
        (InMemoryDataset train, InMemoryDataset test) = FashionMnist.Load(directory);
        return new TrainingData(name, train, test, IsTabular: false);
    }

    private static (long Channels, long Height, long Width) ImageDims(string model, IReadOnlyList<long> sampleShape) => sampleShape.Count == 3
        ? (sampleShape[0], sampleShape[1], sampleShape[2])
        : throw new ArgumentException($"--model {model} needs images [C, H, W] but the samples are [{string.Join(", ", sampleShape)}].");
}

/// <summary>
/// Standardizes features, <c>(x - mean) / scale</c>, with per-feature statistics held as buffers so that a weights file
/// carries the preprocessing fitted on the training data (<see cref="Standardize.Fit"/>) to <c>eval</c> and <c>predict</c>.
/// </summary>
internal sealed class Standardization : Layer
{
    private readonly Tensor _mean, _scale;

    /// <summary>Creates the identity standardization (mean 0, scale 1) for samples of <paramref name="sampleShape"/>.</summary>
    public Standardization(long[] sampleShape)
    {
        _mean = AddBuffer("mean", Tensor.Zeros(new Shape(sampleShape)));
        _scale = AddBuffer("scale", Tensor.Ones(new Shape(sampleShape)));
    }

    /// <summary>Takes the statistics of <paramref name="fitted"/>.</summary>
    public void Set(Standardize fitted)
    {
        using Tensor mean = Tensor.FromArray(fitted.Mean.ToArray(), _mean.Shape);
        using Tensor scale = Tensor.FromArray(fitted.Scale.ToArray(), _scale.Shape);
        mean.CopyTo(_mean);
        scale.CopyTo(_scale);
    }

    /// <inheritdoc/>
    protected override Value Build(Value input) => (input - Use(input.Graph, _mean)) / Use(input.Graph, _scale);
}

/// <summary>Runs a recurrent layer (batch first) and gives its last layer's final hidden state, [N, hidden].</summary>
internal sealed class LastHiddenState : Layer
{
    private readonly RecurrentLayer _recurrent;
    private readonly Reshape _flatten;

    /// <summary>Wraps <paramref name="recurrent"/>.</summary>
    public LastHiddenState(RecurrentLayer recurrent)
    {
        _recurrent = AddModule("rnn", recurrent);
        _flatten = AddModule("last", new Reshape(-1, recurrent.HiddenSize));
    }

    /// <inheritdoc/>
    protected override Value Build(Value input) => _flatten.Forward(_recurrent.Run(input).Hidden);
}

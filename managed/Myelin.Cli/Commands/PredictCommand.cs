using System.CommandLine;
using System.Globalization;
using Myelin.Data;
using Myelin.NN;
using Myelin.Training;

namespace Myelin.Cli.Commands;

/// <summary><c>myelin predict</c>: the classes saved weights (from <c>train --out</c>) predict for the samples of a CSV or IDX file.</summary>
internal static class PredictCommand
{
    public static Command Create()
    {
        Option<string> model = TrainingSetup.ModelOption(required: true);
        Option<FileInfo> weights = TrainingSetup.ExistingFile("--weights", "Weights saved by `myelin train --out`.");
        Option<FileInfo> input = TrainingSetup.ExistingFile("--input",
            "A CSV file laid out as for training (features, then the label column, shown beside the prediction), or an IDX images file [N, H, W] (raw or .gz; bytes scaled to [0, 1]).");
        var json = new Option<bool>("--json") { Description = "Print one JSON object {\"predictions\": [...]} as the last line." };
        var command = new Command("predict", "Predict the class of every sample of a CSV or IDX file with saved weights.") { model, weights, input, json };
        command.SetAction(parseResult => TrainingSetup.Run(parseResult, "--input", output =>
        {
            string path = parseResult.GetValue(input)!.FullName;
            (long[] predictions, long[]? labels) = Predict(parseResult.GetValue(model)!, parseResult.GetValue(weights)!.FullName, path);
            if (parseResult.GetValue(json))
            {
                output.WriteLine(JsonOutput.Serialize(new PredictReport(predictions)));
                return 0;
            }

            for (int i = 0; i < predictions.Length; i++)
            {
                output.WriteLine(labels is null
                    ? string.Create(CultureInfo.InvariantCulture, $"{i}: {predictions[i]}")
                    : string.Create(CultureInfo.InvariantCulture, $"{i}: {predictions[i]} (label {labels[i]})"));
            }

            return 0;
        }));
        return command;
    }

    /// <summary>The predicted class of every sample in <paramref name="inputPath"/>, and the file's labels when it has them.</summary>
    internal static (long[] Predictions, long[]? Labels) Predict(string modelName, string weightsPath, string inputPath)
    {
        (long[] sampleShape, int classes) = Signature(weightsPath);
        (InMemoryDataset samples, bool labelled) = ReadInput(inputPath);
        long sampleSize = sampleShape.Aggregate(1L, (a, b) => a * b);
        if (samples.SampleSize != sampleSize)
        {
            throw new ArgumentException($"--input: the samples of {inputPath} have {samples.SampleSize} features but the weights expect [{string.Join(", ", sampleShape)}].");
        }

        samples = samples.Reshape(sampleShape);
        using Sequential network = TrainingSetup.BuildNetwork(modelName, sampleShape, classes);
        using var model = new Model(network);
        EvalCommand.LoadWeights(model, weightsPath, modelName);
        var predictions = new List<long>(samples.Count);
        foreach (Batch batch in TrainingSetup.EvaluationLoader(samples, 256).Epoch(0))
        {
            using (batch)
            {
                using Tensor scores = model.Predict(batch.Inputs);
                predictions.AddRange(ArgMaxRows(scores.ToArray<float>(), classes));
            }
        }

        return ([.. predictions], labelled ? samples.Labels.ToArray() : null);
    }

    /// <summary>The sample shape and class count a weights file was trained for, from its standardization and classifier entries.</summary>
    internal static (long[] SampleShape, int Classes) Signature(string weightsPath)
    {
        TrainingCheckpoint checkpoint;
        try
        {
            checkpoint = TrainingCheckpoint.Load(weightsPath);
        }
        catch (CheckpointException exception)
        {
            throw new ArgumentException($"--weights: {exception.Message}", exception);
        }

        using (checkpoint)
        {
            string mean = TrainingSetup.StandardizeName + ".mean", classifier = TrainingSetup.ClassifierName + ".weight";
            if (!checkpoint.Weights.TryGetValue(mean, out Tensor? meanTensor) || !checkpoint.Weights.TryGetValue(classifier, out Tensor? classifierTensor))
            {
                throw new ArgumentException($"--weights: {weightsPath} has no '{mean}' and '{classifier}'; it was not saved by `myelin train --out`.");
            }

            return (meanTensor.Shape.ToArray(), checked((int)classifierTensor.Shape[0]));
        }
    }

    private static (InMemoryDataset Samples, bool Labelled) ReadInput(string path)
    {
        string name = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? path[..^3] : path;
        if (name.EndsWith(".csv", StringComparison.OrdinalIgnoreCase)) return (CsvDataset.Load(path).Dataset, true);
        IdxArray images = IdxArray.Read(path);
        if (images.Dimensions.Count < 2) throw new InvalidDataException($"IDX file {path}: samples need at least 2 dimensions [N, ...] but it has [{string.Join(", ", images.Dimensions)}].");
        float[] features = images.ToSingleArray();
        // Bytes become x / 255, as in training (IdxArray.LoadImageClassification).
        if (images.DataType == IdxDataType.UnsignedByte)
        {
            for (int i = 0; i < features.Length; i++) features[i] /= 255f;
        }

        long[] sampleShape = [.. images.Dimensions.Skip(1).Select(d => (long)d)];
        return (InMemoryDataset.FromLabels(features, sampleShape, new long[images.Dimensions[0]]), false);
    }

    private static IEnumerable<long> ArgMaxRows(float[] scores, int classes)
    {
        for (int row = 0; row < scores.Length / classes; row++)
        {
            int best = 0;
            for (int c = 1; c < classes; c++)
            {
                if (scores[row * classes + c] > scores[row * classes + best]) best = c;
            }

            yield return best;
        }
    }

    /// <summary>The JSON of <c>predict --json</c>.</summary>
    internal sealed record PredictReport(IReadOnlyList<long> Predictions);
}

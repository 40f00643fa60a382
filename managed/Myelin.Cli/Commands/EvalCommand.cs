using System.CommandLine;
using System.Globalization;
using Myelin.Data;
using Myelin.NN;
using Myelin.Optim;
using Myelin.Training;

namespace Myelin.Cli.Commands;

/// <summary><c>myelin eval</c>: the held-out accuracy and loss of saved weights (from <c>train --out</c>) on a dataset.</summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        Option<string> model = TrainingSetup.ModelOption(required: true);
        Option<FileInfo> weights = TrainingSetup.ExistingFile("--weights", "Weights saved by `myelin train --out`.");
        var data = new Option<string>("--data") { Description = TrainingSetup.DataHelp + " The test part is evaluated.", Required = true };
        Option<int> batchSize = TrainingSetup.PositiveInt("--batch-size", "Samples per evaluation step.", 256);
        var json = new Option<bool>("--json") { Description = "Print one JSON object as the last line." };
        var command = new Command("eval", "Evaluate saved weights on the held-out test part of a dataset.") { model, weights, data, batchSize, json };
        command.SetAction(parseResult => TrainingSetup.Run(parseResult, "--data", output =>
        {
            string modelName = parseResult.GetValue(model)!;
            EvalReport report = Evaluate(modelName, parseResult.GetValue(weights)!.FullName, parseResult.GetValue(data)!, parseResult.GetValue(batchSize));
            output.WriteLine(parseResult.GetValue(json)
                ? JsonOutput.Serialize(report)
                : string.Create(CultureInfo.InvariantCulture, $"{modelName} on {parseResult.GetValue(data)}: test accuracy {report.TestAccuracy:0.0000}, test loss {report.TestLoss:0.0000} ({report.Samples} samples)"));
            return 0;
        }));
        return command;
    }

    /// <summary>Evaluates the weights in <paramref name="weightsPath"/> on the test part of <paramref name="dataSpec"/>.</summary>
    internal static EvalReport Evaluate(string modelName, string weightsPath, string dataSpec, int batchSize)
    {
        TrainingData data = TrainingSetup.LoadData(dataSpec);
        InMemoryDataset test = TrainingSetup.ShapeFor(modelName, data.Test);
        int classes = Math.Max(TrainingSetup.ShapeFor(modelName, data.Train).ClassCount, test.ClassCount);
        using Sequential network = TrainingSetup.BuildNetwork(modelName, test.SampleShape, classes);
        using Model model = TrainingSetup.Compile(network, new Sgd());
        LoadWeights(model, weightsPath, modelName);
        IReadOnlyDictionary<string, double> results = model.Evaluate(TrainingSetup.EvaluationLoader(test, batchSize));
        return new EvalReport(results["accuracy"], results["loss"], test.Count);
    }

    /// <summary>Loads <paramref name="path"/> into <paramref name="model"/>; a file of another model or dataset is reported against --weights.</summary>
    internal static void LoadWeights(Model model, string path, string modelName)
    {
        try
        {
            model.LoadWeights(path);
        }
        catch (CheckpointException exception)
        {
            throw new ArgumentException($"--weights: {path} does not hold {modelName} weights for this data: {exception.Message}", exception);
        }
    }

    /// <summary>The JSON of <c>eval --json</c>.</summary>
    internal sealed record EvalReport(double TestAccuracy, double TestLoss, int Samples);
}

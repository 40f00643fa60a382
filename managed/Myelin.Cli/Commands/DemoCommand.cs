using System.CommandLine;
using System.Globalization;
using System.Text;
using Myelin.Data;
using Myelin.NN;
using Myelin.Optim;
using Myelin.Training;

namespace Myelin.Cli.Commands;

/// <summary>
/// <c>myelin demo</c>: trains the mlp on the UCI digits embedded in Myelin, reports the held-out accuracy, saves the
/// weights, reloads them into a fresh network and draws a few test digits beside their predictions. Needs nothing
/// but the library.
/// </summary>
internal static class DemoCommand
{
    private const int BatchSize = 32, ShownSamples = 6, Pixels = 64;

    // Ink from light to dark for pixel values 0..16.
    private const string Shades = " .:-=+*#%@";

    public static Command Create()
    {
        Option<int> epochs = TrainingSetup.PositiveInt("--epochs", "Passes over the training digits.", 20);
        var outFile = new Option<string>("--out") { Description = "Where to save the trained weights.", DefaultValueFactory = _ => "digits-mlp.weights" };
        var json = new Option<bool>("--json") { Description = "Print {\"test_accuracy\": ...} as the last line." };
        var command = new Command("demo", "Train an MLP on the embedded handwritten digits, save it, reload it and show some predictions.") { epochs, outFile, json };
        command.SetAction(parseResult => TrainingSetup.Run(parseResult, "--out", output =>
        {
            double accuracy = Run(parseResult.GetValue(epochs), parseResult.GetValue(outFile)!, output);
            if (parseResult.GetValue(json)) output.WriteLine(JsonOutput.Serialize(new DemoReport(accuracy)));
            return 0;
        }));
        return command;
    }

    /// <summary>Runs the demo, writing to <paramref name="output"/>; returns the held-out accuracy.</summary>
    internal static double Run(int epochs, string weightsPath, TextWriter output)
    {
        TrainingData data = TrainingSetup.LoadData("digits");
        InMemoryDataset train = data.Train.Reshape([Pixels]), test = data.Test.Reshape([Pixels]);
        output.WriteLine($"UCI handwritten digits (8x8, embedded): {train.Count} training and {test.Count} test samples, stratified.");
        double accuracy;
        using (Sequential network = TrainingSetup.BuildNetwork("mlp", train.SampleShape, train.ClassCount))
        {
            ((Standardization)network.Layers[0]).Set(Standardize.Fit(train));
            using Model model = TrainingSetup.Compile(network, new Adam(1e-3));
            output.WriteLine($"Training mlp {train.SampleSize}-256-128-{train.ClassCount} with Adam (lr 0.001), batch {BatchSize}, {epochs} epochs:");
            (ProgressMode mode, Callback? logger) = TrainingSetup.Progress(output);
            model.Fit(new DataLoader(train, BatchSize, shuffle: true, seed: 1), epochs: epochs, callbacks: logger is null ? null : [logger], progress: mode);
            accuracy = model.Evaluate(TrainingSetup.EvaluationLoader(test, 256))["accuracy"];
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Held-out accuracy: {accuracy:0.0000} ({test.Count} test digits)"));
            model.SaveWeights(weightsPath);
            output.WriteLine($"Saved the model to {Path.GetFullPath(weightsPath)}");
        }

        // A fresh network with other initial weights: what it predicts comes from the file alone.
        using Sequential reloaded = TrainingSetup.BuildNetwork("mlp", train.SampleShape, train.ClassCount, seed: 2);
        using var fresh = new Model(reloaded);
        fresh.LoadWeights(weightsPath);
        output.WriteLine($"Reloaded it into a fresh model; its predictions for the first {ShownSamples} test digits:");
        InMemoryDataset shown = test.Subset([.. Enumerable.Range(0, Math.Min(ShownSamples, test.Count))]);
        float[] pixels = shown.Features.ToArray();
        using Tensor inputs = Tensor.FromArray(pixels, new Shape([shown.Count, .. shown.SampleShape]));
        using Tensor scores = fresh.Predict(inputs);
        float[] logits = scores.ToArray<float>();
        int classes = checked((int)scores.Shape[1]);
        for (int i = 0; i < shown.Count; i++)
        {
            int predicted = Enumerable.Range(0, classes).MaxBy(c => logits[i * classes + c]);
            long label = shown.Labels[i];
            output.Write(Draw(pixels.AsSpan(i * Pixels, Pixels), predicted, label));
        }

        return accuracy;
    }

    /// <summary>An 8x8 digit as ASCII art (two characters per pixel, for a square look) with the prediction and label beside it.</summary>
    internal static string Draw(ReadOnlySpan<float> pixels, int predicted, long label)
    {
        var text = new StringBuilder();
        for (int row = 0; row < 8; row++)
        {
            text.Append("  |");
            for (int column = 0; column < 8; column++)
            {
                float value = Math.Clamp(pixels[row * 8 + column], 0, 16);
                char shade = Shades[(int)Math.Round(value / 16 * (Shades.Length - 1))];
                text.Append(shade).Append(shade);
            }

            text.Append('|');
            if (row == 3) text.Append(CultureInfo.InvariantCulture, $"   predicted {predicted}");
            if (row == 4) text.Append(CultureInfo.InvariantCulture, $"   true      {label}{(predicted == label ? "" : "   (wrong)")}");
            text.AppendLine();
        }

        return text.AppendLine().ToString();
    }

    /// <summary>The JSON of <c>demo --json</c>.</summary>
    internal sealed record DemoReport(double TestAccuracy);
}

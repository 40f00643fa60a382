using System.CommandLine;
using System.Globalization;
using Myelin.NN;
using Myelin.Onnx;
using Myelin.Training;

namespace Myelin.Cli.Commands;

/// <summary>
/// <c>myelin export</c>: writes a classifier of <c>train</c> as an ONNX model (input "input" [N, sample...], output
/// "output" [N, classes] scores), with the weights saved by <c>train --out</c>, or freshly initialized (seed 1) for a
/// given sample shape and class count, so scripts can produce models without training first.
/// </summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        Option<string> model = TrainingSetup.ModelOption(required: true);
        var weights = new Option<FileInfo?>("--weights") { Description = "Weights saved by `myelin train --out`; without them the network is freshly initialized (seed 1) for --shape and --classes." };
        var shape = new Option<string?>("--shape") { Description = "Without --weights: the sample shape, such as 64 or 1,28,28." };
        var classes = new Option<int?>("--classes") { Description = "Without --weights: the number of classes." };
        var outFile = new Option<string>("--out") { Description = "The ONNX file to write (atomically).", Required = true };
        var json = new Option<bool>("--json") { Description = "Print one JSON object {\"model\", \"path\", \"bytes\", \"opset\"} as the last line." };
        var command = new Command("export", "Export a classifier (trained weights or a fresh one) to an ONNX file.") { model, weights, shape, classes, outFile, json };
        command.SetAction(parseResult => TrainingSetup.Run(parseResult, "--weights", output =>
        {
            ExportReport report = Export(parseResult.GetValue(model)!, parseResult.GetValue(weights)?.FullName, parseResult.GetValue(shape), parseResult.GetValue(classes),
                parseResult.GetValue(outFile)!);
            output.WriteLine(parseResult.GetValue(json)
                ? JsonOutput.Serialize(report)
                : string.Create(CultureInfo.InvariantCulture, $"Exported {report.Model} to {report.Path} ({report.Bytes} bytes, ONNX opset {report.Opset})."));
            return 0;
        }));
        return command;
    }

    /// <summary>Writes the model and describes what was written.</summary>
    internal static ExportReport Export(string modelName, string? weightsPath, string? shapeText, int? classCount, string path)
    {
        (long[] sampleShape, int classes) = weightsPath is not null ? PredictCommand.Signature(weightsPath) : (ParseShape(shapeText), classCount
            ?? throw new ArgumentException("--classes: give the number of classes (or --weights)."));
        if (classes < 1) throw new ArgumentException($"--classes: {classes} is not a positive count.");
        using Sequential network = TrainingSetup.BuildNetwork(modelName, sampleShape, classes);
        if (weightsPath is not null)
        {
            using var model = new Model(network);
            EvalCommand.LoadWeights(model, weightsPath, modelName);
        }

        byte[] bytes = OnnxExporter.ToBytes(network, DType.F32, [Graphs.Dim.Sym("N"), .. sampleShape.Select(d => Graphs.Dim.Of(d))]);
        AtomicFile.Write(path, stream => stream.Write(bytes));
        return new ExportReport(modelName, Path.GetFullPath(path), bytes.Length, OnnxExporter.Opset);
    }

    private static long[] ParseShape(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) throw new ArgumentException("--shape: give the sample shape, such as 64 or 1,28,28 (or --weights).");
        string[] parts = text.Split(',', StringSplitOptions.TrimEntries);
        var dims = new long[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!long.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out dims[i]) || dims[i] < 1)
            {
                throw new ArgumentException($"--shape: '{parts[i]}' in '{text}' is not a positive size.");
            }
        }

        return dims;
    }

    /// <summary>The JSON of <c>export --json</c>.</summary>
    internal sealed record ExportReport(string Model, string Path, long Bytes, int Opset);
}

using System.CommandLine;
using System.Globalization;
using Myelin.Onnx;

namespace Myelin.Cli.Commands;

/// <summary>
/// <c>myelin conformance DIR... [--json]</c>: runs every ONNX backend-test case under the directories (a folder with
/// <c>model.onnx</c> and <c>test_data_set_*/input_*.pb</c> and <c>output_*.pb</c>) and compares the outputs with
/// rtol 1e-3 and atol 1e-5.
/// </summary>
internal static class ConformanceCommand
{
    public static Command Create()
    {
        var directories = new Argument<string[]>("DIR") { Description = "Folders holding test cases (searched recursively), or case folders themselves.", Arity = ArgumentArity.OneOrMore };
        var json = new Option<bool>("--json") { Description = "Print one JSON object as the last line." };
        var command = new Command("conformance", "Run ONNX backend-test cases: PASS, FAIL (worst element and its error) or UNSUPPORTED (missing ops) per case.") { directories, json };
        command.SetAction(parseResult => CommandRunner.Run(parseResult, output =>
        {
            bool asJson = parseResult.GetValue(json);
            var results = new List<CaseResult>();
            foreach (string directory in parseResult.GetValue(directories)!)
            {
                if (!Directory.Exists(directory))
                {
                    throw new MyelinException(Status.InvalidArgument, $"DIR '{directory}' does not exist.");
                }

                foreach ((string name, string path) in ConformanceRunner.FindCases(directory))
                {
                    CaseResult result = ConformanceRunner.RunCase(name, path);
                    results.Add(result);
                    if (!asJson)
                    {
                        output.WriteLine(result.Detail is null ? $"{result.Status,-11} {name}" : $"{result.Status,-11} {name}: {result.Detail}");
                    }
                }
            }

            int passed = results.Count(r => r.Status == ConformanceRunner.Pass);
            int failed = results.Count(r => r.Status == ConformanceRunner.Fail);
            int unsupported = results.Count(r => r.Status == ConformanceRunner.Unsupported);
            output.WriteLine(asJson
                ? JsonOutput.Serialize(new Report(passed, failed, unsupported, results))
                : $"{passed} passed, {failed} failed, {unsupported} unsupported");
            return failed == 0 ? 0 : CommandRunner.FailureExitCode;
        }));
        return command;
    }

    private sealed record Report(int Passed, int Failed, int Unsupported, IReadOnlyList<CaseResult> Cases);
}

/// <summary>The outcome of one case: PASS, FAIL or UNSUPPORTED, with the reason for the last two.</summary>
internal sealed record CaseResult(string Name, string Status, string? Detail);

/// <summary>Finds and runs ONNX backend-test cases.</summary>
internal static class ConformanceRunner
{
    public const string Pass = "PASS";
    public const string Fail = "FAIL";
    public const string Unsupported = "UNSUPPORTED";

    /// <summary>Relative tolerance: ONNX's own runner's default.</summary>
    public const double RelativeTolerance = 1e-3;

    /// <summary>Absolute tolerance: slack near zero for float32 kernels that sum in another order (the conformance README explains).</summary>
    public const double AbsoluteTolerance = 1e-5;

    /// <summary>Every case folder at or under <paramref name="directory"/>, named by its path relative to <paramref name="directory"/>, in ordinal order.</summary>
    public static IEnumerable<(string Name, string Path)> FindCases(string directory)
    {
        string root = Path.GetFullPath(directory);
        if (File.Exists(Path.Combine(root, "model.onnx")))
        {
            return [(Path.GetFileName(root.TrimEnd(Path.DirectorySeparatorChar)), root)];
        }

        return Directory.EnumerateFiles(root, "model.onnx", SearchOption.AllDirectories)
            .Select(file => Path.GetDirectoryName(file)!)
            .Select(folder => (Path.GetRelativePath(root, folder).Replace('\\', '/'), folder))
            .OrderBy(c => c.Item1, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>Imports, compiles and runs the case in <paramref name="path"/> on every data set; never throws for a bad case.</summary>
    public static CaseResult RunCase(string name, string path)
    {
        try
        {
            using var scope = new TensorScope();
            using InferenceSession session = InferenceSession.Load(Path.Combine(path, "model.onnx"));
            string[] dataSets = Directory.GetDirectories(path, "test_data_set_*").Order(StringComparer.Ordinal).ToArray();
            if (dataSets.Length == 0)
            {
                return new CaseResult(name, Fail, "no test_data_set_* folder");
            }

            foreach (string dataSet in dataSets)
            {
                string? failure = RunDataSet(session, dataSet);
                if (failure is not null)
                {
                    return new CaseResult(name, Fail, $"{Path.GetFileName(dataSet)}: {failure}");
                }
            }

            return new CaseResult(name, Pass, null);
        }
        catch (OnnxUnsupportedOpsException exception)
        {
            return new CaseResult(name, Unsupported, string.Join(", ", exception.NodesByOpType.Keys));
        }
        // Any failure, a bug in Myelin included, is this case's FAIL: one case must not stop the run.
        catch (Exception exception)
        {
            return new CaseResult(name, Fail, $"{exception.GetType().Name}: {exception.Message.ReplaceLineEndings(" ")}");
        }
    }

    /// <summary>Runs one data set; null when every output is within tolerance, else what differs.</summary>
    private static string? RunDataSet(InferenceSession session, string dataSet)
    {
        Tensor[] inputs = Numbered(dataSet, "input").Select(OnnxTensors.Load).ToArray();
        Tensor[] expected = Numbered(dataSet, "output").Select(OnnxTensors.Load).ToArray();
        if (inputs.Length != session.Inputs.Count)
        {
            return $"{inputs.Length} input files but the model has {session.Inputs.Count} inputs";
        }

        // A file's tensor name says which input it is; unnamed ones go by position.
        var feeds = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        for (int i = 0; i < inputs.Length; i++)
        {
            string inputName = inputs[i].Name is { } named && session.Inputs.Any(v => v.Name == named) ? named : session.Inputs[i].Name;
            if (!feeds.TryAdd(inputName, inputs[i])) return $"input '{inputName}' is given twice";
        }

        IReadOnlyList<Tensor> actual = session.Run(feeds);
        if (expected.Length != actual.Count)
        {
            return $"{expected.Length} output files but the model has {actual.Count} outputs";
        }

        for (int i = 0; i < actual.Count; i++)
        {
            string? difference = Compare(actual[i], expected[i]);
            if (difference is not null) return $"output '{session.Outputs[i].Name}': {difference}";
        }

        return null;
    }

    private static IEnumerable<string> Numbered(string dataSet, string prefix) =>
        Directory.GetFiles(dataSet, $"{prefix}_*.pb")
            .Select(file => (File: file, Index: int.TryParse(Path.GetFileNameWithoutExtension(file)[(prefix.Length + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int index) ? index : int.MaxValue))
            .OrderBy(f => f.Index)
            .Select(f => f.File);

    /// <summary>Null when <paramref name="actual"/> matches <paramref name="expected"/> (|a - e| &lt;= atol + rtol |e|, NaN matching NaN), else the worst element.</summary>
    internal static string? Compare(Tensor actual, Tensor expected)
    {
        if (actual.DType != expected.DType)
        {
            return $"dtype {actual.DType.ShortName()}, expected {expected.DType.ShortName()}";
        }

        if (!actual.Shape.Equals(expected.Shape))
        {
            return $"shape {actual.Shape}, expected {expected.Shape}";
        }

        double[] a = ToDoubles(actual), e = ToDoubles(expected);
        long worst = -1;
        double worstExcess = 0;
        for (long i = 0; i < a.Length; i++)
        {
            double excess;
            if (double.IsNaN(a[i]) || double.IsNaN(e[i]))
            {
                excess = double.IsNaN(a[i]) && double.IsNaN(e[i]) ? 0 : double.PositiveInfinity;
            }
            else if (a[i] == e[i])
            {
                excess = 0;
            }
            else
            {
                excess = Math.Abs(a[i] - e[i]) - (AbsoluteTolerance + RelativeTolerance * Math.Abs(e[i]));
                if (double.IsNaN(excess)) excess = double.PositiveInfinity;
            }

            if (excess > worstExcess)
            {
                worstExcess = excess;
                worst = i;
            }
        }

        if (worst < 0) return null;
        int mismatched = Enumerable.Range(0, a.Length).Count(i => !(a[i] == e[i] || (double.IsNaN(a[i]) && double.IsNaN(e[i])) || Math.Abs(a[i] - e[i]) <= AbsoluteTolerance + RelativeTolerance * Math.Abs(e[i])));
        return string.Create(CultureInfo.InvariantCulture,
            $"{mismatched} of {a.Length} elements differ; worst at [{string.Join(", ", Index(worst, actual.Shape))}]: {a[worst]:G9} vs expected {e[worst]:G9} (error {Math.Abs(a[worst] - e[worst]):G3})");
    }

    private static long[] Index(long flat, Shape shape)
    {
        var index = new long[shape.Rank];
        for (int axis = shape.Rank - 1; axis >= 0; axis--)
        {
            index[axis] = flat % shape[axis];
            flat /= shape[axis];
        }

        return index;
    }

    private static double[] ToDoubles(Tensor tensor) => tensor.DType switch
    {
        DType.F32 => tensor.ToArray<float>().Select(v => (double)v).ToArray(),
        DType.F64 => tensor.ToArray<double>(),
        DType.F16 => tensor.ToArray<Half>().Select(v => (double)v).ToArray(),
        DType.Bf16 => tensor.ToArray<BFloat16>().Select(v => (double)(float)v).ToArray(),
        DType.I64 => tensor.ToArray<long>().Select(v => (double)v).ToArray(),
        DType.I32 => tensor.ToArray<int>().Select(v => (double)v).ToArray(),
        DType.I8 => tensor.ToArray<sbyte>().Select(v => (double)v).ToArray(),
        DType.U8 => tensor.ToArray<byte>().Select(v => (double)v).ToArray(),
        DType.Bool => tensor.ToArray<bool>().Select(v => v ? 1.0 : 0.0).ToArray(),
        _ => throw new NotSupportedException($"Cannot compare {tensor.DType.ShortName()} tensors."),
    };
}

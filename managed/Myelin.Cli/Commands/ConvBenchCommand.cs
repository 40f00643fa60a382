using System.CommandLine;
using Myelin.Native;

namespace Myelin.Cli.Commands;

/// <summary>
/// <c>myelin bench conv</c>: f32 NCHW convolution forward, backward-data and backward-filter on named layer sets
/// (<c>resnet18</c>, <c>mobilenet_v2</c>) or given layers: ms and GFLOP/s per layer, and per set the totals weighted
/// by how often the network runs each shape.
/// </summary>
internal static unsafe class ConvBenchCommand
{
    private static readonly string[] s_directions = ["forward", "backward-data", "backward-filter"];

    public static Command Create()
    {
        var layers = BenchTiming.ListOption("--layers",
            "Comma-separated layer sets (resnet18, mobilenet_v2) or layers NAME=NxCxHxW:MxKhxKw[:stride,pad,groups] (N is the layer's own batch).",
            "resnet18,mobilenet_v2", ConvBenchLayers.ParseList);
        var batch = BenchTiming.AtLeastOption("--batch", "Batch size N of the named sets.", 1);
        var direction = new Option<string>("--direction")
        {
            Description = "forward, backward-data, backward-filter or all.",
            DefaultValueFactory = _ => "all",
        };
        direction.Validators.Add(result =>
        {
            string value = result.GetValueOrDefault<string>() ?? "";
            if (value != "all" && !s_directions.Contains(value))
            {
                result.AddError($"--direction: '{value}' is not one of {string.Join(", ", s_directions)}, all.");
            }
        });
        return BenchKernels.CreateCommand("conv", "Time convolution forward and backward on network layer sets and report ms and GFLOP/s per layer and per set.",
            [layers, batch, direction], (parseResult, run) =>
            {
                string chosen = parseResult.GetValue(direction)!;
                string[] directions = chosen == "all" ? s_directions : [chosen];
                long batchSize = parseResult.GetValue(batch);
                var reports = new List<ConvSetReport>();
                foreach (ConvLayerSet set in parseResult.GetValue(layers) ?? [])
                {
                    var layerReports = new List<ConvLayerReport>();
                    foreach (ConvLayer layer in set.Layers)
                    {
                        ConvLayerReport report = Measure(layer, layer.Batch ?? batchSize, directions, run.MinSeconds);
                        layerReports.Add(report);
                        foreach (ConvResult r in report.Results)
                        {
                            run.Line($"conv {set.Name} {layer.Name,-26} x{layer.Count,-2} {report.Input,-15} {report.Filter,-12} s{layer.Stride} p{layer.Pad} g{layer.Groups,-4} {r.Direction,-15} {r.Ms,9:F3} ms {r.Gflops,8:F2} GFLOP/s");
                        }
                    }

                    ConvSetReport setReport = Totals(set, batchSize, directions, layerReports);
                    reports.Add(setReport);
                    run.Line($"conv {set.Name} total: {setReport.Convs} convs, {setReport.MacsPerImage / 1e6:F1}M multiply-adds per image");
                    foreach (ConvResult total in setReport.Totals)
                    {
                        run.Line($"conv {set.Name} total {total.Direction,-15} {total.Ms,9:F3} ms {total.Gflops,8:F2} GFLOP/s");
                    }
                }

                run.Report(new ConvReport("conv", Device.Cpu.ThreadCount, batchSize, directions, reports));
                return 0;
            });
    }

    private static ConvLayerReport Measure(ConvLayer layer, long batch, string[] directions, double minSeconds)
    {
        using var scope = new TensorScope();
        var generator = new Generator(seed: 1);
        long[] inputShape = [batch, layer.C, layer.H, layer.W], filterShape = [layer.M, layer.C / layer.Groups, layer.Kh, layer.Kw];
        long[] outputShape = [batch, layer.M, layer.Ho, layer.Wo];
        Tensor x = Tensor.Rand(inputShape, generator: generator), dx = Tensor.Zeros(inputShape);
        Tensor w = Tensor.Rand(filterShape, generator: generator) * 0.1f, dw = Tensor.Zeros(filterShape);
        Tensor y = Tensor.Zeros(outputShape), dy = Tensor.Rand(outputShape, generator: generator);
        ConvParams parameters = ParamsOf(layer);
        DeviceHandle device = Device.Cpu.Handle;
        // 2 N M C/G Kh Kw Ho Wo in every direction: each computes the same products.
        double flops = 2 * batch * layer.MacsPerImage;
        var results = new List<ConvResult>();
        foreach (string direction in directions)
        {
            Action call = direction switch
            {
                "forward" => () =>
                {
                    ConvParams p = parameters;
                    TensorDesc xd = BenchKernels.Describe(x), wd = BenchKernels.Describe(w), yd = BenchKernels.Describe(y);
                    NativeMethods.Check(NativeMethods.ConvForward(device, &p, &xd, &wd, null, UnaryOp.Identity, null, &yd));
                },
                "backward-data" => () =>
                {
                    ConvParams p = parameters;
                    TensorDesc dyd = BenchKernels.Describe(dy), wd = BenchKernels.Describe(w), dxd = BenchKernels.Describe(dx);
                    NativeMethods.Check(NativeMethods.ConvBackwardData(device, &p, &dyd, &wd, &dxd));
                },
                _ => () =>
                {
                    ConvParams p = parameters;
                    TensorDesc xd = BenchKernels.Describe(x), dyd = BenchKernels.Describe(dy), dwd = BenchKernels.Describe(dw);
                    NativeMethods.Check(NativeMethods.ConvBackwardFilter(device, &p, &xd, &dyd, &dwd, null));
                },
            };
            BenchTiming.Times times = BenchTiming.Measure(call, minSeconds);
            results.Add(new ConvResult(direction, BenchTiming.Milliseconds(times.Best), Gflops(flops, times.Best), times.Repetitions));
        }

        return new ConvLayerReport(layer.Name, layer.Count, BenchKernels.FormatDims(inputShape), BenchKernels.FormatDims(filterShape),
            layer.Stride, layer.Pad, layer.Groups, BenchKernels.FormatDims(outputShape), flops, results);
    }

    private static ConvParams ParamsOf(ConvLayer layer)
    {
        var parameters = new ConvParams { SpatialRank = 2, Groups = layer.Groups };
        for (int i = 0; i < 2; i++)
        {
            parameters.Strides[i] = layer.Stride;
            parameters.Dilations[i] = 1;
            parameters.PadsBegin[i] = parameters.PadsEnd[i] = layer.Pad;
        }

        return parameters;
    }

    /// <summary>Per direction: the time of running every layer as often as the network does, and the rate over it.</summary>
    private static ConvSetReport Totals(ConvLayerSet set, long batch, string[] directions, List<ConvLayerReport> layers)
    {
        var totals = new List<ConvResult>();
        foreach (string direction in directions)
        {
            double seconds = 0, flops = 0;
            int repetitions = int.MaxValue;
            foreach (ConvLayerReport layer in layers)
            {
                ConvResult result = layer.Results.Single(r => r.Direction == direction);
                seconds += layer.Count * result.Ms / 1e3;
                flops += layer.Count * layer.Flops;
                repetitions = Math.Min(repetitions, result.Repetitions);
            }

            totals.Add(new ConvResult(direction, BenchTiming.Milliseconds(seconds), Gflops(flops, seconds), repetitions));
        }

        return new ConvSetReport(set.Name, set.Name == ConvBenchLayers.CustomSetName ? null : batch, set.Layers.Sum(l => l.Count),
            set.Layers.Sum(l => l.Count * l.MacsPerImage), layers, totals);
    }

    private static double Gflops(double flops, double seconds) => Math.Round(flops / seconds / 1e9, 3);

    internal sealed record ConvReport(string Benchmark, int Threads, long Batch, IReadOnlyList<string> Directions, IReadOnlyList<ConvSetReport> Sets);

    /// <summary>A layer set: its convolution count (each shape times its count) and multiply-adds per image, its layers and totals.</summary>
    internal sealed record ConvSetReport(string Name, long? Batch, int Convs, double MacsPerImage, IReadOnlyList<ConvLayerReport> Layers, IReadOnlyList<ConvResult> Totals);

    internal sealed record ConvLayerReport(string Name, int Count, string Input, string Filter, long Stride, long Pad, long Groups, string Output, double Flops,
        IReadOnlyList<ConvResult> Results);

    /// <summary>One direction's best time; for a total, the weighted sum of the layers' best times and the least repetition count.</summary>
    internal sealed record ConvResult(string Direction, double Ms, double Gflops, int Repetitions);
}

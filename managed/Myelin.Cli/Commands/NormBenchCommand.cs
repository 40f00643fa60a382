using System.CommandLine;
using Myelin.Native;

namespace Myelin.Cli.Commands;

/// <summary>
/// <c>myelin bench norm</c>: batch norm (training and inference), layer norm and group norm, forward and backward,
/// in GB/s. Layer norm normalizes over every dimension after the first (PyTorch's <c>LayerNorm(x.shape[1:])</c>;
/// for an NxD shape that is the transformer's per-row norm).
/// </summary>
internal static unsafe class NormBenchCommand
{
    private const string DefaultShapes = "32x64x56x56,8192x768";
    private static readonly string[] s_kinds = ["batchnorm-train", "batchnorm-inference", "layernorm", "groupnorm"];
    private const double Epsilon = 1e-5;
    private const double Momentum = 0.9;

    public static Command Create()
    {
        var shapes = BenchTiming.ListOption("--shapes", "Comma-separated NxC[xHxW...] sizes (rank 2 to 8).", DefaultShapes,
            text => BenchKernels.ParseDimsList(text, 2, 8, "NxC[xHxW...]"));
        var kinds = BenchTiming.ListOption("--kinds", "Comma-separated normalizations.", string.Join(',', s_kinds),
            text => BenchKernels.ParseNames(text, s_kinds));
        var groups = BenchTiming.AtLeastOption("--groups", "Group norm's group count; it must divide C of every shape.", 32);
        return BenchKernels.CreateCommand("norm", "Time batch norm (training and inference), layer norm and group norm forward and backward and report GB/s.",
            [shapes, kinds, groups], (parseResult, run) =>
            {
                string[] selected = parseResult.GetValue(kinds) ?? [];
                long groupCount = parseResult.GetValue(groups);
                long[][] sizes = parseResult.GetValue(shapes) ?? [];
                if (selected.Contains("groupnorm") && sizes.FirstOrDefault(shape => shape[1] % groupCount != 0) is long[] bad)
                {
                    throw new MyelinException(Status.InvalidArgument,
                        $"--groups: {groupCount} groups do not divide C = {bad[1]} of shape '{BenchKernels.FormatDims(bad)}'.");
                }

                var bench = new BandwidthBench(run);
                foreach (long[] shape in sizes)
                {
                    foreach (string kind in selected)
                    {
                        using var scope = new TensorScope();
                        Measure(bench, kind, shape, groupCount);
                    }
                }

                return bench.Finish();
            });
    }

    private static void Measure(BandwidthBench bench, string kind, long[] shape, long groups)
    {
        var generator = new Generator(seed: 1);
        Tensor x = Tensor.RandN(shape, generator: generator, mean: 0.5);
        Tensor dy = Tensor.RandN(shape, generator: generator);
        Tensor y = Tensor.Zeros(shape), dx = Tensor.Zeros(shape);
        // Parameters have the shape each kind scales: C for batch and group norm, all but N for layer norm.
        long[] parameterShape = kind == "layernorm" ? shape[1..] : [shape[1]];
        Tensor scale = Tensor.Rand(parameterShape, generator: generator) + 0.5f, bias = Tensor.RandN(parameterShape, generator: generator);
        Tensor dscale = Tensor.Zeros(parameterShape), dbias = Tensor.Zeros(parameterShape);
        // Saved statistics: one per channel (batch norm), per row (layer norm), per (n, group) (group norm).
        long[] statisticsShape = kind switch
        {
            "layernorm" => [shape[0]],
            "groupnorm" => [shape[0], groups],
            _ => [shape[1]],
        };
        Tensor mean = Tensor.Zeros(statisticsShape), invstd = Tensor.Zeros(statisticsShape);
        DeviceHandle device = Device.Cpu.Handle;
        int normalizedRank = shape.Length - 1;
        switch (kind)
        {
            case "batchnorm-train":
                Tensor runningMean = Tensor.Zeros([shape[1]]), runningVar = Tensor.Ones([shape[1]]);
                bench.Measure(kind, shape, "forward", BenchKernels.Bytes(x, scale, bias, runningMean, runningVar, y, mean, invstd), () =>
                {
                    TensorDesc xd = BenchKernels.Describe(x), sd = BenchKernels.Describe(scale), bd = BenchKernels.Describe(bias);
                    TensorDesc rmd = BenchKernels.Describe(runningMean), rvd = BenchKernels.Describe(runningVar);
                    TensorDesc yd = BenchKernels.Describe(y), md = BenchKernels.Describe(mean), id = BenchKernels.Describe(invstd);
                    NativeMethods.Check(NativeMethods.BatchNormForwardTraining(device, &xd, &sd, &bd, Epsilon, Momentum, &rmd, &rvd, &yd, &md, &id));
                });
                bench.Measure(kind, shape, "backward", BenchKernels.Bytes(x, dy, scale, mean, invstd, dx, dscale, dbias), () =>
                {
                    TensorDesc xd = BenchKernels.Describe(x), dyd = BenchKernels.Describe(dy), sd = BenchKernels.Describe(scale);
                    TensorDesc md = BenchKernels.Describe(mean), id = BenchKernels.Describe(invstd);
                    TensorDesc dxd = BenchKernels.Describe(dx), dsd = BenchKernels.Describe(dscale), dbd = BenchKernels.Describe(dbias);
                    NativeMethods.Check(NativeMethods.BatchNormBackward(device, &xd, &dyd, &sd, &md, &id, &dxd, &dsd, &dbd));
                });
                break;
            case "batchnorm-inference":
                // Inference has no backward kernel: a frozen batch norm is an affine map, differentiated as one.
                Tensor statMean = Tensor.RandN([shape[1]], generator: generator), statVar = Tensor.Rand([shape[1]], generator: generator) + 0.5f;
                bench.Measure(kind, shape, "forward", BenchKernels.Bytes(x, scale, bias, statMean, statVar, y), () =>
                {
                    TensorDesc xd = BenchKernels.Describe(x), sd = BenchKernels.Describe(scale), bd = BenchKernels.Describe(bias);
                    TensorDesc rmd = BenchKernels.Describe(statMean), rvd = BenchKernels.Describe(statVar), yd = BenchKernels.Describe(y);
                    NativeMethods.Check(NativeMethods.BatchNormForwardInference(device, &xd, &sd, &bd, &rmd, &rvd, Epsilon, &yd));
                });
                break;
            case "layernorm":
                bench.Measure(kind, shape, "forward", BenchKernels.Bytes(x, scale, bias, y, mean, invstd), () =>
                {
                    TensorDesc xd = BenchKernels.Describe(x), sd = BenchKernels.Describe(scale), bd = BenchKernels.Describe(bias);
                    TensorDesc yd = BenchKernels.Describe(y), md = BenchKernels.Describe(mean), id = BenchKernels.Describe(invstd);
                    NativeMethods.Check(NativeMethods.LayerNormForward(device, &xd, normalizedRank, &sd, &bd, Epsilon, &yd, &md, &id));
                });
                bench.Measure(kind, shape, "backward", BenchKernels.Bytes(x, dy, scale, mean, invstd, dx, dscale, dbias), () =>
                {
                    TensorDesc xd = BenchKernels.Describe(x), dyd = BenchKernels.Describe(dy), sd = BenchKernels.Describe(scale);
                    TensorDesc md = BenchKernels.Describe(mean), id = BenchKernels.Describe(invstd);
                    TensorDesc dxd = BenchKernels.Describe(dx), dsd = BenchKernels.Describe(dscale), dbd = BenchKernels.Describe(dbias);
                    NativeMethods.Check(NativeMethods.LayerNormBackward(device, &xd, &dyd, normalizedRank, &sd, &md, &id, &dxd, &dsd, &dbd));
                });
                break;
            default:
                bench.Measure(kind, shape, "forward", BenchKernels.Bytes(x, scale, bias, y, mean, invstd), () =>
                {
                    TensorDesc xd = BenchKernels.Describe(x), sd = BenchKernels.Describe(scale), bd = BenchKernels.Describe(bias);
                    TensorDesc yd = BenchKernels.Describe(y), md = BenchKernels.Describe(mean), id = BenchKernels.Describe(invstd);
                    NativeMethods.Check(NativeMethods.GroupNormForward(device, &xd, groups, &sd, &bd, Epsilon, &yd, &md, &id));
                });
                bench.Measure(kind, shape, "backward", BenchKernels.Bytes(x, dy, scale, mean, invstd, dx, dscale, dbias), () =>
                {
                    TensorDesc xd = BenchKernels.Describe(x), dyd = BenchKernels.Describe(dy), sd = BenchKernels.Describe(scale);
                    TensorDesc md = BenchKernels.Describe(mean), id = BenchKernels.Describe(invstd);
                    TensorDesc dxd = BenchKernels.Describe(dx), dsd = BenchKernels.Describe(dscale), dbd = BenchKernels.Describe(dbias);
                    NativeMethods.Check(NativeMethods.GroupNormBackward(device, &xd, &dyd, groups, &sd, &md, &id, &dxd, &dsd, &dbd));
                });
                break;
        }
    }
}

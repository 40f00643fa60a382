using System.CommandLine;
using Myelin.Native;

namespace Myelin.Cli.Commands;

/// <summary>
/// <c>myelin bench pool</c>: 2-D max and average pooling on NCHW tensors, forward and backward, in GB/s. Max pooling
/// writes the indices of its maxima (i64, counted in the bytes) for the backward pass; average pooling counts the
/// padding (PyTorch's default <c>count_include_pad=True</c>).
/// </summary>
internal static unsafe class PoolBenchCommand
{
    private const string DefaultShapes = "16x64x112x112";
    private static readonly string[] s_modes = ["max", "avg"];

    public static Command Create()
    {
        var shapes = BenchTiming.ListOption("--shapes", "Comma-separated NxCxHxW sizes.", DefaultShapes, text => BenchKernels.ParseDimsList(text, 4, 4, "NxCxHxW"));
        var modes = BenchTiming.ListOption("--modes", "Comma-separated pooling modes.", string.Join(',', s_modes), text => BenchKernels.ParseNames(text, s_modes));
        var kernel = BenchTiming.AtLeastOption("--kernel", "Window height and width.", 3);
        var stride = BenchTiming.AtLeastOption("--stride", "Step of the window in both directions.", 2);
        var pad = BenchTiming.AtLeastOption("--pad", "Padding on every side (less than --kernel).", 1, minimum: 0);
        return BenchKernels.CreateCommand("pool", "Time 2-D max and average pooling forward and backward (default: ResNet's 3x3 stride 2 pad 1) and report GB/s.",
            [shapes, modes, kernel, stride, pad], (parseResult, run) =>
            {
                long k = parseResult.GetValue(kernel), s = parseResult.GetValue(stride), p = parseResult.GetValue(pad);
                if (p >= k)
                {
                    throw new MyelinException(Status.InvalidArgument, $"--pad: {p} must be less than --kernel {k}.");
                }

                var parameters = new PoolParams { SpatialRank = 2, CountIncludePad = 1 };
                for (int i = 0; i < 2; i++)
                {
                    parameters.Kernel[i] = k;
                    parameters.Strides[i] = s;
                    parameters.Dilations[i] = 1;
                    parameters.PadsBegin[i] = parameters.PadsEnd[i] = p;
                }

                var bench = new BandwidthBench(run);
                foreach (long[] shape in parseResult.GetValue(shapes) ?? [])
                {
                    long outH = (shape[2] + 2 * p - k) / s + 1, outW = (shape[3] + 2 * p - k) / s + 1;
                    if (shape[2] + 2 * p < k || shape[3] + 2 * p < k)
                    {
                        throw new MyelinException(Status.InvalidArgument,
                            $"--shapes: '{BenchKernels.FormatDims(shape)}' is smaller than the {k}x{k} window even with padding {p}.");
                    }

                    foreach (string mode in parseResult.GetValue(modes) ?? [])
                    {
                        using var scope = new TensorScope();
                        Measure(bench, mode == "max" ? PoolMode.Max : PoolMode.Average, parameters, shape, [shape[0], shape[1], outH, outW],
                            $"{mode}pool {k}x{k}/{s} pad {p}");
                    }
                }

                return bench.Finish();
            });
    }

    private static void Measure(BandwidthBench bench, PoolMode mode, PoolParams parameters, long[] shape, long[] outShape, string kernel)
    {
        var generator = new Generator(seed: 1);
        Tensor x = Tensor.RandN(shape, generator: generator), dx = Tensor.Zeros(shape);
        Tensor y = Tensor.Zeros(outShape), dy = Tensor.RandN(outShape, generator: generator);
        Tensor? indices = mode == PoolMode.Max ? Tensor.Zeros(outShape, DType.I64) : null;
        Tensor[] forwardTensors = indices is null ? [x, y] : [x, y, indices];
        Tensor[] backwardTensors = indices is null ? [dy, dx] : [dy, indices, dx];
        DeviceHandle device = Device.Cpu.Handle;
        bench.Measure(kernel, shape, "forward", BenchKernels.Bytes(forwardTensors), () =>
        {
            PoolParams call = parameters;
            TensorDesc xd = BenchKernels.Describe(x), yd = BenchKernels.Describe(y);
            TensorDesc id = indices is null ? default : BenchKernels.Describe<long>(indices);
            NativeMethods.Check(NativeMethods.PoolForward(device, mode, &call, &xd, &yd, indices is null ? null : &id));
        });
        bench.Measure(kernel, shape, "backward", BenchKernels.Bytes(backwardTensors), () =>
        {
            PoolParams call = parameters;
            TensorDesc dyd = BenchKernels.Describe(dy), dxd = BenchKernels.Describe(dx);
            TensorDesc id = indices is null ? default : BenchKernels.Describe<long>(indices);
            NativeMethods.Check(NativeMethods.PoolBackward(device, mode, &call, &dyd, indices is null ? null : &id, &dxd));
        });
    }
}

using System.CommandLine;
using Myelin.Native;
using Myelin.Ops;

namespace Myelin.Cli.Commands;

/// <summary><c>myelin bench softmax</c>: softmax along the last axis of RxC tensors, forward and backward, in GB/s.</summary>
internal static unsafe class SoftmaxBenchCommand
{
    private const string DefaultShapes = "256x1000,4096x4096";

    public static Command Create()
    {
        var shapes = BenchTiming.ListOption("--shapes", "Comma-separated RxC sizes (rows x classes; softmax along C).", DefaultShapes,
            text => BenchKernels.ParseDimsList(text, 2, 2, "RxC"));
        return BenchKernels.CreateCommand("softmax", "Time softmax forward (x -> y) and backward (y, dy -> dx) along the last axis and report GB/s.", [shapes],
            (parseResult, run) =>
            {
                var bench = new BandwidthBench(run);
                foreach (long[] shape in parseResult.GetValue(shapes) ?? [])
                {
                    using var scope = new TensorScope();
                    var generator = new Generator(seed: 1);
                    // Logits of a few units, as a classifier's: exp stays in its ordinary range.
                    Tensor x = Tensor.RandN(shape, generator: generator, standardDeviation: 3);
                    Tensor dy = Tensor.RandN(shape, generator: generator);
                    Tensor y = Tensor.Zeros(shape);
                    Tensor dx = Tensor.Zeros(shape);
                    // Descriptors are built in each call, as the eager Tensor ops do (a few stores, no allocation).
                    bench.Measure("softmax", shape, "forward", BenchKernels.Bytes(x, y), () =>
                    {
                        TensorDesc xd = BenchKernels.Describe(x), yd = BenchKernels.Describe(y);
                        KernelCalls.Softmax(Device.Cpu.Handle, SoftmaxOp.Softmax, 1, &xd, &yd);
                    });
                    bench.Measure("softmax", shape, "backward", BenchKernels.Bytes(y, dy, dx), () =>
                    {
                        TensorDesc yd = BenchKernels.Describe(y), dyd = BenchKernels.Describe(dy), dxd = BenchKernels.Describe(dx);
                        KernelCalls.SoftmaxBackward(Device.Cpu.Handle, SoftmaxOp.Softmax, 1, &yd, &dyd, &dxd);
                    });
                }

                return bench.Finish();
            });
    }
}

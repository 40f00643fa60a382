using Myelin.Graphs;
using Myelin.Native;

namespace Myelin.Ops;

/// <summary>
/// One kernel call of a compiled plan, built once per plan: its descriptors point into the plan's arena and
/// persistent buffers, so launching allocates nothing. Launches may be asynchronous on a device; the executor
/// synchronizes once at the end of a run.
/// </summary>
public abstract unsafe class KernelLaunch
{
    /// <summary>Issues the call.</summary>
    /// <exception cref="MyelinException">The native call failed.</exception>
    public abstract void Launch(DeviceHandle device);
}

/// <summary>What a binding sees: the node, the device and the descriptors of its inputs and outputs.</summary>
public sealed unsafe class BindContext
{
    private readonly TensorDesc*[] _inputs;
    private readonly TensorDesc*[] _outputs;
    private readonly DescTable _table;
    private readonly bool[]? _constantInputs;
    private readonly bool[]? _readOutputs;

    internal BindContext(Node node, Device device, TensorDesc*[] inputs, TensorDesc*[] outputs, DescTable table, bool[]? constantInputs = null,
        bool[]? readOutputs = null)
    {
        Node = node;
        Device = device;
        _inputs = inputs;
        _outputs = outputs;
        _table = table;
        _constantInputs = constantInputs;
        _readOutputs = readOutputs;
    }

    /// <summary>The node.</summary>
    public Node Node { get; }

    /// <summary>The device the plan runs on.</summary>
    public Device Device { get; }

    /// <summary>Input <paramref name="i"/>'s descriptor (valid for the plan's life).</summary>
    public TensorDesc* Input(int i) => _inputs[i];

    /// <summary>Output <paramref name="i"/>'s descriptor (valid for the plan's life).</summary>
    public TensorDesc* Output(int i) => _outputs[i];

    /// <summary>Number of inputs.</summary>
    public int InputCount => _inputs.Length;

    /// <summary>
    /// Whether input <paramref name="i"/> is a constant (an ONNX initializer) whose descriptor already holds its values
    /// when the plan is built and keeps them for the plan's life, so a binding may prepare it once (not parameters,
    /// which training updates, nor copies made at launch time).
    /// </summary>
    public bool IsConstantInput(int i) => _constantInputs is { } constants && constants[i];

    /// <summary>
    /// Whether the plan reads output <paramref name="i"/>: a later node takes it (or a view of it) or the caller asked
    /// for it. A binding may skip writing an output nobody reads (such as MaxPool's indices in inference); without
    /// the plan's knowledge (a context built elsewhere) every output counts as read.
    /// </summary>
    public bool IsOutputRead(int i) => _readOutputs is not { } read || read[i];

    /// <summary>Keeps <paramref name="resource"/> (native state a launch uses, such as prepared weights) for the plan's life; the plan disposes it.</summary>
    public T Own<T>(T resource) where T : IDisposable => _table.Own(resource);

    /// <summary>Input <paramref name="i"/>'s shape.</summary>
    public long[] InputShape(int i) => Dims(_inputs[i]);

    /// <summary>Output <paramref name="i"/>'s shape.</summary>
    public long[] OutputShape(int i) => Dims(_outputs[i]);

    /// <summary>A new descriptor slot holding <paramref name="desc"/>, valid for the plan's life (such as a rank-expanded view).</summary>
    public TensorDesc* NewDesc(in TensorDesc desc) => _table.Add(desc);

    /// <summary>A pinned copy of <paramref name="values"/>, valid for the plan's life.</summary>
    public int* Pin(int[] values) => _table.Pin(values);

    private static long[] Dims(TensorDesc* desc)
    {
        var dims = new long[desc->Rank];
        for (int i = 0; i < dims.Length; i++) dims[i] = desc->Shape[i];
        return dims;
    }
}

/// <summary>
/// Descriptors and small arrays that native calls read, pinned for a plan's life (pinned-heap arrays never move), and the
/// native resources its launches own (disposed with the plan).
/// </summary>
internal sealed unsafe class DescTable : IDisposable
{
    private const int ChunkSize = 64;
    private readonly List<TensorDesc[]> _chunks = [];
    private readonly List<int[]> _pinnedInts = [];
    private readonly List<IDisposable> _resources = [];
    private int _used = ChunkSize;

    public T Own<T>(T resource) where T : IDisposable
    {
        _resources.Add(resource);
        return resource;
    }

    /// <summary>Disposes the owned resources.</summary>
    public void Dispose()
    {
        foreach (IDisposable resource in _resources) resource.Dispose();
        _resources.Clear();
    }

    public TensorDesc* Add(in TensorDesc desc)
    {
        if (_used == ChunkSize)
        {
            _chunks.Add(GC.AllocateArray<TensorDesc>(ChunkSize, pinned: true));
            _used = 0;
        }

        TensorDesc[] chunk = _chunks[^1];
        chunk[_used] = desc;
        return (TensorDesc*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref chunk[_used++]);
    }

    public int* Pin(int[] values)
    {
        int[] pinned = GC.AllocateArray<int>(Math.Max(values.Length, 1), pinned: true);
        values.CopyTo(pinned, 0);
        _pinnedInts.Add(pinned);
        return (int*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref pinned[0]);
    }

    /// <summary>A descriptor of <paramref name="layout"/> over memory at <paramref name="basePointer"/>.</summary>
    public static TensorDesc Describe(void* basePointer, DType dtype, Layout layout)
    {
        var desc = new TensorDesc { Data = (byte*)basePointer + layout.Offset * dtype.ElementSize(), DType = dtype, Rank = layout.Shape.Length };
        for (int i = 0; i < layout.Shape.Length; i++)
        {
            desc.Shape[i] = layout.Shape[i];
            desc.Strides[i] = layout.Strides[i];
        }

        return desc;
    }
}

/// <summary>The native calls every binding and the eager <see cref="Tensor"/> ops share: one place per kernel family.</summary>
public static unsafe class KernelCalls
{
    /// <summary>y = op(x) with the op's parameters alpha and beta.</summary>
    public static void Unary(DeviceHandle device, UnaryOp op, double alpha, double beta, TensorDesc* x, TensorDesc* y) =>
        NativeMethods.Check(NativeMethods.Unary(device, op, alpha, beta, x, y));

    /// <summary>dx = dy * op'(x).</summary>
    public static void UnaryBackward(DeviceHandle device, UnaryOp op, double alpha, double beta, TensorDesc* x, TensorDesc* y, TensorDesc* dy, TensorDesc* dx) =>
        NativeMethods.Check(NativeMethods.UnaryBackward(device, op, alpha, beta, x, y, dy, dx));

    /// <summary>y = cond ? a : b.</summary>
    public static void Where(DeviceHandle device, TensorDesc* cond, TensorDesc* a, TensorDesc* b, TensorDesc* y) =>
        NativeMethods.Check(NativeMethods.Where(device, cond, a, b, y));

    /// <summary>Softmax or log-softmax along an axis.</summary>
    public static void Softmax(DeviceHandle device, SoftmaxOp op, int axis, TensorDesc* x, TensorDesc* y) =>
        NativeMethods.Check(NativeMethods.Softmax(device, op, axis, x, y));

    /// <summary>The softmax or log-softmax backward from y and dy.</summary>
    public static void SoftmaxBackward(DeviceHandle device, SoftmaxOp op, int axis, TensorDesc* y, TensorDesc* dy, TensorDesc* dx) =>
        NativeMethods.Check(NativeMethods.SoftmaxBackward(device, op, axis, y, dy, dx));

    /// <summary>One fused optimizer update in place.</summary>
    public static void OptimizerStep(DeviceHandle device, OptimizerParams* parameters, TensorDesc* param, TensorDesc* grad, TensorDesc* state0, TensorDesc* state1) =>
        NativeMethods.Check(NativeMethods.OptimizerStep(device, parameters, param, grad, state0, state1));

    /// <summary>y = op(a, b) with broadcasting.</summary>
    public static void Binary(DeviceHandle device, BinaryOp op, TensorDesc* a, TensorDesc* b, TensorDesc* y) =>
        NativeMethods.Check(NativeMethods.Binary(device, op, a, b, y));

    /// <summary>y = reduction of x over axes.</summary>
    public static void Reduce(DeviceHandle device, ReduceOp op, TensorDesc* x, int* axes, int axisCount, bool keepDims, TensorDesc* y) =>
        NativeMethods.Check(NativeMethods.Reduce(device, op, x, axes, axisCount, keepDims ? 1 : 0, y));

    /// <summary>y = x.</summary>
    public static void Copy(DeviceHandle device, TensorDesc* x, TensorDesc* y) =>
        NativeMethods.Check(NativeMethods.Copy(device, x, y));

    /// <summary>y = (dtype) x.</summary>
    public static void Cast(DeviceHandle device, TensorDesc* x, TensorDesc* y) =>
        NativeMethods.Check(NativeMethods.Cast(device, x, y));

    /// <summary>y = value.</summary>
    public static void Fill(DeviceHandle device, TensorDesc* y, double value) =>
        NativeMethods.Check(NativeMethods.Fill(device, y, value));

    /// <summary>c = activation(alpha op(a) op(b) + beta c + bias).</summary>
    public static void Gemm(DeviceHandle device, TensorDesc* a, bool transposeA, TensorDesc* b, bool transposeB, TensorDesc* c,
        double alpha, double beta, TensorDesc* bias, UnaryOp activation, TensorDesc* residual = null) =>
        NativeMethods.Check(NativeMethods.Gemm(device, a, transposeA ? 1 : 0, b, transposeB ? 1 : 0, c, alpha, beta, bias, activation, residual));
}

/// <summary>y = op(x).</summary>
public sealed unsafe class UnaryLaunch(UnaryOp op, double alpha, double beta, TensorDesc* x, TensorDesc* y) : KernelLaunch
{
    /// <inheritdoc/>
    public override void Launch(DeviceHandle device) => KernelCalls.Unary(device, op, alpha, beta, x, y);
}

/// <summary>dx = dy * op'(x).</summary>
public sealed unsafe class UnaryBackwardLaunch(UnaryOp op, double alpha, double beta, TensorDesc* x, TensorDesc* y, TensorDesc* dy, TensorDesc* dx) : KernelLaunch
{
    /// <inheritdoc/>
    public override void Launch(DeviceHandle device) => KernelCalls.UnaryBackward(device, op, alpha, beta, x, y, dy, dx);
}

/// <summary>y = cond ? a : b.</summary>
public sealed unsafe class WhereLaunch(TensorDesc* cond, TensorDesc* a, TensorDesc* b, TensorDesc* y) : KernelLaunch
{
    /// <inheritdoc/>
    public override void Launch(DeviceHandle device) => KernelCalls.Where(device, cond, a, b, y);
}

/// <summary>Softmax or log-softmax.</summary>
public sealed unsafe class SoftmaxLaunch(SoftmaxOp op, int axis, TensorDesc* x, TensorDesc* y) : KernelLaunch
{
    /// <inheritdoc/>
    public override void Launch(DeviceHandle device) => KernelCalls.Softmax(device, op, axis, x, y);
}

/// <summary>Softmax or log-softmax backward.</summary>
public sealed unsafe class SoftmaxBackwardLaunch(SoftmaxOp op, int axis, TensorDesc* y, TensorDesc* dy, TensorDesc* dx) : KernelLaunch
{
    /// <inheritdoc/>
    public override void Launch(DeviceHandle device) => KernelCalls.SoftmaxBackward(device, op, axis, y, dy, dx);
}

/// <summary>y = op(a, b).</summary>
public sealed unsafe class BinaryLaunch(BinaryOp op, TensorDesc* a, TensorDesc* b, TensorDesc* y) : KernelLaunch
{
    /// <inheritdoc/>
    public override void Launch(DeviceHandle device) => KernelCalls.Binary(device, op, a, b, y);
}

/// <summary>y = reduce(x).</summary>
public sealed unsafe class ReduceLaunch(ReduceOp op, TensorDesc* x, int* axes, int axisCount, bool keepDims, TensorDesc* y) : KernelLaunch
{
    /// <inheritdoc/>
    public override void Launch(DeviceHandle device) => KernelCalls.Reduce(device, op, x, axes, axisCount, keepDims, y);
}

/// <summary>y = x.</summary>
public sealed unsafe class CopyLaunch(TensorDesc* x, TensorDesc* y) : KernelLaunch
{
    /// <inheritdoc/>
    public override void Launch(DeviceHandle device) => KernelCalls.Copy(device, x, y);
}

/// <summary>y = (dtype) x.</summary>
public sealed unsafe class CastLaunch(TensorDesc* x, TensorDesc* y) : KernelLaunch
{
    /// <inheritdoc/>
    public override void Launch(DeviceHandle device) => KernelCalls.Cast(device, x, y);
}

/// <summary>y = value.</summary>
public sealed unsafe class FillLaunch(TensorDesc* y, double value) : KernelLaunch
{
    /// <inheritdoc/>
    public override void Launch(DeviceHandle device) => KernelCalls.Fill(device, y, value);
}

/// <summary>c = activation(alpha op(a) op(b) + beta c + bias).</summary>
public sealed unsafe class GemmLaunch(TensorDesc* a, bool transposeA, TensorDesc* b, bool transposeB, TensorDesc* c,
    double alpha, double beta, TensorDesc* bias, UnaryOp activation, TensorDesc* residual = null) : KernelLaunch
{
    /// <inheritdoc/>
    public override void Launch(DeviceHandle device) => KernelCalls.Gemm(device, a, transposeA, b, transposeB, c, alpha, beta, bias, activation, residual);
}

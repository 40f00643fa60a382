using Myelin.Graphs;
using Myelin.Native;

namespace Myelin.Ops;

/// <summary>ONNX Slice (opset 13) with constant starts, ends, axes and steps inputs: a strided view, no copy.</summary>
public sealed class SliceOp : ViewOp
{
    /// <inheritdoc/>
    public override string Name => "Slice";

    /// <inheritdoc/>
    public override int MinInputs => 3;

    /// <inheritdoc/>
    public override int MaxInputs => 5;

    /// <summary>Per axis of the input: (start, step, count) after ONNX clamping.</summary>
    internal static (long Start, long Step, long Count)[] Ranges(Node node, long[] dims)
    {
        long[] Read(int index) => node.Inputs[index].Data?.DType == DType.I64 && node.Inputs[index].Kind == ValueKind.Constant
            ? node.Inputs[index].Data!.ToArray<long>()
            : throw new GraphValidationException($"{node}: input {index} must be a constant i64 tensor.", node.Name);
        long[] starts = Read(1), ends = Read(2);
        long[] axes = node.Inputs.Length > 3 ? Read(3) : Enumerable.Range(0, starts.Length).Select(a => (long)a).ToArray();
        long[] steps = node.Inputs.Length > 4 ? Read(4) : Enumerable.Repeat(1L, starts.Length).ToArray();
        if (ends.Length != starts.Length || axes.Length != starts.Length || steps.Length != starts.Length)
        {
            throw new GraphValidationException($"{node}: starts, ends, axes and steps must have one length.", node.Name);
        }

        var ranges = dims.Select(d => (0L, 1L, d)).ToArray();
        for (int i = 0; i < starts.Length; i++)
        {
            long axis = axes[i] < 0 ? axes[i] + dims.Length : axes[i];
            if (axis < 0 || axis >= dims.Length) throw new GraphValidationException($"{node}: axis {axes[i]} is out of range for rank {dims.Length}.", node.Name);
            long dim = dims[axis], step = steps[i];
            if (step == 0) throw new GraphValidationException($"{node}: step 0 on axis {axis}.", node.Name);
            long start = starts[i] < 0 ? starts[i] + dim : starts[i], end = ends[i] < 0 ? ends[i] + dim : ends[i];
            long count;
            if (step > 0)
            {
                start = Math.Clamp(start, 0, dim);
                end = Math.Clamp(end, 0, dim);
                count = Math.Max(0, (end - start + step - 1) / step);
            }
            else
            {
                start = Math.Clamp(start, -1, dim - 1);
                end = Math.Clamp(end, -1, dim - 1);
                count = Math.Max(0, (start - end + -step - 1) / -step);
            }

            ranges[axis] = (start, step, count);
        }

        return ranges;
    }

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        TensorType x = context.Input(0);
        if (!x.IsConcrete)
        {
            // Only the sliced axes need known sizes; others keep their symbols.
            var dims = x.ToArray();
            long[] known = dims.Select(d => d.IsKnown ? d.Value : long.MaxValue / 4).ToArray();
            var symbolicRanges = Ranges(context.Node, known);
            for (int a = 0; a < dims.Length; a++)
            {
                if (symbolicRanges[a] != (0, 1, known[a])) dims[a] = dims[a].IsKnown ? symbolicRanges[a].Count : throw new GraphValidationException($"{context.Node}: cannot slice symbolic axis {a} ({dims[a]}).", context.Node.Name);
            }

            return [new TensorType(x.DType, dims)];
        }

        return [new TensorType(x.DType, Ranges(context.Node, x.ToShape().ToArray()).Select(r => Dim.Of(r.Count)).ToArray())];
    }

    /// <inheritdoc/>
    public override Layout? View(Node node, Layout input, Shape output)
    {
        var ranges = Ranges(node, input.Shape);
        long offset = input.Offset;
        var strides = new long[input.Shape.Length];
        for (int a = 0; a < strides.Length; a++)
        {
            offset += ranges[a].Count > 0 ? ranges[a].Start * input.Strides[a] : 0;
            strides[a] = input.Strides[a] * ranges[a].Step;
        }

        return new Layout(output.ToArray(), strides, offset);
    }

    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c) =>
        [c.Graph.Apply("SliceGrad", [c.Dy()!, c.X(0), .. c.Node.Inputs[1..]])[0], .. new Value?[c.Node.Inputs.Length - 1]];

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[4, 5]], Build: (g, x) => [Slice(x[0], 1, 5, step: 2, axis: 1), Slice(x[0], 0, 3, axis: 0)]);

    /// <summary>x[start:end:step] along <paramref name="axis"/>.</summary>
    public static Value Slice(Value x, long start, long end, long step = 1, int axis = 0)
    {
        Graph g = x.Graph;
        Value C(long v) => g.Constant(Tensor.FromArray(new[] { v }).MoveToOuterScope());
        return g.Apply("Slice", [x, C(start), C(end), C(axis), C(step)])[0];
    }
}

/// <summary>Myelin's SliceGrad(dy, x, starts, ends[, axes[, steps]]): zeros shaped like x with dy written into the slice.</summary>
public sealed unsafe class SliceGradOp : OpDef
{
    /// <inheritdoc/>
    public override string Name => "SliceGrad";

    /// <inheritdoc/>
    public override string Domain => "ai.myelin";

    /// <inheritdoc/>
    public override int SinceVersion => 1;

    /// <inheritdoc/>
    public override int MinInputs => 4;

    /// <inheritdoc/>
    public override int MaxInputs => 6;

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context) => [context.Input(1).WithDType(context.Input(0).DType)];

    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c) =>
        [c.Graph.Apply("Slice", [c.Dy()!, .. c.Node.Inputs[2..]])[0], .. new Value?[c.Node.Inputs.Length - 1]];

    /// <inheritdoc/>
    /// <remarks>dy is [4, 2], written into columns 1 and 3 of a [4, 5] x; x gives only the shape, so its gradient is 0.</remarks>
    public override GradCheckCase? GradCheckCase => new([[4, 2], [4, 5]], Build: (g, x) =>
    {
        Value C(long v) => g.Constant(Tensor.FromArray(new[] { v }).MoveToOuterScope());
        return [g.Apply("SliceGrad", [x[0], x[1], C(1), C(5), C(1), C(2)])[0]];
    });

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context)
    {
        // The slice of the output, seen as the forward Slice sees its input.
        var sliceNode = new Node(context.Node.Name, OpRegistry.Get("Slice"), [context.Node.Inputs[1], .. context.Node.Inputs[2..]], new Dictionary<string, object>());
        long[] shape = context.OutputShape(0);
        TensorDesc output = *context.Output(0);
        Layout sliced = new SliceOp().View(sliceNode, Layout.Contiguous(new Shape(shape)), new Shape(context.InputShape(0)))!;
        var region = new TensorDesc { Data = (byte*)output.Data + sliced.Offset * output.DType.ElementSize(), DType = output.DType, Rank = shape.Length };
        for (int a = 0; a < shape.Length; a++)
        {
            region.Shape[a] = sliced.Shape[a];
            region.Strides[a] = sliced.Strides[a];
        }

        return new SequenceLaunch(new FillLaunch(context.Output(0), 0), new CopyLaunch(context.Input(0), context.NewDesc(region)));
    }
}

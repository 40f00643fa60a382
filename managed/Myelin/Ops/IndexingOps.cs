using Myelin.Graphs;
using Myelin.Native;

namespace Myelin.Ops;

/// <summary>ONNX Gather along <c>axis</c> with i32/i64 indices, bound to <c>mln_gather</c>; its gradient scatter-adds.</summary>
public sealed unsafe class GatherOp : OpDef
{
    /// <inheritdoc/>
    public override string Name => "Gather";

    /// <inheritdoc/>
    public override int MinInputs => 2;

    /// <inheritdoc/>
    public override bool RequiresContiguousInput(int index) => true;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("axis", AttrKind.Int, 0L)];

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        TensorType x = context.Input(0), indices = context.Input(1);
        if (indices.DType is not (DType.I64 or DType.I32)) context.Fail($"indices are {indices.DType.ShortName()}; they must be i32 or i64");
        int axis = context.Axis(context.Node.GetInt("axis"), x.Rank);
        return [new TensorType(x.DType, [.. x.Dims[..axis].ToArray(), .. indices.Dims.ToArray(), .. x.Dims[(axis + 1)..].ToArray()])];
    }

    private static int Axis(Node node, int rank) => (int)(node.GetInt("axis") < 0 ? node.GetInt("axis") + rank : node.GetInt("axis"));

    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c) =>
        [c.Graph.Apply("GatherGrad", [c.Dy()!, c.X(1), c.X(0)], new Dictionary<string, object> { ["axis"] = (long)Axis(c.Node, c.X(0).Rank) })[0], null];

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context) => new GatherLaunch(Axis(context.Node, context.InputShape(0).Length), context.Input(0), context.Input(1), context.Output(0));

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[3, 4, 2]], Build: (g, x) =>
        [g.Apply("Gather", [x[0], g.Constant(Tensor.FromArray(new long[] { 3, 0, 3, 1 }, [2, 2]).MoveToOuterScope())], new Dictionary<string, object> { ["axis"] = 1L })[0]]);

    private sealed class GatherLaunch(int axis, TensorDesc* x, TensorDesc* indices, TensorDesc* y) : KernelLaunch
    {
        public override void Launch(DeviceHandle device) => NativeMethods.Check(NativeMethods.Gather(device, x, axis, indices, y));
    }
}

/// <summary>
/// The gradient of a gather on x (input 0) with <paramref name="attribute"/>: GradOp(dy, indices, x) gives zeros shaped
/// like x with dy scatter-added where the gather read; its own gradient to dy is the gather of the incoming gradient.
/// </summary>
/// <param name="name">The Myelin op name.</param>
/// <param name="gather">The gather whose gradient this is.</param>
/// <param name="attribute">The gather's int attribute (default 0), which the scatter uses too.</param>
public abstract class ScatterAddGradOp(string name, string gather, string attribute) : OpDef
{
    /// <inheritdoc/>
    public override string Name => name;

    /// <inheritdoc/>
    public override string Domain => "ai.myelin";

    /// <inheritdoc/>
    public override int SinceVersion => 1;

    /// <inheritdoc/>
    public override int MinInputs => 3;

    /// <inheritdoc/>
    public override bool RequiresContiguousInput(int index) => true;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new(attribute, AttrKind.Int, 0L)];

    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c)
    {
        ArgumentNullException.ThrowIfNull(c);
        return [c.Op(gather, [c.Dy()!, c.X(1)], new Dictionary<string, object> { [attribute] = c.Node.GetInt(attribute) }), null, null];
    }
}

/// <summary>Myelin's GatherGrad(dy, indices, x): zeros shaped like x with dy scatter-added at the indices (<c>mln_scatter_add</c>).</summary>
public sealed unsafe class GatherGradOp() : ScatterAddGradOp("GatherGrad", "Gather", "axis")
{
    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context) => [context.Input(2).WithDType(context.Input(0).DType)];

    /// <inheritdoc/>
    /// <remarks>Index 3 repeats, so the scatter must add; x ([3, 4, 2]) gives only the shape, so its gradient is 0.</remarks>
    public override GradCheckCase? GradCheckCase => new([[3, 2, 2, 2], [3, 4, 2]], Build: (g, x) =>
        [g.Apply("GatherGrad", [x[0], g.Constant(Tensor.FromArray(new long[] { 3, 0, 3, 1 }, [2, 2]).MoveToOuterScope()), x[1]],
            new Dictionary<string, object> { ["axis"] = 1L })[0]]);

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context) =>
        new SequenceLaunch(new FillLaunch(context.Output(0), 0), new ScatterLaunch((int)context.Node.GetInt("axis"), context.Input(0), context.Input(1), context.Output(0)));

    private sealed class ScatterLaunch(int axis, TensorDesc* updates, TensorDesc* indices, TensorDesc* y) : KernelLaunch
    {
        public override void Launch(DeviceHandle device) => NativeMethods.Check(NativeMethods.ScatterAdd(device, updates, axis, indices, y));
    }
}

/// <summary>ONNX Pad (opset 13+): constant pads input, optional constant value, mode constant/reflect/edge; negative pads crop.</summary>
public sealed unsafe class PadOp : OpDef
{
    /// <inheritdoc/>
    public override string Name => "Pad";

    /// <inheritdoc/>
    public override int MinInputs => 2;

    /// <inheritdoc/>
    public override bool RequiresContiguousInput(int index) => true;

    /// <inheritdoc/>
    public override int MaxInputs => 3;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("mode", AttrKind.String, "constant")];

    private static long[] Pads(Node node, int rank)
    {
        Value pads = node.Inputs[1];
        if (pads.Kind != ValueKind.Constant || pads.DType != DType.I64 || pads.Rank != 1 || pads.Data!.ElementCount != 2 * rank)
        {
            throw new GraphValidationException($"{node}: pads must be a constant i64 tensor of {2 * rank} values.", node.Name);
        }

        return pads.Data.ToArray<long>();
    }

    private static PadMode Mode(Node node) => (string)node.Attributes["mode"] switch
    {
        "constant" => PadMode.Constant,
        "reflect" => PadMode.Reflect,
        "edge" => PadMode.Edge,
        string other => throw new GraphValidationException($"{node}: mode \"{other}\" is not constant, reflect or edge.", node.Name),
    };

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        TensorType x = context.Input(0);
        Mode(context.Node);
        long[] pads = Pads(context.Node, x.Rank);
        var dims = x.ToArray();
        for (int a = 0; a < x.Rank; a++)
        {
            if (pads[a] == 0 && pads[a + x.Rank] == 0) continue;
            if (!x[a].IsKnown) context.Fail($"cannot pad symbolic axis {a} ({x[a]})");
            long size = x[a].Value + pads[a] + pads[a + x.Rank];
            if (size < 0) context.Fail($"pads crop axis {a} of size {x[a]} below zero");
            dims[a] = size;
        }

        return [new TensorType(x.DType, dims)];
    }

    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c)
    {
        if (Mode(c.Node) != PadMode.Constant) throw new GraphValidationException($"{c.Node}: only constant padding has a gradient yet.", c.Node.Name);
        long[] negated = Pads(c.Node, c.X(0).Rank).Select(p => -p).ToArray();
        Value crop = c.Graph.Apply("Pad", [c.Dy()!, c.Graph.Constant(Tensor.FromArray(negated).MoveToOuterScope())])[0];
        return [crop, .. new Value?[c.Node.Inputs.Length - 1]];
    }

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context)
    {
        int rank = context.InputShape(0).Length;
        long[] pads = Pads(context.Node, rank);
        double value = 0;
        if (context.Node.Inputs.Length > 2)
        {
            using Tensor f64 = context.Node.Inputs[2].Data!.Cast(DType.F64);
            value = f64.Item<double>();
        }

        long[] pinned = GC.AllocateArray<long>(2 * rank, pinned: true);
        pads.CopyTo(pinned, 0);
        return new PadLaunch(Mode(context.Node), pinned, rank, value, context.Input(0), context.Output(0));
    }

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 3]], Build: (g, x) =>
        [g.Apply("Pad", [x[0], g.Constant(Tensor.FromArray(new long[] { 1, -1, 0, 2 }).MoveToOuterScope())])[0]]);

    private sealed class PadLaunch(PadMode mode, long[] pads, int rank, double value, TensorDesc* x, TensorDesc* y) : KernelLaunch
    {
        public override void Launch(DeviceHandle device)
        {
            fixed (long* p = pads) NativeMethods.Check(NativeMethods.Pad(device, mode, x, p, p + rank, value, y));
        }
    }
}

/// <summary>ONNX Concat along <c>axis</c>: each input copied into its slice of the output.</summary>
public sealed unsafe class ConcatOp : OpDef
{
    /// <inheritdoc/>
    public override string Name => "Concat";

    /// <inheritdoc/>
    public override int MinInputs => 1;

    /// <inheritdoc/>
    /// <remarks>Variadic as in ONNX: a recurrent layer joins one part per time step.</remarks>
    public override int MaxInputs => int.MaxValue;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("axis", AttrKind.Int)];

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        TensorType first = context.Input(0);
        int axis = context.Axis(context.Node.GetInt("axis"), first.Rank);
        long total = 0;
        for (int i = 0; i < context.Inputs.Length; i++)
        {
            TensorType t = context.Input(i);
            if (t.DType != first.DType || t.Rank != first.Rank) context.Fail($"input {i} is {t} but input 0 is {first}");
            for (int a = 0; a < t.Rank; a++)
            {
                if (a != axis && t[a] != first[a]) context.Fail($"input {i} is {t.ShapeText} but input 0 is {first.ShapeText} (axis {a})");
            }

            if (!t[axis].IsKnown) context.Fail($"input {i} has a symbolic size on the concatenated axis");
            total += t[axis].Value;
        }

        var dims = first.ToArray();
        dims[axis] = total;
        return [new TensorType(first.DType, dims)];
    }

    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c)
    {
        int axis = c.Axis(c.Node.GetInt("axis"), c.X(0).Rank);
        var grads = new Value?[c.Node.Inputs.Length];
        long start = 0;
        for (int i = 0; i < grads.Length; i++)
        {
            long size = c.X(i).Type[axis].Value;
            grads[i] = SliceOp.Slice(c.Dy()!, start, start + size, axis: axis);
            start += size;
        }

        return grads;
    }

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context)
    {
        long[] shape = context.OutputShape(0);
        int axis = (int)(context.Node.GetInt("axis") < 0 ? context.Node.GetInt("axis") + shape.Length : context.Node.GetInt("axis"));
        TensorDesc output = *context.Output(0);
        var launches = new KernelLaunch[context.InputCount];
        long start = 0;
        for (int i = 0; i < context.InputCount; i++)
        {
            long[] inShape = context.InputShape(i);
            TensorDesc part = output;
            part.Data = (byte*)output.Data + start * output.Strides[axis] * output.DType.ElementSize();
            part.Shape[axis] = inShape[axis];
            launches[i] = new CopyLaunch(context.Input(i), context.NewDesc(part));
            start += inShape[axis];
        }

        return new SequenceLaunch(launches);
    }

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 3], [2, 1], [2, 2]], Attributes: new() { ["axis"] = 1L });
}

using Myelin.Graphs;
using Myelin.Native;

namespace Myelin.Ops;

/// <summary>Layout arithmetic shared by view ops and bindings.</summary>
public static unsafe class Views
{
    /// <summary><paramref name="x"/> seen with <paramref name="shape"/> by NumPy broadcasting (stride 0 on stretched axes).</summary>
    public static TensorDesc Broadcast(TensorDesc x, long[] shape)
    {
        var y = new TensorDesc { Data = x.Data, DType = x.DType, Rank = shape.Length };
        for (int i = 1; i <= shape.Length; i++)
        {
            int axis = shape.Length - i, source = x.Rank - i;
            y.Shape[axis] = shape[axis];
            y.Strides[axis] = source >= 0 && x.Shape[source] == shape[axis] ? x.Strides[source] : 0;
        }

        return y;
    }

    /// <summary><paramref name="input"/> seen with <paramref name="shape"/> by broadcasting.</summary>
    public static Layout Broadcast(Layout input, Shape shape)
    {
        var strides = new long[shape.Rank];
        for (int i = 1; i <= shape.Rank; i++)
        {
            int axis = shape.Rank - i, source = input.Shape.Length - i;
            strides[axis] = source >= 0 && input.Shape[source] == shape[axis] ? input.Strides[source] : 0;
        }

        return new Layout(shape.ToArray(), strides, input.Offset);
    }

    /// <summary>A contiguous input re-seen with <paramref name="shape"/>; null when the input is not contiguous.</summary>
    public static Layout? Reshape(Layout input, Shape shape) =>
        input.IsContiguous ? new Layout(shape.ToArray(), shape.ContiguousStrides(), input.Offset) : null;
}

/// <summary>An op whose output re-reads input 0's memory with another layout.</summary>
public abstract class ViewOp : OpDef
{
    /// <inheritdoc/>
    public override bool IsView => true;
}

/// <summary>An op whose output is input 0 with another shape, same elements in row-major order.</summary>
public abstract class ReshapeLikeViewOp : ViewOp
{
    /// <inheritdoc/>
    public override Layout? View(Node node, Layout input, Shape output) => Views.Reshape(input, output);

    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c) => [c.Op("ReshapeLike", c.Dy()!, c.X(0)), .. new Value?[c.Node.Inputs.Length - 1]];
}

/// <summary>ONNX Identity.</summary>
public sealed class IdentityOp : ViewOp
{
    /// <inheritdoc/>
    public override string Name => "Identity";

    /// <inheritdoc/>
    public override int MinInputs => 1;

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context) => [context.Input(0)];

    /// <inheritdoc/>
    public override Layout? View(Node node, Layout input, Shape output) => input;

    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c) => [c.Dy()];

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 3]]);
}

/// <summary>Myelin's StopGradient: the input unchanged, with no gradient flowing back.</summary>
public sealed class StopGradientOp : ViewOp
{
    /// <inheritdoc/>
    public override string Name => "StopGradient";

    /// <inheritdoc/>
    public override string Domain => "ai.myelin";

    /// <inheritdoc/>
    public override int SinceVersion => 1;

    /// <inheritdoc/>
    public override int MinInputs => 1;

    /// <inheritdoc/>
    public override bool IsDifferentiable => false;

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context) => [context.Input(0)];

    /// <inheritdoc/>
    public override Layout? View(Node node, Layout input, Shape output) => input;

    /// <inheritdoc/>
    /// <remarks>An inference model has no gradients to stop: the identity.</remarks>
    public override void ExportOnnx(OnnxExportContext context) => context.Final("Identity", [context.Input(0)]);
}

/// <summary>ONNX Transpose (default: reverse the axes).</summary>
public sealed class TransposeOp : ViewOp
{
    /// <inheritdoc/>
    public override string Name => "Transpose";

    /// <inheritdoc/>
    public override int MinInputs => 1;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("perm", AttrKind.Ints, Optional: true)];

    private static int[] Perm(Node node, int rank) =>
        node.GetInts("perm")?.Select(p => (int)p).ToArray() ?? Enumerable.Range(0, rank).Reverse().ToArray();

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        TensorType x = context.Input(0);
        int[] perm = Perm(context.Node, x.Rank);
        if (perm.Length != x.Rank || perm.Order().Where((p, i) => p != i).Any())
        {
            context.Fail($"perm [{string.Join(", ", perm)}] is not a permutation of the {x.Rank} axes of {x.ShapeText}");
        }

        return [new TensorType(x.DType, perm.Select(p => x[p]).ToArray())];
    }

    /// <inheritdoc/>
    public override Layout? View(Node node, Layout input, Shape output)
    {
        int[] perm = Perm(node, input.Shape.Length);
        return new Layout(perm.Select(p => input.Shape[p]).ToArray(), perm.Select(p => input.Strides[p]).ToArray(), input.Offset);
    }

    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c)
    {
        int[] perm = Perm(c.Node, c.X(0).Rank);
        var inverse = new long[perm.Length];
        for (int i = 0; i < perm.Length; i++) inverse[perm[i]] = i;
        return [c.Dy()!.Transpose(inverse)];
    }

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 3, 4]], Attributes: new() { ["perm"] = new long[] { 2, 0, 1 } });
}

/// <summary>ONNX Reshape with a constant shape input (0 copies the input dim, -1 is inferred).</summary>
public sealed class ReshapeOp : ReshapeLikeViewOp
{
    /// <inheritdoc/>
    public override string Name => "Reshape";

    /// <inheritdoc/>
    public override int MinInputs => 2;

    /// <inheritdoc/>
    /// <remarks>allowzero = 1 (opset 14) makes a 0 in the shape a dim of size 0 rather than a copy of the input's dim.</remarks>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("allowzero", AttrKind.Int, 0L)];

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        TensorType x = context.Input(0);
        long[] spec = context.Node.ConstantInt64Input(1, "shape");
        bool allowZero = context.Node.GetInt("allowzero") != 0;
        if (allowZero && spec.Contains(0) && spec.Contains(-1)) context.Fail("with allowzero = 1 the shape cannot hold both 0 and -1");
        var dims = new Dim[spec.Length];
        int inferred = -1;
        long knownSpec = 1;
        for (int i = 0; i < spec.Length; i++)
        {
            if (spec[i] == -1)
            {
                if (inferred >= 0) context.Fail("the shape has more than one -1");
                inferred = i;
                continue;
            }

            if (spec[i] < -1) context.Fail($"shape entry {spec[i]} is negative");
            dims[i] = spec[i] == 0 && !allowZero ? (i < x.Rank ? x[i] : Dim.Of(0)) : Dim.Of(spec[i]);
        }

        // Compared factor by factor, so that a derived dim such as N*5 divides by a given 5 and leaves N to infer.
        var specSymbols = new List<Dim>();
        foreach (Dim factor in dims.Where((_, i) => i != inferred).SelectMany(d => d.Factors()))
        {
            if (factor.IsKnown) knownSpec *= factor.Value;
            else specSymbols.Add(factor);
        }

        long knownInput = 1;
        Dim symbolic = 1;
        foreach (Dim factor in x.Dims.ToArray().SelectMany(d => d.Factors()))
        {
            if (factor.IsKnown) knownInput *= factor.Value;
            else if (!specSymbols.Remove(factor)) symbolic *= factor;
        }

        if (inferred >= 0)
        {
            if (knownSpec == 0 || knownInput % knownSpec != 0) context.Fail($"cannot reshape {x.ShapeText} to [{string.Join(", ", spec)}]");
            dims[inferred] = symbolic * Dim.Of(knownInput / knownSpec);
        }
        else if (x.IsConcrete && dims.All(d => d.IsKnown) && knownInput != knownSpec)
        {
            context.Fail($"cannot reshape {x.ShapeText} ({knownInput} elements) to [{string.Join(", ", spec)}] ({knownSpec} elements)");
        }

        return [new TensorType(x.DType, dims)];
    }

    /// <inheritdoc/>
    /// <remarks>The shape is a constant input (0 copies a dim, -1 is inferred); only the data input is checked.</remarks>
    public override GradCheckCase? GradCheckCase => new([[2, 3, 4]], Build: (g, x) =>
        [g.Apply("Reshape", [x[0], g.Constant(Tensor.FromArray(new long[] { 0, -1, 2 }).MoveToOuterScope())])[0]]);
}

/// <summary>ONNX Flatten: rank 2, dims before <c>axis</c> multiplied into the first.</summary>
public sealed class FlattenOp : ReshapeLikeViewOp
{
    /// <inheritdoc/>
    public override string Name => "Flatten";

    /// <inheritdoc/>
    public override int MinInputs => 1;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("axis", AttrKind.Int, 1L)];

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        TensorType x = context.Input(0);
        long axis = context.Node.GetInt("axis");
        if (axis < 0) axis += x.Rank;
        if (axis < 0 || axis > x.Rank) context.Fail($"axis {context.Node.GetInt("axis")} is out of range for rank {x.Rank}");
        Dim outer = 1, inner = 1;
        for (int i = 0; i < x.Rank; i++)
        {
            if (i < axis) outer *= x[i];
            else inner *= x[i];
        }

        return [new TensorType(x.DType, outer, inner)];
    }

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 3, 2]], Attributes: new() { ["axis"] = 2L });
}

/// <summary>ONNX Squeeze (opset 13: axes as an optional constant i64 input).</summary>
public sealed class SqueezeOp : ReshapeLikeViewOp
{
    /// <inheritdoc/>
    public override string Name => "Squeeze";

    /// <inheritdoc/>
    public override int MinInputs => 1;

    /// <inheritdoc/>
    public override int MaxInputs => 2;

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        TensorType x = context.Input(0);
        long[]? axes = context.Inputs.Length == 2 ? AxesInput(context) : null;
        var keep = new List<Dim>();
        for (int i = 0; i < x.Rank; i++)
        {
            bool listed = axes is not null && axes.Any(a => context.Axis(a, x.Rank) == i);
            bool isOne = x[i].IsKnown && x[i].Value == 1;
            if (listed && !isOne) context.Fail($"axis {i} of {x.ShapeText} is {x[i]}, not 1");
            if (!(listed || (axes is null && isOne))) keep.Add(x[i]);
        }

        return [new TensorType(x.DType, [.. keep])];
    }

    internal static long[] AxesInput(InferContext context) => context.Node.ConstantInt64Input(1, "axes");

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 1, 3]]);
}

/// <summary>ONNX Unsqueeze (opset 13: axes as a constant i64 input).</summary>
public sealed class UnsqueezeOp : ReshapeLikeViewOp
{
    /// <inheritdoc/>
    public override string Name => "Unsqueeze";

    /// <inheritdoc/>
    public override int MinInputs => 2;

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        TensorType x = context.Input(0);
        long[] axes = SqueezeOp.AxesInput(context);
        int rank = x.Rank + axes.Length;
        var inserted = new bool[rank];
        foreach (long axis in axes)
        {
            int a = context.Axis(axis, rank);
            if (inserted[a]) context.Fail($"axis {axis} appears twice");
            inserted[a] = true;
        }

        var dims = new Dim[rank];
        for (int i = 0, source = 0; i < rank; i++) dims[i] = inserted[i] ? Dim.Of(1) : x[source++];
        return [new TensorType(x.DType, dims)];
    }

    /// <inheritdoc/>
    /// <remarks>The axes are a constant input (a negative one included); only the data input is checked.</remarks>
    public override GradCheckCase? GradCheckCase => new([[2, 3]], Build: (g, x) =>
        [g.Apply("Unsqueeze", [x[0], g.Constant(Tensor.FromArray(new long[] { 0, -1 }).MoveToOuterScope())])[0]]);
}

/// <summary>Myelin's ReshapeLike(x, like): x's elements with like's shape (gradients of reshapes).</summary>
public sealed class ReshapeLikeOp : ReshapeLikeViewOp
{
    /// <inheritdoc/>
    public override string Name => "ReshapeLike";

    /// <inheritdoc/>
    public override string Domain => "ai.myelin";

    /// <inheritdoc/>
    public override int SinceVersion => 1;

    /// <inheritdoc/>
    public override int MinInputs => 2;

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context) => [context.Input(1).WithDType(context.Input(0).DType)];

    /// <inheritdoc/>
    /// <remarks>
    /// A Reshape to a constant shape, which importers (Myelin's too) need when they build the graph: like's known dims,
    /// 0 (copy x's dim) for a symbolic dim x has at the same axis, and -1 for at most one other symbolic dim.
    /// </remarks>
    public override void ExportOnnx(OnnxExportContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        TensorType x = context.Node.Inputs[0].Type, like = context.Node.Inputs[1].Type;
        var shape = new long[like.Rank];
        for (int axis = 0; axis < like.Rank; axis++)
        {
            Dim dim = like[axis];
            shape[axis] = dim.IsKnown ? dim.Value : axis < x.Rank && x[axis] == dim ? 0 : -1;
        }

        if (shape.Count(d => d == -1) > 1)
        {
            throw context.Unsupported($"reshaping {x.ShapeText} to {like.ShapeText} needs more than one symbolic dim inferred, which a constant ONNX shape cannot say");
        }

        context.Final("Reshape", [context.Input(0), context.Int64s("shape", shape)]);
    }

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 3], [3, 2]]);
}

/// <summary>Myelin's ExpandLike(x, like): x broadcast to like's shape, as a view (stride 0).</summary>
public sealed class ExpandLikeOp : ViewOp
{
    /// <inheritdoc/>
    public override string Name => "ExpandLike";

    /// <inheritdoc/>
    public override string Domain => "ai.myelin";

    /// <inheritdoc/>
    public override int SinceVersion => 1;

    /// <inheritdoc/>
    public override int MinInputs => 2;

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        Dim[] dims = context.Broadcast(context.Input(0), context.Input(1));
        if (!dims.AsSpan().SequenceEqual(context.Input(1).Dims)) context.Fail($"{context.Input(0).ShapeText} does not broadcast to {context.Input(1).ShapeText}");
        return [context.Input(1).WithDType(context.Input(0).DType)];
    }

    /// <inheritdoc/>
    public override Layout? View(Node node, Layout input, Shape output) => Views.Broadcast(input, output);

    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c) => [c.SumTo(c.Dy()!, c.X(0)), null];

    /// <inheritdoc/>
    /// <remarks>
    /// Expand to a constant shape when like's dims are known. A symbolic dim (a batch) cannot be a constant, and
    /// Expand(x, Shape(like)) would not import where Expand needs its shape at build time, so the broadcast comes
    /// from Where(Equal(like, like), x, x): x either way (even where like is NaN), in the shape of the three broadcast.
    /// </remarks>
    public override void ExportOnnx(OnnxExportContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        TensorType like = context.Node.Inputs[1].Type;
        string x = context.Input(0);
        if (like.IsConcrete)
        {
            context.Final("Expand", [x, context.Int64s("shape", like.ToShape().ToArray())]);
            return;
        }

        string always = context.Step("Equal", context.Input(1), context.Input(1));
        context.Final("Where", [always, x, x]);
    }

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[3], [2, 3]]);
}

/// <summary>Myelin's SumToLike(x, like): x summed over the axes that broadcasting stretched, giving like's shape.</summary>
public sealed unsafe class SumToLikeOp : OpDef
{
    /// <inheritdoc/>
    public override string Name => "SumToLike";

    /// <inheritdoc/>
    public override string Domain => "ai.myelin";

    /// <inheritdoc/>
    public override int SinceVersion => 1;

    /// <inheritdoc/>
    public override int MinInputs => 2;

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        Dim[] dims = context.Broadcast(context.Input(1), context.Input(0));
        if (!dims.AsSpan().SequenceEqual(context.Input(0).Dims)) context.Fail($"{context.Input(1).ShapeText} does not broadcast to {context.Input(0).ShapeText}");
        return [context.Input(1).WithDType(context.Input(0).DType)];
    }

    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c) => [c.Op("ExpandLike", c.Dy()!, c.X(0)), null];

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context)
    {
        long[] x = context.InputShape(0), y = context.OutputShape(0);
        var axes = new List<int>();
        var kept = new TensorDesc { Data = context.Output(0)->Data, DType = context.Output(0)->DType, Rank = x.Length };
        long stride = 1;
        for (int axis = x.Length - 1; axis >= 0; axis--)
        {
            int source = y.Length - (x.Length - axis);
            long dim = source >= 0 ? y[source] : 1;
            if (dim != x[axis]) axes.Add(axis);
            kept.Shape[axis] = dim;
            kept.Strides[axis] = stride;
            stride *= Math.Max(dim, 1);
        }

        // Only leading axes of size 1 dropped (x 1x4x16, like 4x16): a copy into the output seen with x's rank.
        if (axes.Count == 0) return new CopyLaunch(context.Input(0), context.NewDesc(kept));
        return new ReduceLaunch(ReduceOp.Sum, context.Input(0), context.Pin([.. axes]), axes.Count, true, context.NewDesc(kept));
    }

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 3], [3]]);
}

/// <summary>Myelin's BroadcastReduced(dy, x): the result of a reduction of x (same axes/keepdims attributes) broadcast back to x's shape, as a view.</summary>
public sealed class BroadcastReducedOp : ViewOp
{
    /// <inheritdoc/>
    public override string Name => "BroadcastReduced";

    /// <inheritdoc/>
    public override string Domain => "ai.myelin";

    /// <inheritdoc/>
    public override int SinceVersion => 1;

    /// <inheritdoc/>
    public override int MinInputs => 2;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } =
        [new("axes", AttrKind.Ints, Optional: true), new("keepdims", AttrKind.Int, 1L)];

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        TensorType y = context.Input(0), x = context.Input(1);
        bool[] reduced = ReduceKernelOp.ReducedAxes(context.Node, x.Rank, context);
        bool keep = context.Node.GetInt("keepdims") != 0;
        int expected = keep ? x.Rank : reduced.Count(r => !r);
        if (y.Rank != expected) context.Fail($"the reduced value has rank {y.Rank} but x of {x.ShapeText} reduces to rank {expected}");
        return [x.WithDType(y.DType)];
    }

    /// <inheritdoc/>
    public override Layout? View(Node node, Layout input, Shape output)
    {
        bool[] reduced = ReduceKernelOp.ReducedAxes(node, output.Rank);
        bool keep = node.GetInt("keepdims") != 0;
        var strides = new long[output.Rank];
        for (int axis = 0, source = 0; axis < output.Rank; axis++)
        {
            if (reduced[axis])
            {
                strides[axis] = 0;
                if (keep) source++;
            }
            else
            {
                strides[axis] = input.Strides[source++];
            }
        }

        return new Layout(output.ToArray(), strides, input.Offset);
    }

    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c) =>
        [c.Graph.Apply("ReduceSum", [c.Dy()!], new Dictionary<string, object>(c.Node.Attributes))[0], null];

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 4], [2, 3, 4]], Attributes: new() { ["axes"] = new long[] { 1 }, ["keepdims"] = 0L });
}

/// <summary>Myelin's CountRatio(a, b): a 0-d tensor of a's dtype holding count(a) / count(b), known once shapes are.</summary>
public sealed unsafe class CountRatioOp : OpDef
{
    /// <inheritdoc/>
    public override string Name => "CountRatio";

    /// <inheritdoc/>
    public override string Domain => "ai.myelin";

    /// <inheritdoc/>
    public override int SinceVersion => 1;

    /// <inheritdoc/>
    public override int MinInputs => 2;

    /// <inheritdoc/>
    public override bool IsDifferentiable => false;

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context) => [new TensorType(context.Input(0).DType)];

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context)
    {
        double a = context.InputShape(0).Aggregate(1L, (p, d) => p * d), b = context.InputShape(1).Aggregate(1L, (p, d) => p * d);
        return new FillLaunch(context.Output(0), a / b);
    }
}

/// <summary>Myelin's Assign(target, value): copies value into the parameter target in place (optimizer updates).</summary>
public sealed unsafe class AssignOp : OpDef
{
    /// <inheritdoc/>
    public override string Name => "Assign";

    /// <inheritdoc/>
    public override string Domain => "ai.myelin";

    /// <inheritdoc/>
    public override int SinceVersion => 1;

    /// <inheritdoc/>
    public override int MinInputs => 2;

    /// <inheritdoc/>
    public override bool HasSideEffects => true;

    /// <inheritdoc/>
    public override IReadOnlyList<int> MutatedInputs { get; } = [0];

    /// <inheritdoc/>
    public override bool IsDifferentiable => false;

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        if (context.Node.Inputs[0].Kind != ValueKind.Parameter) context.Fail($"the target '{context.Node.Inputs[0].Name}' is not a parameter");
        if (!context.Input(0).Equals(context.Input(1))) context.Fail($"the value is {context.Input(1)} but the target is {context.Input(0)}");
        return [];
    }

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context) => new CopyLaunch(context.Input(1), context.Input(0));
}

using Myelin.Graphs;
using Myelin.Native;

namespace Myelin.Ops;

/// <summary>ONNX MatMul (rank 2 or more, batch axes broadcast as NumPy's matmul), one <c>mln_gemm</c> call.</summary>
public sealed unsafe class MatMulOp : OpDef
{
    /// <inheritdoc/>
    public override string Name => "MatMul";

    /// <inheritdoc/>
    public override int MinInputs => 2;

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        DType dtype = context.RequireSameFloat();
        TensorType a = context.Input(0), b = context.Input(1);
        if (a.Rank < 2 || b.Rank < 2) context.Fail($"needs operands of rank 2 or more but got {a.ShapeText} and {b.ShapeText}");
        if (a[-1] != b[-2]) context.Fail($"inner dims {a[-1]} and {b[-2]} differ ({a.ShapeText} times {b.ShapeText})");
        Dim[] batch = a.Rank == 2 && b.Rank == 2 ? [] : context.Broadcast(
            new TensorType(dtype, a.Dims[..^2].ToArray()), new TensorType(dtype, b.Dims[..^2].ToArray()));
        return [new TensorType(dtype, [.. batch, a[-2], b[-1]])];
    }

    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c)
    {
        // Batched: the same products on the last two axes, summed over the batch axes an operand was broadcast along.
        Value a = c.X(0), b = c.X(1), dy = c.Dy()!;
        return [c.SumTo(dy.MatMul(SwapLast(b)), a), c.SumTo(SwapLast(a).MatMul(dy), b)];
    }

    private static Value SwapLast(Value x)
    {
        long[] perm = Enumerable.Range(0, x.Rank).Select(i => (long)i).ToArray();
        (perm[^1], perm[^2]) = (perm[^2], perm[^1]);
        return x.Transpose(perm);
    }

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context) =>
        new GemmLaunch(context.Input(0), false, context.Input(1), false, context.Output(0), 1, 0, null, UnaryOp.Identity);

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 1, 3, 4], [3, 4, 2]]);
}

/// <summary>ONNX Gemm: Y = alpha op(A) op(B) + beta C, C broadcast to MxN.</summary>
public sealed unsafe class GemmOp : OpDef
{
    /// <inheritdoc/>
    public override string Name => "Gemm";

    /// <inheritdoc/>
    public override int MinInputs => 2;

    /// <inheritdoc/>
    public override int MaxInputs => 3;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } =
        [new("alpha", AttrKind.Float, 1.0), new("beta", AttrKind.Float, 1.0), new("transA", AttrKind.Int, 0L), new("transB", AttrKind.Int, 0L)];

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        DType dtype = context.RequireSameFloat();
        TensorType a = context.Input(0), b = context.Input(1);
        if (a.Rank != 2 || b.Rank != 2) context.Fail($"needs rank-2 A and B but got {a.ShapeText} and {b.ShapeText}");
        bool ta = context.Node.GetInt("transA") != 0, tb = context.Node.GetInt("transB") != 0;
        Dim m = ta ? a[1] : a[0], ka = ta ? a[0] : a[1], kb = tb ? b[1] : b[0], n = tb ? b[0] : b[1];
        if (ka != kb) context.Fail($"inner dims {ka} and {kb} differ");
        var y = new TensorType(dtype, m, n);
        if (context.Inputs.Length == 3)
        {
            Dim[] broadcast = context.Broadcast(context.Input(2), y);
            if (!broadcast.AsSpan().SequenceEqual(y.Dims)) context.Fail($"C of shape {context.Input(2).ShapeText} does not broadcast to {y.ShapeText}");
        }

        return [y];
    }

    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c)
    {
        Value dy = c.Dy()!;
        (Value da, Value db) = ProductGradients(c, dy);
        if (c.Node.Inputs.Length < 3) return [da, db];
        return [da, db, c.SumTo(dy * c.Node.GetFloat("beta"), c.X(2))];
    }

    /// <summary>
    /// Gradients of a and b of <c>alpha * op(a) * op(b)</c> given the gradient <paramref name="dz"/> of that product,
    /// from the node's transA, transB and alpha; FusedGemm applies it after its activation's derivative.
    /// </summary>
    internal static (Value A, Value B) ProductGradients(GradientContext c, Value dz)
    {
        Value a = c.X(0), b = c.X(1);
        bool ta = c.Node.GetInt("transA") != 0, tb = c.Node.GetInt("transB") != 0;
        double alpha = c.Node.GetFloat("alpha");
        Value G(Value x, Value y, bool tx, bool ty) => c.Graph.Apply("Gemm", [x, y], new Dictionary<string, object>
        {
            ["alpha"] = alpha, ["beta"] = 0.0, ["transA"] = tx ? 1L : 0L, ["transB"] = ty ? 1L : 0L,
        })[0];
        return (ta ? G(b, dz, tb, true) : G(dz, b, false, !tb), tb ? G(dz, a, true, ta) : G(a, dz, !ta, false));
    }

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context)
    {
        bool ta = context.Node.GetInt("transA") != 0, tb = context.Node.GetInt("transB") != 0;
        double alpha = context.Node.GetFloat("alpha"), beta = context.Node.GetFloat("beta");
        if (context.InputCount < 3 || beta == 0)
        {
            return new GemmLaunch(context.Input(0), ta, context.Input(1), tb, context.Output(0), alpha, 0, null, UnaryOp.Identity);
        }

        long[] c = context.InputShape(2);
        if (beta == 1 && c.Length == 1 && c[0] == context.OutputShape(0)[1])
        {
            return new GemmLaunch(context.Input(0), ta, context.Input(1), tb, context.Output(0), alpha, 0, context.Input(2), UnaryOp.Identity);
        }

        // C broadcast into Y, then Y = alpha AB + beta Y.
        TensorDesc* broadcastC = context.NewDesc(Views.Broadcast(*context.Input(2), context.OutputShape(0)));
        return new SequenceLaunch(
            new CopyLaunch(broadcastC, context.Output(0)),
            new GemmLaunch(context.Input(0), ta, context.Input(1), tb, context.Output(0), alpha, beta, null, UnaryOp.Identity));
    }

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[4, 3], [2, 4], [2]],
        Attributes: new() { ["alpha"] = 0.5, ["beta"] = 2.0, ["transA"] = 1L, ["transB"] = 1L });
}

/// <summary>
/// Myelin's fused GEMM: Y = activation(alpha op(A) op(B) + bias), one <c>mln_gemm</c> call with its epilogue.
/// The fusion pass makes it from MatMul/Gemm + Add + activation.
/// </summary>
public sealed unsafe class FusedGemmOp : OpDef
{
    /// <inheritdoc/>
    public override string Name => "FusedGemm";

    /// <inheritdoc/>
    public override string Domain => "ai.myelin";

    /// <inheritdoc/>
    public override int SinceVersion => 1;

    /// <inheritdoc/>
    public override int MinInputs => 2;

    /// <inheritdoc/>
    public override int MaxInputs => 3;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } =
        [new("alpha", AttrKind.Float, 1.0), new("transA", AttrKind.Int, 0L), new("transB", AttrKind.Int, 0L), new("activation", AttrKind.String, "Identity")];

    /// <summary>Activations the GEMM epilogue applies, by op name.</summary>
    public static IReadOnlyDictionary<string, UnaryOp> Activations { get; } = new Dictionary<string, UnaryOp>
    {
        ["Identity"] = UnaryOp.Identity, ["Relu"] = UnaryOp.Relu, ["Sigmoid"] = UnaryOp.Sigmoid, ["Tanh"] = UnaryOp.Tanh,
    };

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        DType dtype = context.RequireSameFloat();
        TensorType a = context.Input(0), b = context.Input(1);
        if (a.Rank != 2 || b.Rank != 2) context.Fail($"needs rank-2 A and B but got {a.ShapeText} and {b.ShapeText}");
        bool ta = context.Node.GetInt("transA") != 0, tb = context.Node.GetInt("transB") != 0;
        Dim m = ta ? a[1] : a[0], ka = ta ? a[0] : a[1], kb = tb ? b[1] : b[0], n = tb ? b[0] : b[1];
        if (ka != kb) context.Fail($"inner dims {ka} and {kb} differ");
        if (context.Inputs.Length == 3 && (context.Input(2).Rank != 1 || context.Input(2)[0] != n))
        {
            context.Fail($"bias must have shape {n} but has {context.Input(2).ShapeText}");
        }

        if (!Activations.ContainsKey((string)context.Node.Attributes["activation"]))
        {
            context.Fail($"activation '{context.Node.Attributes["activation"]}' is not one the GEMM epilogue applies ({string.Join(", ", Activations.Keys)})");
        }

        return [new TensorType(dtype, m, n)];
    }

    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c)
    {
        // dz = dy act'(z), from y (every epilogue activation's derivative is a function of its output); then Gemm's rule.
        Value dy = c.Dy()!;
        UnaryOp activation = Activations[(string)c.Node.Attributes["activation"]];
        Value dz = activation == UnaryOp.Identity ? dy : c.Graph.Apply("UnaryGrad", [c.Y(), dy], new Dictionary<string, object>
        {
            ["op"] = (long)activation, ["from_y"] = 1L,
        })[0];
        (Value da, Value db) = GemmOp.ProductGradients(c, dz);
        return c.Node.Inputs.Length < 3 ? [da, db] : [da, db, dz.Sum([0])];
    }

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[4, 3], [2, 4], [2]],
        Attributes: new() { ["alpha"] = 0.5, ["transA"] = 1L, ["transB"] = 1L, ["activation"] = "Tanh" });

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context) => new GemmLaunch(
        context.Input(0), context.Node.GetInt("transA") != 0, context.Input(1), context.Node.GetInt("transB") != 0, context.Output(0),
        context.Node.GetFloat("alpha"), 0, context.InputCount == 3 ? context.Input(2) : null, Activations[(string)context.Node.Attributes["activation"]]);
}

/// <summary>Several launches issued in order (a binding that needs more than one native call).</summary>
public sealed class SequenceLaunch(params KernelLaunch[] launches) : KernelLaunch
{
    /// <inheritdoc/>
    public override void Launch(Native.DeviceHandle device)
    {
        foreach (KernelLaunch launch in launches)
        {
            launch.Launch(device);
        }
    }
}

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
        Value da = c.SumTo(dy.MatMul(SwapLast(b)), a);
        if (b.Rank == 2 && a.Rank > 2)
        {
            // A 2-d weight applied to every row of a batch (x W in Linear, RNN and attention projections): its
            // gradient is one GEMM over the flattened rows, A^T dy, instead of a product per batch entry and a sum.
            var lastAxis = new Dictionary<string, object> { ["axis"] = (long)(a.Rank - 1) };
            Value rows = c.Op("Flatten", [a], lastAxis), dyRows = c.Op("Flatten", [dy], lastAxis);
            return [da, c.Op("Gemm", [rows, dyRows], new Dictionary<string, object> { ["transA"] = 1L })];
        }

        return [da, c.SumTo(SwapLast(a).MatMul(dy), b)];
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
    /// <remarks>Two products: batched with broadcasting, and a 2-d weight under a 3-d input (the flattened-rows gradient).</remarks>
    public override GradCheckCase? GradCheckCase => new([[2, 1, 3, 4], [3, 4, 2], [2, 3, 4], [4, 5]], Build: (g, x) =>
        [x[0].MatMul(x[1]), x[2].MatMul(x[3])]);
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
/// The epilogue FusedGemm and FusedConv share: y = activation(product + bias + residual), applied by the kernel
/// (<c>mln_gemm</c>, <c>mln_conv_forward</c>) to each output block while it is in cache. Inputs are the two
/// operands, then an optional bias, then, when the node's <c>with_residual</c> is 1, a residual of y's exact shape.
/// </summary>
internal static class FusedEpilogue
{
    /// <summary>Name of the attribute that holds the activation's <see cref="UnaryOp"/> name.</summary>
    internal const string ActivationAttribute = "activation";

    /// <summary>Name of the attribute that says (1) the last input is a residual.</summary>
    internal const string ResidualAttribute = "with_residual";

    /// <summary>The epilogue's attributes, added to each fused op's own.</summary>
    internal static AttrSpec[] Attributes { get; } = [new(ActivationAttribute, AttrKind.String, "Identity"), new(ResidualAttribute, AttrKind.Int, 0L)];

    /// <summary>
    /// Activations the fused ops apply, by <see cref="UnaryOp"/> name: those without parameters (the native epilogue
    /// uses an op's default parameters, so a LeakyRelu with its own alpha stays a separate node).
    /// </summary>
    internal static IReadOnlyDictionary<string, UnaryOp> Activations { get; } = new[]
    {
        UnaryOp.Identity, UnaryOp.Relu, UnaryOp.Sigmoid, UnaryOp.Tanh, UnaryOp.Gelu, UnaryOp.GeluTanh, UnaryOp.Silu,
        UnaryOp.Mish, UnaryOp.Softplus, UnaryOp.Softsign, UnaryOp.HardSwish, UnaryOp.Selu,
    }.ToDictionary(op => op.ToString());

    /// <summary>The node's activation; the name was checked by <see cref="Check"/>.</summary>
    internal static UnaryOp Activation(Node node) => Activations[(string)node.Attributes[ActivationAttribute]];

    /// <summary>Whether the node's last input is a residual.</summary>
    internal static bool HasResidual(Node node) => node.GetInt(ResidualAttribute) != 0;

    /// <summary>Index of the bias input, or -1 when the node has none.</summary>
    internal static int BiasIndex(Node node) => node.Inputs.Length - (HasResidual(node) ? 1 : 0) == 3 ? 2 : -1;

    /// <summary>Index of the residual input, or -1 when the node has none.</summary>
    internal static int ResidualIndex(Node node) => HasResidual(node) ? node.Inputs.Length - 1 : -1;

    /// <summary>Fails unless the activation is one the epilogue applies, the inputs fit the layout, and the residual has <paramref name="y"/>'s type.</summary>
    internal static void Check(InferContext context, TensorType y)
    {
        string activation = (string)context.Node.Attributes[ActivationAttribute];
        if (!Activations.ContainsKey(activation))
        {
            context.Fail($"activation '{activation}' is not one the fused epilogue applies ({string.Join(", ", Activations.Keys)})");
        }

        long withResidual = context.Node.GetInt(ResidualAttribute);
        if (withResidual is not (0 or 1)) context.Fail($"with_residual must be 0 or 1, not {withResidual}");
        if (withResidual == 1)
        {
            if (context.Inputs.Length < 3) context.Fail("with_residual is 1 but there is no residual input after the two operands");
            TensorType residual = context.Inputs[^1];
            if (!residual.Equals(y)) context.Fail($"the residual is {residual} but must be exactly the output's type {y}");
        }
    }

    /// <summary>
    /// The gradient of the pre-activation sum z (product + bias + residual) from the gradient of y: from y itself when
    /// the activation's derivative is a function of its output, else from z recomputed by the same node without its
    /// activation (a second product: training graphs, where the activation's input would stay live, keep Gelu-like
    /// activations unfused anyway since z then has a second consumer).
    /// </summary>
    internal static Value PreActivationGradient(GradientContext c)
    {
        Value dy = c.Dy()!;
        UnaryOp activation = Activation(c.Node);
        if (activation == UnaryOp.Identity) return dy;
        bool fromY = UnaryKernelOp.DerivativeFromOutput(activation);
        Value input = c.Y();
        if (!fromY)
        {
            var attributes = new Dictionary<string, object>(c.Node.Attributes) { [ActivationAttribute] = nameof(UnaryOp.Identity) };
            input = c.Graph.Apply(c.Node.Op, c.Node.Inputs, attributes)[0];
        }

        return c.Graph.Apply("UnaryGrad", [input, dy], new Dictionary<string, object> { ["op"] = (long)activation, ["from_y"] = fromY ? 1L : 0L })[0];
    }

    /// <summary>Gradients of the bias (<paramref name="reduceBias"/> of dz) and residual (dz) in input order, after the operands'.</summary>
    internal static Value?[] WithEpilogueGradients(GradientContext c, Value dz, Value?[] operandGradients, Func<Value, Value> reduceBias)
    {
        var gradients = new List<Value?>(operandGradients);
        if (BiasIndex(c.Node) >= 0) gradients.Add(reduceBias(dz));
        if (HasResidual(c.Node)) gradients.Add(dz);
        return [.. gradients];
    }
}

/// <summary>
/// Myelin's fused GEMM: Y = activation(alpha op(A) op(B) + bias + residual), one <c>mln_gemm</c> call with its
/// epilogue. Inputs A, B, then an optional bias of length N, then the residual (MxN) when <c>with_residual</c> is 1.
/// The fusion pass (<see cref="Passes.EpilogueFusion"/>) makes it from MatMul/Gemm + Add + Add + activation.
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
    public override int MaxInputs => 4;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } =
        [new("alpha", AttrKind.Float, 1.0), new("transA", AttrKind.Int, 0L), new("transB", AttrKind.Int, 0L), .. FusedEpilogue.Attributes];

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
        FusedEpilogue.Check(context, y);
        if (FusedEpilogue.BiasIndex(context.Node) is >= 0 and int bias && (context.Input(bias).Rank != 1 || context.Input(bias)[0] != n))
        {
            context.Fail($"bias must have shape {n} but has {context.Input(bias).ShapeText}");
        }

        return [y];
    }

    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c)
    {
        Value dz = FusedEpilogue.PreActivationGradient(c);
        (Value da, Value db) = GemmOp.ProductGradients(c, dz);
        return FusedEpilogue.WithEpilogueGradients(c, dz, [da, db], g => g.Sum([0]));
    }

    /// <inheritdoc/>
    /// <remarks>Tanh: the activation's derivative comes from y (FusedConv's case checks the recomputing path).</remarks>
    public override GradCheckCase? GradCheckCase => new([[4, 3], [2, 4], [2], [3, 2]],
        Attributes: new() { ["alpha"] = 0.5, ["transA"] = 1L, ["transB"] = 1L, ["activation"] = "Tanh", ["with_residual"] = 1L });

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context)
    {
        int bias = FusedEpilogue.BiasIndex(context.Node), residual = FusedEpilogue.ResidualIndex(context.Node);
        return new GemmLaunch(
            context.Input(0), context.Node.GetInt("transA") != 0, context.Input(1), context.Node.GetInt("transB") != 0, context.Output(0),
            context.Node.GetFloat("alpha"), 0, bias >= 0 ? context.Input(bias) : null, FusedEpilogue.Activation(context.Node),
            residual >= 0 ? context.Input(residual) : null);
    }
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

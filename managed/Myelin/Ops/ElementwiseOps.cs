using Myelin.Graphs;

namespace Myelin.Ops;

/// <summary>
/// An elementwise op bound to <c>mln_unary</c>; its gradient is one <c>UnaryGrad</c> node (<c>mln_unary_backward</c>).
/// Subclasses map attributes to the kernel's alpha and beta.
/// </summary>
public abstract unsafe class UnaryKernelOp(string name, UnaryOp kernel, string domain = "", int since = 13) : OpDef
{
    /// <inheritdoc/>
    public override string Name => name;

    /// <inheritdoc/>
    public override string Domain => domain;

    /// <inheritdoc/>
    public override int SinceVersion => since;

    /// <inheritdoc/>
    public override int MinInputs => 1;

    /// <inheritdoc/>
    public override bool IsElementwise => true;

    /// <summary>The native op of a node (Gelu picks by its attribute).</summary>
    public virtual UnaryOp KernelFor(Node node) => kernel;

    /// <summary>The kernel's alpha and beta for a node.</summary>
    public virtual (double Alpha, double Beta) Parameters(Node node) => (0, 0);

    /// <summary>Whether the node computes what the kernel does with its default parameters (so a fused epilogue, which uses those, may take it).</summary>
    public virtual bool UsesKernelDefaults(Node node) => Parameters(node) == (0, 0);

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        context.RequireSameFloat();
        return [context.Input(0)];
    }

    /// <summary>Ops whose derivative the backward kernel computes from the output y alone (so x need not be kept).</summary>
    internal static bool DerivativeFromOutput(UnaryOp op) => op is UnaryOp.Identity or UnaryOp.Neg or UnaryOp.Sqrt or UnaryOp.Exp
        or UnaryOp.Relu or UnaryOp.Sigmoid or UnaryOp.Tanh or UnaryOp.Reciprocal;

    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c)
    {
        (double alpha, double beta) = Parameters(c.Node);
        UnaryOp op = KernelFor(c.Node);
        bool fromY = DerivativeFromOutput(op);
        return [c.Graph.Apply("UnaryGrad", [fromY ? c.Y() : c.X(0), c.Dy()!], new Dictionary<string, object>
        {
            ["op"] = (long)op, ["alpha"] = alpha, ["beta"] = beta, ["from_y"] = fromY ? 1L : 0L,
        })[0]];
    }

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context)
    {
        (double alpha, double beta) = Parameters(context.Node);
        return new UnaryLaunch(KernelFor(context.Node), alpha, beta, context.Input(0), context.Output(0));
    }

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 3]], -2, 2, AwayFromZero: 0.05);
}

/// <summary>A unary op on floating-point and signed integer inputs (Neg, Abs); integer results carry no gradient.</summary>
public abstract class SignedUnaryOp(string name, UnaryOp kernel) : SimpleUnaryOp(name, kernel)
{
    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        DType dtype = context.Input(0).DType;
        if (dtype is not (DType.I8 or DType.I32 or DType.I64)) context.RequireSameFloat();
        return [context.Input(0)];
    }

    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c) => c.Y().DType.IsFloatingPoint() ? base.Gradient(c) : [null];
}

/// <summary>Defines a unary op whose only difference from the base is its name and kernel.</summary>
public abstract class SimpleUnaryOp(string name, UnaryOp kernel, string domain = "", int since = 13, double low = -2, double high = 2) : UnaryKernelOp(name, kernel, domain, since)
{
    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 3]], low, high, AwayFromZero: 0.05);
}

#pragma warning disable CS1591 // One line per op: the name says what it is; the ONNX spec documents it.
public sealed class IdentityKernelOp() : SimpleUnaryOp("Copy", UnaryOp.Identity, "ai.myelin", 1)
{
    /// <inheritdoc/>
    public override void ExportOnnx(OnnxExportContext context) => context.Final("Identity", [context.Input(0)]);
}

public sealed class NegOp() : SignedUnaryOp("Neg", UnaryOp.Neg);
public sealed class AbsOp() : SignedUnaryOp("Abs", UnaryOp.Abs);
public sealed class SqrtOp() : SimpleUnaryOp("Sqrt", UnaryOp.Sqrt, low: 0.5, high: 2);
public sealed class ExpOp() : SimpleUnaryOp("Exp", UnaryOp.Exp);
public sealed class LogOp() : SimpleUnaryOp("Log", UnaryOp.Log, low: 0.5, high: 2);
public sealed class ReluOp() : SimpleUnaryOp("Relu", UnaryOp.Relu, since: 14);
public sealed class SigmoidOp() : SimpleUnaryOp("Sigmoid", UnaryOp.Sigmoid);
public sealed class TanhOp() : SimpleUnaryOp("Tanh", UnaryOp.Tanh);
public sealed class SiluOp() : SimpleUnaryOp("Silu", UnaryOp.Silu, "ai.myelin", 1)
{
    /// <inheritdoc/>
    /// <remarks>ONNX has no Silu: x * Sigmoid(x).</remarks>
    public override void ExportOnnx(OnnxExportContext context) =>
        context.Final("Mul", [context.Input(0), context.Step("Sigmoid", context.Input(0))]);
}

public sealed class MishOp() : SimpleUnaryOp("Mish", UnaryOp.Mish, since: 18)
{
    /// <inheritdoc/>
    /// <remarks>Before opset 18: x * Tanh(Softplus(x)), the definition of Mish.</remarks>
    public override void ExportOnnx(OnnxExportContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.SameSince(SinceVersion)) return;

        string x = context.Input(0);
        context.Final("Mul", [x, context.Step("Tanh", context.Step("Softplus", x))]);
    }
}

public sealed class SoftplusOp() : SimpleUnaryOp("Softplus", UnaryOp.Softplus, since: 1);
public sealed class SoftsignOp() : SimpleUnaryOp("Softsign", UnaryOp.Softsign, since: 1);
public sealed class HardSwishOp() : SimpleUnaryOp("HardSwish", UnaryOp.HardSwish, since: 14);
public sealed class ReciprocalOp() : SimpleUnaryOp("Reciprocal", UnaryOp.Reciprocal, low: 0.5, high: 2);
public sealed class SquareOp() : SimpleUnaryOp("Square", UnaryOp.Square, "ai.myelin", 1)
{
    /// <inheritdoc/>
    public override void ExportOnnx(OnnxExportContext context) => context.Final("Mul", [context.Input(0), context.Input(0)]);
}

public sealed class SinOp() : SimpleUnaryOp("Sin", UnaryOp.Sin, since: 7);
public sealed class CosOp() : SimpleUnaryOp("Cos", UnaryOp.Cos, since: 7);
public sealed class ErfOp() : SimpleUnaryOp("Erf", UnaryOp.Erf);
public sealed class Log1pOp() : SimpleUnaryOp("Log1p", UnaryOp.Log1P, "ai.myelin", 1, low: -0.5, high: 2)
{
    /// <inheritdoc/>
    /// <remarks>Log(1 + x): ONNX has no log1p, so the result loses the precision log1p keeps for tiny x.</remarks>
    public override void ExportOnnx(OnnxExportContext context) =>
        context.Final("Log", [context.Step("Add", context.Input(0), context.Scalar(1, context.Node.Inputs[0].DType, "one"))]);
}

public sealed class Expm1Op() : SimpleUnaryOp("Expm1", UnaryOp.Expm1, "ai.myelin", 1)
{
    /// <inheritdoc/>
    /// <remarks>Exp(x) - 1: ONNX has no expm1, so the result loses the precision expm1 keeps for tiny x.</remarks>
    public override void ExportOnnx(OnnxExportContext context) =>
        context.Final("Sub", [context.Step("Exp", context.Input(0)), context.Scalar(1, context.Node.Inputs[0].DType, "one")]);
}

public sealed class TanOp() : SimpleUnaryOp("Tan", UnaryOp.Tan, since: 7, low: -1.2, high: 1.2);
public sealed class AsinOp() : SimpleUnaryOp("Asin", UnaryOp.Asin, since: 7, low: -0.8, high: 0.8);
public sealed class AcosOp() : SimpleUnaryOp("Acos", UnaryOp.Acos, since: 7, low: -0.8, high: 0.8);
public sealed class AtanOp() : SimpleUnaryOp("Atan", UnaryOp.Atan, since: 7);
public sealed class SinhOp() : SimpleUnaryOp("Sinh", UnaryOp.Sinh, since: 9);
public sealed class CoshOp() : SimpleUnaryOp("Cosh", UnaryOp.Cosh, since: 9);
public sealed class AsinhOp() : SimpleUnaryOp("Asinh", UnaryOp.Asinh, since: 9);
public sealed class AcoshOp() : SimpleUnaryOp("Acosh", UnaryOp.Acosh, since: 9, low: 1.2, high: 3);
public sealed class AtanhOp() : SimpleUnaryOp("Atanh", UnaryOp.Atanh, since: 9, low: -0.8, high: 0.8);
#pragma warning restore CS1591

/// <summary>ONNX Selu: gamma (x &lt; 0 ? alpha (e^x - 1) : x); the kernel takes alpha and gamma as alpha and beta.</summary>
public sealed class SeluOp() : UnaryKernelOp("Selu", UnaryOp.Selu, since: 6)
{
    // The ONNX defaults, float32 roundings of the constants of the SELU paper.
    private const double DefaultAlpha = 1.67326319217681884765625, DefaultGamma = 1.05070102214813232421875;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("alpha", AttrKind.Float, DefaultAlpha), new("gamma", AttrKind.Float, DefaultGamma)];

    /// <inheritdoc/>
    public override (double Alpha, double Beta) Parameters(Node node) => (node.GetFloat("alpha"), node.GetFloat("gamma"));

    /// <inheritdoc/>
    public override bool UsesKernelDefaults(Node node) => Parameters(node) == (DefaultAlpha, DefaultGamma);

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 3]], -2, 2, AwayFromZero: 0.05, Attributes: new() { ["alpha"] = 2.0, ["gamma"] = 3.0 });
}

/// <summary>ONNX Shrink: x + bias below -lambd, x - bias above lambd, 0 between.</summary>
public sealed class ShrinkOp() : UnaryKernelOp("Shrink", UnaryOp.Shrink, since: 9)
{
    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("lambd", AttrKind.Float, 0.5), new("bias", AttrKind.Float, 0.0)];

    /// <inheritdoc/>
    public override (double Alpha, double Beta) Parameters(Node node) => (node.GetFloat("lambd"), node.GetFloat("bias"));

    /// <inheritdoc/>
    /// <remarks>|x| at least 0.15 keeps the samples away from the kinks at +-lambd = 0.1.</remarks>
    public override GradCheckCase? GradCheckCase => new([[2, 3]], -2, 2, AwayFromZero: 0.15, Attributes: new() { ["lambd"] = 0.1, ["bias"] = 0.3 });
}

/// <summary>ONNX ThresholdedRelu: x where x &gt; alpha, else 0.</summary>
public sealed class ThresholdedReluOp() : AlphaUnaryOp("ThresholdedRelu", UnaryOp.ThresholdedRelu, 1.0, 10)
{
    /// <inheritdoc/>
    /// <remarks>alpha 0 puts the kink at 0, which the samples avoid.</remarks>
    public override GradCheckCase? GradCheckCase => new([[2, 3]], -2, 2, AwayFromZero: 0.05, Attributes: new() { ["alpha"] = 0.0 });
}

/// <summary>A unary op whose derivative is 0 wherever it exists (Floor, Ceil, Round, Sign): differentiable, with no gradient flowing.</summary>
public abstract class PiecewiseConstantOp(string name, UnaryOp kernel) : UnaryKernelOp(name, kernel)
{
    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c) => [null];

    /// <inheritdoc/>
    /// <remarks>Samples in (0.1, 0.4): one integer interval, away from 0 (Sign) and 0.5 (Round), so the numeric derivative is 0.</remarks>
    public override GradCheckCase? GradCheckCase => new([[2, 3]], 0.1, 0.4);
}

#pragma warning disable CS1591
public sealed class FloorOp() : PiecewiseConstantOp("Floor", UnaryOp.Floor);
public sealed class CeilOp() : PiecewiseConstantOp("Ceil", UnaryOp.Ceil);
public sealed class RoundOp() : PiecewiseConstantOp("Round", UnaryOp.Round);
public sealed class SignOp() : PiecewiseConstantOp("Sign", UnaryOp.Sign);
#pragma warning restore CS1591

/// <summary>A unary op with an <c>alpha</c> attribute passed to the kernel.</summary>
public abstract class AlphaUnaryOp(string name, UnaryOp kernel, double alpha, int since) : UnaryKernelOp(name, kernel, since: since)
{
    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("alpha", AttrKind.Float, alpha)];

    /// <inheritdoc/>
    public override (double Alpha, double Beta) Parameters(Node node) => (node.GetFloat("alpha"), 0);
}

#pragma warning disable CS1591
public sealed class LeakyReluOp() : AlphaUnaryOp("LeakyRelu", UnaryOp.LeakyRelu, 0.01, 16);
public sealed class EluOp() : AlphaUnaryOp("Elu", UnaryOp.Elu, 1.0, 6);
public sealed class CeluOp() : AlphaUnaryOp("Celu", UnaryOp.Celu, 1.0, 12);
#pragma warning restore CS1591

/// <summary>ONNX HardSigmoid: clamp(alpha x + beta, 0, 1).</summary>
public sealed class HardSigmoidOp() : UnaryKernelOp("HardSigmoid", UnaryOp.HardSigmoid, since: 6)
{
    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("alpha", AttrKind.Float, 0.2), new("beta", AttrKind.Float, 0.5)];

    /// <inheritdoc/>
    public override (double Alpha, double Beta) Parameters(Node node) => (node.GetFloat("alpha"), node.GetFloat("beta"));

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 3]], -2, 2, Attributes: new() { ["alpha"] = 0.3 });
}

/// <summary>ONNX Gelu (opset 20): exact, or the tanh approximation with approximate = "tanh".</summary>
public sealed class GeluOp() : UnaryKernelOp("Gelu", UnaryOp.Gelu, since: 20)
{
    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("approximate", AttrKind.String, "none")];

    /// <inheritdoc/>
    public override UnaryOp KernelFor(Node node) => (string)node.Attributes["approximate"] switch
    {
        "none" => UnaryOp.Gelu,
        "tanh" => UnaryOp.GeluTanh,
        string other => throw new GraphValidationException($"{node}: approximate must be \"none\" or \"tanh\", not \"{other}\".", node.Name),
    };

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        KernelFor(context.Node);
        return base.Infer(context);
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Before opset 20, the definitions: 0.5 x (1 + Erf(x / sqrt 2)), or with approximate = "tanh"
    /// 0.5 x (1 + Tanh(sqrt(2 / pi) (x + 0.044715 x^3))).
    /// </remarks>
    public override void ExportOnnx(OnnxExportContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.SameSince(SinceVersion)) return;

        string x = context.Input(0);
        DType dtype = context.Node.Inputs[0].DType;
        string inner = KernelFor(context.Node) == UnaryOp.Gelu
            ? context.Step("Erf", context.Step("Mul", x, context.Scalar(1 / Math.Sqrt(2), dtype, "inv_sqrt2")))
            : context.Step("Tanh", context.Step("Mul", context.Scalar(Math.Sqrt(2 / Math.PI), dtype, "sqrt_2_over_pi"),
                context.Step("Add", x, context.Step("Mul", context.Scalar(0.044715, dtype, "cubic"), context.Step("Mul", x, context.Step("Mul", x, x))))));
        string halfX = context.Step("Mul", x, context.Scalar(0.5, dtype, "half"));
        context.Final("Mul", [halfX, context.Step("Add", inner, context.Scalar(1, dtype, "one"))]);
    }
}

/// <summary>
/// Myelin's UnaryGrad(x or y, dy) = dy * op'(x), one <c>mln_unary_backward</c> call. With from_y = 1 the first input is
/// the forward output y (ops whose derivative y gives), else the forward input x. Differentiable again for the ops
/// whose second derivative is listed here, so Hessian-vector products work through them.
/// </summary>
public sealed unsafe class UnaryGradOp : OpDef
{
    /// <inheritdoc/>
    public override string Name => "UnaryGrad";

    /// <inheritdoc/>
    public override string Domain => "ai.myelin";

    /// <inheritdoc/>
    public override int SinceVersion => 1;

    /// <inheritdoc/>
    public override int MinInputs => 2;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } =
        [new("op", AttrKind.Int), new("alpha", AttrKind.Float, 0.0), new("beta", AttrKind.Float, 0.0), new("from_y", AttrKind.Int, 0L)];

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        context.RequireSameFloat();
        if (!context.Input(0).Equals(context.Input(1)))
        {
            context.Fail($"the forward value and dy must share a type but are {context.Input(0)} and {context.Input(1)}");
        }

        var op = (UnaryOp)context.Node.GetInt("op");
        if (context.Node.GetInt("from_y") != 0 && !UnaryKernelOp.DerivativeFromOutput(op)) context.Fail($"the derivative of {op} needs x, not y");
        return [context.Input(0)];
    }

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context)
    {
        bool fromY = context.Node.GetInt("from_y") != 0;
        return new UnaryBackwardLaunch((UnaryOp)context.Node.GetInt("op"), context.Node.GetFloat("alpha"), context.Node.GetFloat("beta"),
            fromY ? null : context.Input(0), fromY ? context.Input(0) : null, context.Input(1), context.Output(0));
    }

    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c)
    {
        // dx = dy f'(x). d/d(dy) = ddx f'(x). With x as input, d/dx = ddx dy f''(x). With y = f(x) as input, the
        // gradient flowing to y is multiplied by f'(x) on its way to x, so y gets ddx dy f''(x) / f'(x).
        Value first = c.X(0), dy = c.X(1), ddx = c.Dy()!;
        Value dDy = c.Graph.Apply("UnaryGrad", [first, ddx], new Dictionary<string, object>(c.Node.Attributes))[0];
        var op = (UnaryOp)c.Node.GetInt("op");
        Value y = first, x = first;
        Value? factor = (c.Node.GetInt("from_y") != 0) switch
        {
            true => op switch
            {
                UnaryOp.Tanh => -2.0 * y,
                UnaryOp.Sigmoid => 1.0 - 2.0 * y,
                UnaryOp.Exp => c.Graph.Scalar(1, dy.DType),
                UnaryOp.Sqrt => -0.5 / (y * y),
                UnaryOp.Reciprocal => -2.0 * y,
                UnaryOp.Identity or UnaryOp.Neg or UnaryOp.Relu => null,
                _ => throw new GraphValidationException($"{c.Node}: the second derivative of {op} is not defined yet.", c.Node.Name),
            },
            false => op switch
            {
                UnaryOp.Log => -1.0 / (x * x),
                UnaryOp.Square => x * 0.0 + 2.0,
                UnaryOp.Sin => -c.Op("Sin", x),
                UnaryOp.Cos => -c.Op("Cos", x),
                UnaryOp.Softplus => c.Op("Sigmoid", x) * (1.0 - c.Op("Sigmoid", x)),
                UnaryOp.Abs or UnaryOp.LeakyRelu or UnaryOp.Floor or UnaryOp.Ceil or UnaryOp.Round or UnaryOp.Sign => null,
                _ => throw new GraphValidationException($"{c.Node}: the second derivative of {op} is not defined yet.", c.Node.Name),
            },
        };
        return [factor is null ? null : ddx * dy * factor, dDy];
    }

    /// <inheritdoc/>
    /// <remarks>
    /// One check over several kernels, both forms (from y and from x): the first input is treated as free, which is what
    /// the builder's factors give (for y = f(x) they equal the partial derivative of dy f'(x(y)) in y). Inputs in
    /// (0.5, 2) keep Log/Sqrt/Reciprocal defined and Relu/Abs away from their kinks.
    /// </remarks>
    public override GradCheckCase? GradCheckCase => new([[2, 3], [2, 3]], 0.5, 2, Build: (g, x) =>
    [
        .. new[] { UnaryOp.Tanh, UnaryOp.Sigmoid, UnaryOp.Exp, UnaryOp.Sqrt, UnaryOp.Reciprocal, UnaryOp.Relu }.Select(op => Apply(g, op, true, x)),
        .. new[] { UnaryOp.Log, UnaryOp.Square, UnaryOp.Sin, UnaryOp.Cos, UnaryOp.Softplus, UnaryOp.Abs }.Select(op => Apply(g, op, false, x)),
    ]);

    private static Value Apply(Graph g, UnaryOp op, bool fromY, Value[] x) =>
        g.Apply("UnaryGrad", [x[0], x[1]], new Dictionary<string, object> { ["op"] = (long)op, ["from_y"] = fromY ? 1L : 0L })[0];
}

/// <summary>
/// An elementwise op of two broadcast inputs of one dtype bound to <c>mln_binary</c>. Integer results carry no gradient.
/// </summary>
public abstract class BinaryKernelOp(string name, BinaryOp kernel, int since = 13, string domain = "") : OpDef
{
    /// <inheritdoc/>
    public override string Name => name;

    /// <inheritdoc/>
    public override string Domain => domain;

    /// <inheritdoc/>
    public override int SinceVersion => since;

    /// <summary>The native op of a node (Mod and BitShift pick by attribute).</summary>
    public virtual BinaryOp KernelFor(Node node) => kernel;

    /// <inheritdoc/>
    public override int MinInputs => 2;

    /// <inheritdoc/>
    public override bool IsElementwise => true;

    /// <summary>Whether the op takes inputs of <paramref name="dtype"/>: floating point and integers unless overridden.</summary>
    protected virtual bool Accepts(DType dtype) => dtype.IsFloatingPoint() || dtype.IsInteger();

    /// <summary>The dtypes <see cref="Accepts"/> admits, for messages.</summary>
    protected virtual string AcceptedText => "floating point or integers";

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        TensorType a = context.Input(0), b = context.Input(1);
        if (a.DType != b.DType) context.Fail($"inputs are {a.DType.ShortName()} and {b.DType.ShortName()}; they must match");
        if (!Accepts(a.DType)) context.Fail($"inputs are {a.DType.ShortName()}; the op needs {AcceptedText}");
        KernelFor(context.Node);
        return [new TensorType(a.DType, context.Broadcast(a, b))];
    }

    /// <inheritdoc/>
    public sealed override Value?[] Gradient(GradientContext c) =>
        c.Y().DType.IsFloatingPoint() ? FloatGradient(c) : new Value?[c.Node.Inputs.Length];

    /// <summary>The input gradients of a floating-point node.</summary>
    protected abstract Value?[] FloatGradient(GradientContext c);

    /// <inheritdoc/>
    public override unsafe KernelLaunch Bind(BindContext context) =>
        new BinaryLaunch(KernelFor(context.Node), context.Input(0), context.Input(1), context.Output(0));

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 3], [3]]);

    /// <summary>1 where a &gt; b, else 0, in a's dtype (no gradient flows through the comparison).</summary>
    internal static Value Greater(Value a, Value b) => a.Apply("Greater", b).Cast(a.DType);
}

/// <summary>ONNX Add.</summary>
public sealed class AddOp() : BinaryKernelOp("Add", BinaryOp.Add, 14)
{
    /// <inheritdoc/>
    protected override Value?[] FloatGradient(GradientContext c) => [c.SumTo(c.Dy()!, c.X(0)), c.SumTo(c.Dy()!, c.X(1))];
}

/// <summary>ONNX Sub.</summary>
public sealed class SubOp() : BinaryKernelOp("Sub", BinaryOp.Sub, 14)
{
    /// <inheritdoc/>
    protected override Value?[] FloatGradient(GradientContext c) => [c.SumTo(c.Dy()!, c.X(0)), c.SumTo(-c.Dy()!, c.X(1))];
}

/// <summary>ONNX Mul.</summary>
public sealed class MulOp() : BinaryKernelOp("Mul", BinaryOp.Mul, 14)
{
    /// <inheritdoc/>
    protected override Value?[] FloatGradient(GradientContext c) => [c.SumTo(c.Dy()! * c.X(1), c.X(0)), c.SumTo(c.Dy()! * c.X(0), c.X(1))];
}

/// <summary>ONNX Div; integer division truncates toward zero (and x / 0 is 0).</summary>
public sealed class DivOp() : BinaryKernelOp("Div", BinaryOp.Div, 14)
{
    /// <inheritdoc/>
    protected override Value?[] FloatGradient(GradientContext c)
    {
        Value da = c.Dy()! / c.X(1);
        return [c.SumTo(da, c.X(0)), c.SumTo(-(da * c.Y()), c.X(1))];
    }

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 3], [3]], 0.5, 2);
}

/// <summary>The elementwise maximum of two inputs (NumPy's maximum); ONNX Max, of any number of inputs, chains it.</summary>
public sealed class MaximumOp() : BinaryKernelOp("Maximum", BinaryOp.Max, 1, "ai.myelin")
{
    /// <inheritdoc/>
    protected override Value?[] FloatGradient(GradientContext c)
    {
        Value first = Greater(c.X(0), c.X(1));
        return [c.SumTo(c.Dy()! * first, c.X(0)), c.SumTo(c.Dy()! * (1.0 - first), c.X(1))];
    }

    /// <inheritdoc/>
    /// <inheritdoc/>
    public override void ExportOnnx(OnnxExportContext context) => context.Final("Max", context.Inputs());

    public override GradCheckCase? GradCheckCase => new([[2, 3], [3]], DistinctInputs: true);
}

/// <summary>The elementwise minimum of two inputs (NumPy's minimum); ONNX Min, of any number of inputs, chains it.</summary>
public sealed class MinimumOp() : BinaryKernelOp("Minimum", BinaryOp.Min, 1, "ai.myelin")
{
    /// <inheritdoc/>
    protected override Value?[] FloatGradient(GradientContext c)
    {
        Value first = Greater(c.X(1), c.X(0));
        return [c.SumTo(c.Dy()! * first, c.X(0)), c.SumTo(c.Dy()! * (1.0 - first), c.X(1))];
    }

    /// <inheritdoc/>
    /// <inheritdoc/>
    public override void ExportOnnx(OnnxExportContext context) => context.Final("Min", context.Inputs());

    public override GradCheckCase? GradCheckCase => new([[2, 3], [3]], DistinctInputs: true);
}

/// <summary>a to the power b, both of one dtype (NumPy's power); ONNX Pow, whose exponent may have another dtype, casts to it.</summary>
public sealed class PowerOp() : BinaryKernelOp("Power", BinaryOp.Pow, 1, "ai.myelin")
{
    /// <inheritdoc/>
    protected override Value?[] FloatGradient(GradientContext c)
    {
        Value a = c.X(0), b = c.X(1);
        Value da = c.Dy()! * b * c.Op("Power", a, b - 1.0);
        Value db = c.Dy()! * c.Y() * a.Log();
        return [c.SumTo(da, a), c.SumTo(db, b)];
    }

    /// <inheritdoc/>
    /// <inheritdoc/>
    public override void ExportOnnx(OnnxExportContext context) => context.Final("Pow", context.Inputs());

    public override GradCheckCase? GradCheckCase => new([[2, 3], [3]], 0.5, 2);
}

/// <summary>
/// ONNX Mod: with fmod = 0 (integers only) the remainder takes the divisor's sign, as Python's %; with fmod = 1 the
/// dividend's, as C's fmod (required for floating point). An integer x mod 0 is 0.
/// </summary>
public sealed class ModOp() : BinaryKernelOp("Mod", BinaryOp.Mod, 10)
{
    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("fmod", AttrKind.Int, 0L)];

    /// <inheritdoc/>
    public override BinaryOp KernelFor(Node node) => node.GetInt("fmod") switch
    {
        1 => BinaryOp.Fmod,
        0 when node.Inputs.Length > 0 && node.Inputs[0].DType.IsFloatingPoint() =>
            throw new GraphValidationException($"{node}: fmod = 0 (the divisor's sign) is integer-only; floating-point inputs need fmod = 1.", node.Name),
        0 => BinaryOp.Mod,
        long other => throw new GraphValidationException($"{node}: fmod must be 0 or 1, not {other}.", node.Name),
    };

    /// <inheritdoc/>
    /// <remarks>fmod(a, b) = a - trunc(a / b) b, so d/da = 1 and d/db = -trunc(a / b) = (y - a) / b.</remarks>
    protected override Value?[] FloatGradient(GradientContext c) =>
        [c.SumTo(c.Dy()!, c.X(0)), c.SumTo(c.Dy()! * (c.Y() - c.X(0)) / c.X(1), c.X(1))];

    /// <inheritdoc/>
    /// <remarks>a in (4.5, 5.5) and b in (3.2, 4.2) keep a / b inside (1, 2), away from the jumps at integers.</remarks>
    public override GradCheckCase? GradCheckCase => new([[2, 3], [3]], Build: (g, x) =>
        g.Apply("Mod", [x[0] * 0.5 + 5.0, x[1] * 0.5 + 3.7], new Dictionary<string, object> { ["fmod"] = 1L }));
}

/// <summary>ONNX BitShift of unsigned integers (Myelin has u8): direction LEFT or RIGHT; shifting by the bit width or more gives 0.</summary>
public sealed class BitShiftOp() : BinaryKernelOp("BitShift", BinaryOp.ShiftLeft, 11)
{
    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("direction", AttrKind.String)];

    /// <inheritdoc/>
    public override bool IsDifferentiable => false;

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => null;

    /// <inheritdoc/>
    protected override bool Accepts(DType dtype) => dtype == DType.U8;

    /// <inheritdoc/>
    protected override string AcceptedText => "unsigned integers (u8)";

    /// <inheritdoc/>
    public override BinaryOp KernelFor(Node node) => (string)node.Attributes["direction"] switch
    {
        "LEFT" => BinaryOp.ShiftLeft,
        "RIGHT" => BinaryOp.ShiftRight,
        string other => throw new GraphValidationException($"{node}: direction must be \"LEFT\" or \"RIGHT\", not \"{other}\".", node.Name),
    };

    /// <inheritdoc/>
    protected override Value?[] FloatGradient(GradientContext c) => new Value?[2];
}

/// <summary>A comparison or logical op: bool output, no gradient.</summary>
public abstract class PredicateOp(string name, BinaryOp kernel, bool logical) : OpDef
{
    /// <inheritdoc/>
    public override string Name => name;

    /// <inheritdoc/>
    public override int MinInputs => 2;

    /// <inheritdoc/>
    public override bool IsDifferentiable => false;

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        TensorType a = context.Input(0), b = context.Input(1);
        if (a.DType != b.DType) context.Fail($"inputs are {a.DType.ShortName()} and {b.DType.ShortName()}; they must match");
        if (logical && a.DType != DType.Bool) context.Fail($"inputs must be bool, not {a.DType.ShortName()}");
        return [new TensorType(DType.Bool, context.Broadcast(a, b))];
    }

    /// <inheritdoc/>
    public override unsafe KernelLaunch Bind(BindContext context) => new BinaryLaunch(kernel, context.Input(0), context.Input(1), context.Output(0));
}

#pragma warning disable CS1591
public sealed class EqualOp() : PredicateOp("Equal", BinaryOp.Eq, false);
public sealed class LessOp() : PredicateOp("Less", BinaryOp.Lt, false);
public sealed class LessOrEqualOp() : PredicateOp("LessOrEqual", BinaryOp.Le, false);
public sealed class GreaterOp() : PredicateOp("Greater", BinaryOp.Gt, false);
public sealed class GreaterOrEqualOp() : PredicateOp("GreaterOrEqual", BinaryOp.Ge, false);
public sealed class AndOp() : PredicateOp("And", BinaryOp.LogicalAnd, true);
public sealed class OrOp() : PredicateOp("Or", BinaryOp.LogicalOr, true);
public sealed class XorOp() : PredicateOp("Xor", BinaryOp.LogicalXor, true);
#pragma warning restore CS1591

/// <summary>ONNX Where(cond, a, b), broadcasting over all three.</summary>
public sealed unsafe class WhereOp : OpDef
{
    /// <inheritdoc/>
    public override string Name => "Where";

    /// <inheritdoc/>
    public override int SinceVersion => 16;

    /// <inheritdoc/>
    public override int MinInputs => 3;

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        if (context.Input(0).DType != DType.Bool) context.Fail($"the condition must be bool, not {context.Input(0).DType.ShortName()}");
        if (context.Input(1).DType != context.Input(2).DType) context.Fail($"branches are {context.Input(1).DType.ShortName()} and {context.Input(2).DType.ShortName()}");
        Dim[] ab = context.Broadcast(context.Input(1), context.Input(2));
        return [new TensorType(context.Input(1).DType, context.Broadcast(context.Input(0), new TensorType(context.Input(1).DType, ab)))];
    }

    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c)
    {
        Value zero = c.Graph.Scalar(0, c.Y().DType);
        return [null, c.SumTo(c.Op("Where", c.X(0), c.Dy()!, zero), c.X(1)), c.SumTo(c.Op("Where", c.X(0), zero, c.Dy()!), c.X(2))];
    }

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context) => new WhereLaunch(context.Input(0), context.Input(1), context.Input(2), context.Output(0));

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 3], [2, 3], [3]], AwayFromZero: 0.1,
        Build: (g, x) => g.Apply("Where", [x[0].Apply("Greater", g.Scalar(0, x[0].DType)), x[1], x[2]]));
}

/// <summary>ONNX Cast: converts elements to the dtype of attribute <c>to</c> (an ONNX TensorProto type number).</summary>
public sealed unsafe class CastOp : OpDef
{
    /// <inheritdoc/>
    public override string Name => "Cast";

    /// <inheritdoc/>
    public override int MinInputs => 1;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("to", AttrKind.Int)];

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        var to = (DType)context.Node.GetInt("to");
        if (!Enum.IsDefined(to)) context.Fail($"'to' = {(long)to} is not a dtype Myelin knows");
        return [context.Input(0).WithDType(to)];
    }

    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c) =>
        c.X(0).DType.IsFloatingPoint() && c.Y().DType.IsFloatingPoint() ? [c.Dy()!.Cast(c.X(0).DType)] : [null];

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context) => new CastLaunch(context.Input(0), context.Output(0));

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 3]], Attributes: new() { ["to"] = (long)DType.F64 });
}

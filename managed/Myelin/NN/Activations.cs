using Myelin.Graphs;

namespace Myelin.NN;

/// <summary>
/// A layer applying one elementwise op (with attributes) to its input. Subclasses are PyTorch's activation modules;
/// each maps its arguments to the ONNX op's attributes.
/// </summary>
public abstract class ElementwiseActivation : Layer
{
    private readonly string _op;
    private readonly Dictionary<string, object>? _attributes;

    /// <summary>A layer applying <paramref name="op"/> with <paramref name="attributes"/>.</summary>
    protected ElementwiseActivation(string op, Dictionary<string, object>? attributes = null)
    {
        _op = op;
        _attributes = attributes;
    }

    /// <inheritdoc/>
    protected override Value Build(Value input)
    {
        RequireFloat(this, input);
        return input.Graph.Apply(_op, [input], _attributes, NodeName(input.Graph, _op.ToLowerInvariant()))[0];
    }

    /// <summary>Throws naming <paramref name="layer"/> unless <paramref name="input"/> is floating point.</summary>
    internal static void RequireFloat(Layer layer, Value input)
    {
        if (!input.DType.IsFloatingPoint()) throw new GraphValidationException($"{layer.DisplayName}: expects a floating-point input but got {input.Type}.");
    }
}

/// <summary>The identity: returns its input (no node), as torch.nn.Identity.</summary>
public sealed class Identity : Layer
{
    /// <inheritdoc/>
    protected override Value Build(Value input) => input;
}

/// <summary>max(x, 0).</summary>
public sealed class ReLU() : ElementwiseActivation("Relu");

/// <summary>x for x &gt;= 0, else NegativeSlope * x (PyTorch default 0.01).</summary>
public sealed class LeakyReLU : ElementwiseActivation
{
    /// <summary>Creates the layer.</summary>
    public LeakyReLU(double negativeSlope = 0.01)
        : base("LeakyRelu", new() { ["alpha"] = Activation.Finite(negativeSlope, nameof(negativeSlope), "LeakyReLU") }) => NegativeSlope = negativeSlope;

    /// <summary>The slope for negative inputs.</summary>
    public double NegativeSlope { get; }
}

/// <summary>x for x &gt; 0, else Alpha * (exp(x) - 1) (PyTorch default alpha 1).</summary>
public sealed class ELU : ElementwiseActivation
{
    /// <summary>Creates the layer.</summary>
    public ELU(double alpha = 1.0)
        : base("Elu", new() { ["alpha"] = Activation.Finite(alpha, nameof(alpha), "ELU") }) => Alpha = alpha;

    /// <summary>The saturation value for negative inputs.</summary>
    public double Alpha { get; }
}

/// <summary>Scaled ELU with PyTorch's (and ONNX's) fixed constants alpha ≈ 1.6733, scale ≈ 1.0507.</summary>
public sealed class SELU() : ElementwiseActivation("Selu");

/// <summary>
/// GELU x Φ(x): exact (Approximate "none", PyTorch's default) or the tanh approximation (Approximate "tanh"),
/// as ONNX Gelu opset 20.
/// </summary>
public sealed class GELU : ElementwiseActivation
{
    /// <summary>Creates the layer; <paramref name="approximate"/> is "none" or "tanh".</summary>
    public GELU(string approximate = "none")
        : base("Gelu", new() { ["approximate"] = approximate is "none" or "tanh" ? approximate
            : throw new ArgumentException($"GELU: approximate must be \"none\" or \"tanh\", not \"{approximate}\".", nameof(approximate)) })
        => Approximate = approximate;

    /// <summary>"none" or "tanh".</summary>
    public string Approximate { get; }
}

/// <summary>SiLU (Swish) x * sigmoid(x).</summary>
public sealed class SiLU() : ElementwiseActivation("Silu");

/// <summary>Mish x * tanh(softplus(x)).</summary>
public sealed class Mish() : ElementwiseActivation("Mish");

/// <summary>The logistic sigmoid.</summary>
public sealed class Sigmoid() : ElementwiseActivation("Sigmoid");

/// <summary>The hyperbolic tangent.</summary>
public sealed class Tanh() : ElementwiseActivation("Tanh");

/// <summary>x / (1 + |x|).</summary>
public sealed class Softsign() : ElementwiseActivation("Softsign");

/// <summary>
/// PyTorch's Hardsigmoid relu6(x + 3) / 6 = clamp(x / 6 + 1/2, 0, 1): ONNX HardSigmoid with alpha 1/6 and beta 1/2
/// (ONNX's own default alpha is 0.2, which PyTorch does not use).
/// </summary>
public sealed class HardSigmoid() : ElementwiseActivation("HardSigmoid", new() { ["alpha"] = 1.0 / 6, ["beta"] = 0.5 });

/// <summary>x * relu6(x + 3) / 6 (ONNX HardSwish and PyTorch's Hardswish agree).</summary>
public sealed class HardSwish() : ElementwiseActivation("HardSwish");

/// <summary>Softmax along <c>Dim</c> (negative counts from the end).</summary>
public sealed class Softmax : ElementwiseActivation
{
    /// <summary>Creates the layer. PyTorch has no default dim (it warns and guesses); Myelin uses the last axis.</summary>
    public Softmax(long dim = -1)
        : base("Softmax", new() { ["axis"] = dim }) => Dim = dim;

    /// <summary>The axis normalized over.</summary>
    public long Dim { get; }

    /// <inheritdoc/>
    protected override Value Build(Value input)
    {
        Activation.CheckAxis(this, input, Dim);
        return base.Build(input);
    }
}

/// <summary>log(softmax(x)) along <c>Dim</c>, computed stably in one op.</summary>
public sealed class LogSoftmax : ElementwiseActivation
{
    /// <summary>Creates the layer; the last axis by default (see <see cref="Softmax"/>).</summary>
    public LogSoftmax(long dim = -1)
        : base("LogSoftmax", new() { ["axis"] = dim }) => Dim = dim;

    /// <summary>The axis normalized over.</summary>
    public long Dim { get; }

    /// <inheritdoc/>
    protected override Value Build(Value input)
    {
        Activation.CheckAxis(this, input, Dim);
        return base.Build(input);
    }
}

/// <summary>
/// PyTorch's Softplus: log(1 + exp(Beta x)) / Beta, and x itself where Beta x &gt; Threshold (defaults 1 and 20),
/// where the two agree to float precision and the linear form avoids overflow.
/// </summary>
public sealed class Softplus : Layer
{
    /// <summary>Creates the layer.</summary>
    public Softplus(double beta = 1, double threshold = 20)
    {
        if (!double.IsFinite(beta) || beta <= 0) throw new ArgumentOutOfRangeException(nameof(beta), beta, $"Softplus: beta must be positive, not {beta}.");
        Beta = beta;
        Threshold = Activation.Finite(threshold, nameof(threshold), "Softplus");
    }

    /// <summary>The sharpness.</summary>
    public double Beta { get; }

    /// <summary>Above this value of Beta x the layer is linear.</summary>
    public double Threshold { get; }

    /// <inheritdoc/>
    protected override Value Build(Value input)
    {
        ElementwiseActivation.RequireFloat(this, input);
        Graph graph = input.Graph;
        Value scaled = Beta == 1 ? input : input * Beta;
        Value soft = graph.Apply("Softplus", [scaled], name: NodeName(graph, "softplus"))[0];
        if (Beta != 1) soft /= Beta;
        Value linear = scaled.Apply("Greater", graph.Scalar(Threshold, input.DType));
        return graph.Apply("Where", [linear, input, soft], name: NodeName(graph, "threshold"))[0];
    }
}

/// <summary>
/// PReLU max(0, x) + a min(0, x) with a learned slope a: one shared (NumParameters 1) or one per channel
/// (NumParameters C, axis 1 of the input, as PyTorch), initialized to Init (0.25). Applies the PRelu op.
/// </summary>
public sealed class PReLU : Layer
{
    /// <summary>Creates the layer.</summary>
    public PReLU(long numParameters = 1, double init = 0.25, DType dtype = DType.F32)
    {
        if (numParameters <= 0) throw new ArgumentOutOfRangeException(nameof(numParameters), numParameters, $"PReLU: num_parameters must be positive, not {numParameters}.");
        NumParameters = numParameters;
        Weight = AddParameter("weight", new ConstantInitializer(Activation.Finite(init, nameof(init), "PReLU")).Create([numParameters], dtype));
    }

    /// <summary>1 or the channel count.</summary>
    public long NumParameters { get; }

    /// <summary>The slopes, [NumParameters].</summary>
    public Tensor Weight { get; }

    /// <inheritdoc/>
    protected override Value Build(Value input)
    {
        ElementwiseActivation.RequireFloat(this, input);
        Graph graph = input.Graph;
        Value slope = Use(graph, Weight);
        if (NumParameters > 1)
        {
            if (input.Rank < 2 || !input.Type[1].IsKnown || input.Type[1].Value != NumParameters)
            {
                throw new GraphValidationException($"{DisplayName}: has {NumParameters} slopes, one per channel (axis 1), but the input is {input.Type.ShapeText}.");
            }

            long[] shape = [NumParameters, .. Enumerable.Repeat(1L, input.Rank - 2)];
            slope = graph.Apply("Reshape", [slope, GraphConstants.I64(graph, shape)], name: NodeName(graph, "slope"))[0];
        }

        return graph.Apply("PRelu", [input, slope])[0];
    }
}

/// <summary>Activation layers by name, for configuration files and model builders.</summary>
public static class Activation
{
    private static readonly Dictionary<string, Func<Layer>> s_factories = new(StringComparer.OrdinalIgnoreCase)
    {
        ["identity"] = () => new Identity(),
        ["relu"] = () => new ReLU(),
        ["leaky_relu"] = () => new LeakyReLU(),
        ["prelu"] = () => new PReLU(),
        ["elu"] = () => new ELU(),
        ["selu"] = () => new SELU(),
        ["gelu"] = () => new GELU(),
        ["gelu_tanh"] = () => new GELU("tanh"),
        ["silu"] = () => new SiLU(),
        ["swish"] = () => new SiLU(),
        ["mish"] = () => new Mish(),
        ["sigmoid"] = () => new Sigmoid(),
        ["tanh"] = () => new Tanh(),
        ["softplus"] = () => new Softplus(),
        ["softsign"] = () => new Softsign(),
        ["hardsigmoid"] = () => new HardSigmoid(),
        ["hardswish"] = () => new HardSwish(),
        ["softmax"] = () => new Softmax(),
        ["log_softmax"] = () => new LogSoftmax(),
    };

    /// <summary>The names <see cref="Create"/> knows (case does not matter).</summary>
    public static IReadOnlyCollection<string> Names => s_factories.Keys;

    /// <summary>A new activation layer with PyTorch's default arguments, such as "relu", "gelu", "gelu_tanh", "tanh".</summary>
    /// <exception cref="ArgumentException">An unknown name; the message lists the known ones.</exception>
    public static Layer Create(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return s_factories.TryGetValue(name, out Func<Layer>? create) ? create()
            : throw new ArgumentException($"Unknown activation '{name}'; known: {string.Join(", ", s_factories.Keys)}.", nameof(name));
    }

    internal static double Finite(double value, string name, string layer) => double.IsFinite(value) ? value
        : throw new ArgumentOutOfRangeException(name, value, $"{layer}: {name} must be finite, not {value}.");

    /// <summary>Throws naming <paramref name="layer"/> unless <paramref name="axis"/> is an axis of <paramref name="input"/>.</summary>
    internal static void CheckAxis(Layer layer, Value input, long axis)
    {
        if (axis < -input.Rank || axis >= input.Rank) throw new GraphValidationException($"{layer.DisplayName}: dim {axis} is out of range for the input {input.Type.ShapeText}.");
    }
}

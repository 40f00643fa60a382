namespace Myelin.Graphs;

/// <summary>What produces a value.</summary>
public enum ValueKind
{
    /// <summary>Fed at run time by name.</summary>
    Input,

    /// <summary>A persistent tensor owned outside the run (weights, optimizer state); updated only by side-effect ops.</summary>
    Parameter,

    /// <summary>A constant tensor known when the graph is built.</summary>
    Constant,

    /// <summary>The output of a node.</summary>
    Intermediate,
}

/// <summary>
/// A tensor-valued edge of a <see cref="Graph"/>: a graph input, a parameter, a constant, or a node output.
/// Operators build nodes in the value's graph: <c>a + b</c>, <c>a.MatMul(b)</c>, <c>x.Relu()</c>.
/// </summary>
public sealed class Value
{
    internal Value(Graph graph, string name, TensorType type, ValueKind kind, Node? producer, int outputIndex, Tensor? data)
    {
        Graph = graph;
        Name = name;
        Type = type;
        Kind = kind;
        Producer = producer;
        OutputIndex = outputIndex;
        Data = data;
    }

    /// <summary>The graph the value belongs to.</summary>
    public Graph Graph { get; }

    /// <summary>Unique name within the graph.</summary>
    public string Name { get; }

    /// <summary>Dtype and (possibly symbolic) shape.</summary>
    public TensorType Type { get; internal set; }

    /// <summary>Element type.</summary>
    public DType DType => Type.DType;

    /// <summary>Rank.</summary>
    public int Rank => Type.Rank;

    /// <summary>What produces the value.</summary>
    public ValueKind Kind { get; }

    /// <summary>The node whose output this is, for <see cref="ValueKind.Intermediate"/>.</summary>
    public Node? Producer { get; internal set; }

    /// <summary>Index among the producer's outputs.</summary>
    public int OutputIndex { get; }

    /// <summary>The tensor of a parameter or constant.</summary>
    public Tensor? Data { get; internal set; }

    /// <summary>Such as <c>h1: f32 Nx256</c>.</summary>
    public override string ToString() => $"{Name}: {Type}";

    /// <summary>a + b (broadcasting).</summary>
    public static Value operator +(Value a, Value b) => a.Graph.Apply("Add", [a, b])[0];

    /// <summary>a - b (broadcasting).</summary>
    public static Value operator -(Value a, Value b) => a.Graph.Apply("Sub", [a, b])[0];

    /// <summary>a * b elementwise (broadcasting).</summary>
    public static Value operator *(Value a, Value b) => a.Graph.Apply("Mul", [a, b])[0];

    /// <summary>a / b (broadcasting).</summary>
    public static Value operator /(Value a, Value b) => a.Graph.Apply("Div", [a, b])[0];

    /// <summary>-a.</summary>
    public static Value operator -(Value a) => a.Graph.Apply("Neg", [a])[0];

    /// <summary>a + scalar.</summary>
    public static Value operator +(Value a, double b) => a + a.Graph.Scalar(b, a.DType);

    /// <summary>scalar + b.</summary>
    public static Value operator +(double a, Value b) => b.Graph.Scalar(a, b.DType) + b;

    /// <summary>a - scalar.</summary>
    public static Value operator -(Value a, double b) => a - a.Graph.Scalar(b, a.DType);

    /// <summary>scalar - b.</summary>
    public static Value operator -(double a, Value b) => b.Graph.Scalar(a, b.DType) - b;

    /// <summary>a * scalar.</summary>
    public static Value operator *(Value a, double b) => a * a.Graph.Scalar(b, a.DType);

    /// <summary>scalar * b.</summary>
    public static Value operator *(double a, Value b) => b.Graph.Scalar(a, b.DType) * b;

    /// <summary>a / scalar.</summary>
    public static Value operator /(Value a, double b) => a / a.Graph.Scalar(b, a.DType);

    /// <summary>scalar / b.</summary>
    public static Value operator /(double a, Value b) => b.Graph.Scalar(a, b.DType) / b;

    /// <summary>Matrix product (ONNX MatMul).</summary>
    public Value MatMul(Value other) => Graph.Apply("MatMul", [this, other])[0];

    /// <summary>Applies a registered single-output op with this value as the first input.</summary>
    public Value Apply(string op, params Value[] others) => Graph.Apply(op, [this, .. others])[0];

    /// <summary>max(x, 0).</summary>
    public Value Relu() => Apply("Relu");

    /// <summary>Hyperbolic tangent.</summary>
    public Value Tanh() => Apply("Tanh");

    /// <summary>Logistic sigmoid.</summary>
    public Value Sigmoid() => Apply("Sigmoid");

    /// <summary>e^x.</summary>
    public Value Exp() => Apply("Exp");

    /// <summary>Natural log.</summary>
    public Value Log() => Apply("Log");

    /// <summary>Square root.</summary>
    public Value Sqrt() => Apply("Sqrt");

    /// <summary>Sum over <paramref name="axes"/> (all when empty).</summary>
    public Value Sum(long[]? axes = null, bool keepDims = false) =>
        Graph.Apply("ReduceSum", [this], Attrs(axes, keepDims))[0];

    /// <summary>Mean over <paramref name="axes"/> (all when empty).</summary>
    public Value Mean(long[]? axes = null, bool keepDims = false) =>
        Graph.Apply("ReduceMean", [this], Attrs(axes, keepDims))[0];

    /// <summary>Swaps the last two axes, or permutes by <paramref name="perm"/>.</summary>
    public Value Transpose(params long[] perm) =>
        Graph.Apply("Transpose", [this], perm.Length == 0 ? null : new Dictionary<string, object> { ["perm"] = perm })[0];

    /// <summary>Converts elements to <paramref name="dtype"/>.</summary>
    public Value Cast(DType dtype) => Graph.Apply("Cast", [this], new Dictionary<string, object> { ["to"] = (long)dtype })[0];

    private static Dictionary<string, object> Attrs(long[]? axes, bool keepDims)
    {
        var attrs = new Dictionary<string, object> { ["keepdims"] = keepDims ? 1L : 0L };
        if (axes is { Length: > 0 })
        {
            attrs["axes"] = axes;
        }

        return attrs;
    }
}

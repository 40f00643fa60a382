using System.Globalization;
using Myelin.Graphs;

namespace Myelin.Ops;

/// <summary>Kinds of attribute values; stored as long, double, long[], double[], string, <see cref="Myelin.Tensor"/> or string[].</summary>
public enum AttrKind
{
    /// <summary>A long.</summary>
    Int,

    /// <summary>A double.</summary>
    Float,

    /// <summary>A long[].</summary>
    Ints,

    /// <summary>A double[].</summary>
    Floats,

    /// <summary>A string.</summary>
    String,

    /// <summary>A <see cref="Myelin.Tensor"/> (ONNX tensor attributes such as Constant's value); the node keeps a reference, so it must outlive the graph.</summary>
    Tensor,

    /// <summary>A string[].</summary>
    Strings,
}

/// <summary>One attribute of an op's schema. A null default makes it required, unless <paramref name="Optional"/>.</summary>
public sealed record AttrSpec(string Name, AttrKind Kind, object? Default = null, bool Optional = false);

/// <summary>
/// The single definition of an op: its ONNX identity, attribute schema, type and shape inference, gradient
/// builder, and kernel binding (or a lowering into other ops, for a composite whose fused kernel does not exist
/// yet). Registered in <see cref="OpRegistry"/>.
/// </summary>
public abstract class OpDef
{
    /// <summary>Registry key; equal to <see cref="OpType"/> for ONNX ops.</summary>
    public abstract string Name { get; }

    /// <summary>ONNX domain: "" is ai.onnx; Myelin's internal ops use "ai.myelin".</summary>
    public virtual string Domain => "";

    /// <summary>ONNX op_type.</summary>
    public virtual string OpType => Name;

    /// <summary>First opset whose semantics this definition follows.</summary>
    public virtual int SinceVersion => 13;

    /// <summary>Last opset with these semantics; null for the newest.</summary>
    public virtual int? UntilVersion => null;

    /// <summary>The attribute schema.</summary>
    public virtual IReadOnlyList<AttrSpec> Attributes => [];

    /// <summary>Smallest number of inputs.</summary>
    public abstract int MinInputs { get; }

    /// <summary>Largest number of inputs.</summary>
    public virtual int MaxInputs => MinInputs;

    /// <summary>
    /// Whether an optional input may be omitted before a later one is given (ONNX's empty input name): the importer
    /// then passes an empty 1-d tensor in its place, which the op reads as absent (see <see cref="IsOmitted"/>).
    /// </summary>
    public virtual bool TakesOmittedInputs => false;

    /// <summary>Whether <paramref name="input"/> stands for an omitted optional input: an empty 1-d tensor, as <see cref="TakesOmittedInputs"/> describes.</summary>
    public static bool IsOmitted(Value input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return input.Rank == 1 && input.Type[0] == Dim.Of(0);
    }

    /// <summary>Whether the node must run even if nothing reads its outputs (it writes a parameter).</summary>
    public virtual bool HasSideEffects => false;

    /// <summary>The inputs (parameters) a side-effect op writes in place; every other reader of them runs first.</summary>
    public virtual IReadOnlyList<int> MutatedInputs => [];

    /// <summary>The inputs <paramref name="node"/> writes in place: <see cref="MutatedInputs"/>, or fewer where its attributes say so (inference-mode batch norm writes none).</summary>
    public virtual IReadOnlyList<int> MutatedInputsOf(Node node) => MutatedInputs;

    /// <summary>Whether equal inputs give equal outputs on every run (false for random ops), so passes may fold or merge it.</summary>
    public virtual bool IsDeterministic => !HasSideEffects;

    /// <summary>Whether gradients flow through the op (integer and boolean results do not).</summary>
    public virtual bool IsDifferentiable => true;

    /// <summary>
    /// False for a differentiable op whose gradient builder is not written yet: differentiating through it
    /// fails with a message naming the node instead of silently giving zero.
    /// </summary>
    public virtual bool HasGradient => true;

    /// <summary>Whether elementwise (same shape out as the broadcast of its inputs, one loop): fusion candidates.</summary>
    public virtual bool IsElementwise => false;

    /// <summary>
    /// The op that defines a node of this op on <paramref name="inputs"/> with validated <paramref name="attributes"/>
    /// when another does (a form only a composite computes), or null: <see cref="Graph.Apply(OpDef, Value[], IReadOnlyDictionary{string, object}?, string?)"/> applies that op instead.
    /// </summary>
    public virtual OpDef? DefinitionFor(Value[] inputs, IReadOnlyDictionary<string, object> attributes) => null;

    /// <summary>Output types from input types; call <see cref="InferContext.Fail"/> for bad inputs.</summary>
    protected abstract TensorType[] Infer(InferContext context);

    /// <summary>Gradients of the inputs given the outputs' gradients (null where none flows). Built from registered ops, so they are differentiable in turn.</summary>
    public virtual Value?[] Gradient(GradientContext context) =>
        throw new GraphValidationException($"{context.Node}: the op has no gradient.", context.Node.Name);

    /// <summary>For a view op: the output layout over the input's memory, or null when the input's layout needs a copy first.</summary>
    public virtual Layout? View(Node node, Layout input, Shape output) => null;

    /// <summary>For a view op with several outputs (Split): output <paramref name="outputIndex"/>'s layout over input 0's memory; output 0's is <see cref="View"/>'s.</summary>
    public virtual Layout? ViewOutput(Node node, Layout input, Shape output, int outputIndex) => outputIndex == 0 ? View(node, input, output) : null;

    /// <summary>Whether the op's output is a view of input 0 (no kernel; planning aliases the buffers).</summary>
    public virtual bool IsView => false;

    /// <summary>
    /// Whether the kernel needs input <paramref name="index"/> contiguous (its native call rejects strided operands,
    /// as the conv, pool, norm, gather and pad validators do): the planner then copies a strided value, such as a
    /// transposed view, to a contiguous buffer before the launch. False by default: the other kernels take strides.
    /// </summary>
    public virtual bool RequiresContiguousInput(int index) => false;

    /// <summary>The kernel call of a node, built once per plan with its descriptors.</summary>
    public virtual KernelLaunch Bind(BindContext context) =>
        throw new NotSupportedException($"{context.Node}: the op has no kernel binding on {context.Device.Name}.");

    /// <summary>
    /// Writes the node as standard ONNX at <see cref="OnnxExportContext.Opset"/>. By default an ai.onnx op is written
    /// as itself with all its attributes; an op whose ONNX form differs at that opset, or a Myelin op with a standard
    /// equivalent, overrides this; any other Myelin op (gradients, optimizer updates, fused kernels) has no ONNX form.
    /// </summary>
    public virtual void ExportOnnx(OnnxExportContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (Domain.Length != 0)
        {
            throw context.Unsupported($"the op is internal to Myelin ({Domain}) and has no ONNX form; export the inference graph as built, before autodiff and the fusion passes of CompiledGraph.Compile");
        }

        if (SinceVersion > context.Opset)
        {
            throw context.Unsupported($"the op's registry version is from opset {SinceVersion}, after the exported opset {context.Opset}, and no older form is defined");
        }

        context.Same();
    }

    /// <summary>Inputs that <see cref="Autodiff.GradCheck"/> uses for this op, or null for an op it skips (not differentiable).</summary>
    public virtual GradCheckCase? GradCheckCase => null;

    /// <summary>How many inputs the op takes, for messages: "2", "2 to 3" or "at least 1".</summary>
    internal string InputCountText => MinInputs == MaxInputs ? $"{MinInputs}" : MaxInputs == int.MaxValue ? $"at least {MinInputs}" : $"{MinInputs} to {MaxInputs}";

    /// <summary>Infers a node's output types from <paramref name="inputs"/> (symbolic or concrete).</summary>
    public TensorType[] InferTypes(Node node, TensorType[] inputs)
    {
        var context = new InferContext(node, inputs);
        if (inputs.Length < MinInputs || inputs.Length > MaxInputs)
        {
            context.Fail($"takes {InputCountText} inputs but got {inputs.Length}");
        }

        // Dims and attributes may come from a model file: sizes past 2^63 - 1 are refused, not wrapped around.
        TensorType[] results;
        try
        {
            results = Infer(context);
        }
        catch (OverflowException exception)
        {
            throw new GraphValidationException($"{OverflowText(node, inputs)}.", node.Name, exception);
        }

        foreach (TensorType result in results)
        {
            long count = 1;
            foreach (Dim dim in result.Dims)
            {
                // As Shape counts: a zero dim makes the count 0, after which nothing overflows.
                if (!dim.IsKnown) continue;
                if (dim.Value != 0 && count > long.MaxValue / dim.Value) throw new GraphValidationException($"{OverflowText(node, inputs)}: an output would be {result}.", node.Name);
                count *= dim.Value;
            }
        }

        return results;
    }

    private static string OverflowText(Node node, TensorType[] inputs) =>
        $"{node}: a size computed from its input shapes and attributes overflows a 64-bit integer (inputs {string.Join(", ", inputs.Select(i => i.ToString()))})";

    /// <summary>Checks attributes against the schema and fills in defaults.</summary>
    internal IReadOnlyDictionary<string, object> ValidateAttributes(string nodeName, IReadOnlyDictionary<string, object>? given)
    {
        var result = new Dictionary<string, object>();
        if (given is not null)
        {
            foreach ((string key, object value) in given)
            {
                AttrSpec? spec = Attributes.FirstOrDefault(a => a.Name == key)
                    ?? throw new GraphValidationException($"node '{nodeName}' ({Name}): unknown attribute '{key}'; the op takes {(Attributes.Count == 0 ? "none" : string.Join(", ", Attributes.Select(a => a.Name)))}.", nodeName);
                result[key] = Coerce(nodeName, spec, value);
            }
        }

        foreach (AttrSpec spec in Attributes)
        {
            if (!result.ContainsKey(spec.Name))
            {
                if (spec.Default is not null)
                {
                    result[spec.Name] = spec.Default;
                }
                else if (!spec.Optional)
                {
                    throw new GraphValidationException($"node '{nodeName}' ({Name}): the required attribute '{spec.Name}' is missing.", nodeName);
                }
            }
        }

        return result;
    }

    private object Coerce(string nodeName, AttrSpec spec, object value)
    {
        try
        {
            return spec.Kind switch
            {
                AttrKind.Int => value is long or int or short ? Convert.ToInt64(value, CultureInfo.InvariantCulture) : throw new InvalidCastException(),
                AttrKind.Float => value is double or float or long or int ? Convert.ToDouble(value, CultureInfo.InvariantCulture) : throw new InvalidCastException(),
                AttrKind.Ints => value switch { long[] l => l, int[] i => i.Select(x => (long)x).ToArray(), _ => throw new InvalidCastException() },
                AttrKind.Floats => value switch { double[] d => d, float[] f => f.Select(x => (double)x).ToArray(), _ => throw new InvalidCastException() },
                AttrKind.String => value as string ?? throw new InvalidCastException(),
                AttrKind.Tensor => value as Tensor ?? throw new InvalidCastException(),
                AttrKind.Strings => value as string[] ?? throw new InvalidCastException(),
                _ => throw new InvalidCastException(),
            };
        }
        catch (InvalidCastException)
        {
            throw new GraphValidationException($"node '{nodeName}' ({Name}): attribute '{spec.Name}' must be {spec.Kind} but is {value.GetType().Name}.", nodeName);
        }
    }

    /// <summary>The registry name.</summary>
    public override string ToString() => Name;
}

/// <summary>A view of memory: shape, strides and offset in elements.</summary>
public sealed record Layout(long[] Shape, long[] Strides, long Offset)
{
    /// <summary>Row-major layout of <paramref name="shape"/> at <paramref name="offset"/>.</summary>
    public static Layout Contiguous(Shape shape, long offset = 0) => new(shape.ToArray(), shape.ContiguousStrides(), offset);

    /// <summary>Whether the elements lie in row-major order without gaps.</summary>
    public bool IsContiguous
    {
        get
        {
            long expected = 1;
            for (int axis = Shape.Length - 1; axis >= 0; axis--)
            {
                if (Shape[axis] != 1 && Strides[axis] != expected) return Shape.Contains(0);
                expected *= Shape[axis];
            }

            return true;
        }
    }
}

/// <summary>What type inference sees: the node (for messages) and its input types.</summary>
public sealed class InferContext
{
    internal InferContext(Node node, TensorType[] inputs)
    {
        Node = node;
        Inputs = inputs;
    }

    /// <summary>The node being inferred.</summary>
    public Node Node { get; }

    /// <summary>Input types.</summary>
    public TensorType[] Inputs { get; }

    /// <summary>Input <paramref name="index"/>'s type.</summary>
    public TensorType Input(int index) => Inputs[index];

    /// <summary>The constant tensor feeding input <paramref name="index"/>, or null if it is not a constant.</summary>
    public Tensor? ConstantInput(int index) =>
        index < Node.Inputs.Length && Node.Inputs[index].Kind == ValueKind.Constant ? Node.Inputs[index].Data : null;

    /// <summary>Throws a <see cref="GraphValidationException"/> such as "node 'fc2' (MatMul): inner dims 128 and 64 differ".</summary>
    public void Fail(string problem) => throw new GraphValidationException($"{Node}: {problem}", Node.Name);

    /// <summary>Fails unless every input is a floating-point tensor of one dtype.</summary>
    public DType RequireSameFloat()
    {
        DType dtype = Inputs[0].DType;
        for (int i = 0; i < Inputs.Length; i++)
        {
            if (!Inputs[i].DType.IsFloatingPoint()) Fail($"input {i} is {Inputs[i].DType.ShortName()}; the op needs floating point");
            if (Inputs[i].DType != dtype) Fail($"input {i} is {Inputs[i].DType.ShortName()} but input 0 is {dtype.ShortName()}");
        }

        return dtype;
    }

    /// <summary>The NumPy broadcast of two shapes; fails naming both.</summary>
    public Dim[] Broadcast(TensorType a, TensorType b)
    {
        int rank = Math.Max(a.Rank, b.Rank);
        var dims = new Dim[rank];
        for (int i = 1; i <= rank; i++)
        {
            Dim da = i <= a.Rank ? a[a.Rank - i] : Dim.Of(1);
            Dim db = i <= b.Rank ? b[b.Rank - i] : Dim.Of(1);
            if (da == db || (db.IsKnown && db.Value == 1)) dims[rank - i] = da;
            else if (da.IsKnown && da.Value == 1) dims[rank - i] = db;
            else
            {
                Fail($"shapes {a.ShapeText} and {b.ShapeText} do not broadcast ({da} vs {db} at axis -{i})");
            }
        }

        return dims;
    }

    /// <summary>Normalizes an axis against <paramref name="rank"/>, failing when out of range.</summary>
    public int Axis(long axis, int rank)
    {
        long normalized = axis < 0 ? axis + rank : axis;
        if (normalized < 0 || normalized >= rank) Fail($"axis {axis} is out of range for rank {rank}");
        return (int)normalized;
    }
}

/// <summary>What a gradient builder sees.</summary>
public sealed class GradientContext
{
    internal GradientContext(Graph graph, Node node, Value?[] outputGradients)
    {
        Graph = graph;
        Node = node;
        OutputGradients = outputGradients;
    }

    /// <summary>The graph to add gradient nodes to.</summary>
    public Graph Graph { get; }

    /// <summary>The node being differentiated.</summary>
    public Node Node { get; }

    /// <summary>Gradients of the node's outputs; null where no gradient flows.</summary>
    public Value?[] OutputGradients { get; }

    /// <summary>Input <paramref name="i"/>.</summary>
    public Value X(int i) => Node.Inputs[i];

    /// <summary>Output <paramref name="i"/>.</summary>
    public Value Y(int i = 0) => Node.Outputs[i];

    /// <summary>Gradient of output <paramref name="i"/>; null when no gradient reaches it (a zero gradient).</summary>
    public Value? Dy(int i = 0) => OutputGradients[i];

    /// <summary>Sums <paramref name="gradient"/> over broadcast axes so it has <paramref name="like"/>'s shape.</summary>
    public Value SumTo(Value gradient, Value like) =>
        gradient.Type.Dims.SequenceEqual(like.Type.Dims) ? gradient : Graph.Apply("SumToLike", [gradient, like])[0];

    /// <summary>Normalizes an axis against <paramref name="rank"/>.</summary>
    public int Axis(long axis, int rank) => (int)(axis < 0 ? axis + rank : axis);

    /// <summary>Applies a single-output op.</summary>
    public Value Op(string op, params Value[] inputs) => Graph.Apply(op, inputs)[0];

    /// <summary>Applies a single-output op with attributes.</summary>
    public Value Op(string op, Value[] inputs, Dictionary<string, object> attributes) => Graph.Apply(op, inputs, attributes)[0];
}

/// <summary>Inputs for a gradient check of one op: shapes, the range values are drawn from, and attributes.</summary>
/// <param name="Shapes">One shape per input.</param>
/// <param name="Low">Smallest input value.</param>
/// <param name="High">Largest input value.</param>
/// <param name="Attributes">Attributes of the node, if any.</param>
/// <param name="AwayFromZero">Keep |x| at least this far from 0 (kinks of Relu, Abs).</param>
/// <param name="DistinctInputs">Keep inputs of Max/Min apart, so the derivative is defined.</param>
/// <param name="Build">Builds the checked function from the float inputs when the op needs more than applying it (a bool condition, say).</param>
public sealed record GradCheckCase(long[][] Shapes, double Low = -1, double High = 1, Dictionary<string, object>? Attributes = null,
    double AwayFromZero = 0, bool DistinctInputs = false, Func<Graph, Value[], Value[]>? Build = null);

/// <summary>
/// An op defined as a subgraph of other ops until a fused kernel exists: applying it adds the expansion, whose
/// gradient autodiff derives. Switching to a kernel later replaces <see cref="Expand"/> with a binding.
/// </summary>
public abstract class CompositeOp : OpDef
{
    /// <summary>Adds the op's expansion for <paramref name="inputs"/> with validated <paramref name="attributes"/>; returns its outputs.</summary>
    public abstract Value[] Expand(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context);

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context) =>
        throw new InvalidOperationException($"{Name} is composite: it never appears as a node.");
}

using Myelin.Graphs;

namespace Myelin.Ops;

/// <summary>An ONNX op over any number of inputs (at least one), broadcast together: a chain of one binary op.</summary>
public abstract class VariadicOp(string name, string binary) : CompositeOp
{
    /// <inheritdoc/>
    public override string Name => name;

    /// <inheritdoc/>
    /// <remarks>Opset 8 added broadcasting; opset 6's form, of equal shapes, maps onto it (<c>OnnxOpsetAdapter</c>).</remarks>
    public override int SinceVersion => 8;

    /// <inheritdoc/>
    public override int MinInputs => 1;

    /// <inheritdoc/>
    public override int MaxInputs => int.MaxValue;

    /// <inheritdoc/>
    public override Value[] Expand(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(context);
        for (int i = 1; i < inputs.Length; i++)
        {
            if (inputs[i].DType != inputs[0].DType)
            {
                context.Fail($"input {i} is {inputs[i].DType.ShortName()} but input 0 is {inputs[0].DType.ShortName()}");
            }
        }

        if (inputs.Length == 1) return graph.Apply("Identity", [inputs[0]]);
        Value result = inputs[0];
        for (int i = 1; i < inputs.Length; i++) result = graph.Apply(binary, [result, inputs[i]])[0];
        return [Finish(graph, result, inputs.Length, context)];
    }

    /// <summary>The last step after the chain (Mean divides by the count).</summary>
    protected virtual Value Finish(Graph graph, Value chained, int count, InferContext context) => chained;

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 3], [3], [1, 3]]);
}

#pragma warning disable CS1591 // One line per op: the name says what it is; the ONNX spec documents it.
public sealed class SumOp() : VariadicOp("Sum", "Add");
#pragma warning restore CS1591

/// <summary>ONNX Max: the elementwise maximum of its inputs.</summary>
public sealed class MaxOp() : VariadicOp("Max", "Maximum")
{
    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 3], [3], [1, 3]], DistinctInputs: true);
}

/// <summary>ONNX Min: the elementwise minimum of its inputs.</summary>
public sealed class MinOp() : VariadicOp("Min", "Minimum")
{
    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 3], [3], [1, 3]], DistinctInputs: true);
}

/// <summary>ONNX Mean: the sum of its (floating-point) inputs divided by their count.</summary>
public sealed class MeanOp() : VariadicOp("Mean", "Add")
{
    /// <inheritdoc/>
    protected override Value Finish(Graph graph, Value chained, int count, InferContext context)
    {
        if (!chained.DType.IsFloatingPoint()) context.Fail($"inputs are {chained.DType.ShortName()}; the op needs floating point");
        return chained / count;
    }
}

/// <summary>
/// ONNX Pow: the result has the base's dtype. An exponent of another dtype is cast to the base's; an integer base
/// with a floating-point exponent is raised in f64 and the result truncated back, as the ONNX reference does.
/// </summary>
public sealed class PowOp() : SimpleCompositeOp("Pow", 15, 2)
{
    /// <inheritdoc/>
    protected override Value[] Build(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        Value a = inputs[0], b = inputs[1];
        for (int i = 0; i < 2; i++)
        {
            DType dtype = inputs[i].DType;
            if (!dtype.IsFloatingPoint() && !dtype.IsInteger()) context.Fail($"input {i} is {dtype.ShortName()}; the op needs numbers");
        }

        if (a.DType.IsFloatingPoint() || b.DType.IsInteger())
        {
            return graph.Apply("Power", [a, b.DType == a.DType ? b : b.Cast(a.DType)]);
        }

        return [graph.Apply("Power", [a.Cast(DType.F64), b.Cast(DType.F64)])[0].Cast(a.DType)];
    }

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 3], [3]], 0.5, 2);
}

/// <summary>A composite whose output is bool: not differentiable.</summary>
public abstract class PredicateCompositeOp(string name, int since) : CompositeOp
{
    /// <inheritdoc/>
    public override string Name => name;

    /// <inheritdoc/>
    public override int SinceVersion => since;

    /// <inheritdoc/>
    public override int MinInputs => 1;

    /// <inheritdoc/>
    public override bool IsDifferentiable => false;

    /// <summary>A bool scalar constant.</summary>
    protected static Value Bool(Graph graph, bool value) => graph.Scalar(value ? 1 : 0, DType.Bool);

    /// <summary>Fails unless the input is floating point.</summary>
    protected static void RequireFloat(Value x, InferContext context)
    {
        if (!x.DType.IsFloatingPoint()) context.Fail($"input 0 is {x.DType.ShortName()}; the op needs floating point");
    }
}

/// <summary>ONNX Not: logical negation of a bool tensor, as x xor true.</summary>
public sealed class NotOp() : PredicateCompositeOp("Not", 1)
{
    /// <inheritdoc/>
    public override Value[] Expand(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(context);
        if (inputs[0].DType != DType.Bool) context.Fail($"input 0 is {inputs[0].DType.ShortName()}; the op needs bool");
        return graph.Apply("Xor", [inputs[0], Bool(graph, true)]);
    }
}

/// <summary>ONNX IsNaN: true where x is NaN, the one value not equal to itself.</summary>
public sealed class IsNaNOp() : PredicateCompositeOp("IsNaN", 9)
{
    /// <inheritdoc/>
    public override Value[] Expand(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(context);
        Value x = inputs[0];
        RequireFloat(x, context);
        return graph.Apply("Xor", [graph.Apply("Equal", [x, x])[0], Bool(graph, true)]);
    }
}

/// <summary>ONNX IsInf: true where x is +inf (when detect_positive) or -inf (when detect_negative).</summary>
public sealed class IsInfOp() : PredicateCompositeOp("IsInf", 10)
{
    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("detect_positive", AttrKind.Int, 1L), new("detect_negative", AttrKind.Int, 1L)];

    /// <inheritdoc/>
    public override Value[] Expand(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(attributes);
        ArgumentNullException.ThrowIfNull(context);
        Value x = inputs[0];
        RequireFloat(x, context);
        Value? result = null;
        foreach ((string attribute, double infinity) in new[] { ("detect_positive", double.PositiveInfinity), ("detect_negative", double.NegativeInfinity) })
        {
            if ((long)attributes[attribute] == 0) continue;
            Value hit = graph.Apply("Equal", [x, graph.Scalar(infinity, x.DType)])[0];
            result = result is null ? hit : graph.Apply("Or", [result, hit])[0];
        }

        // Detecting neither: false everywhere (x < x is false for NaN too).
        return [result ?? graph.Apply("Less", [x, x])[0]];
    }
}

using System.Globalization;
using Myelin.Ops;

namespace Myelin.Graphs;

/// <summary>An application of a registered op to input values, producing output values.</summary>
public sealed class Node
{
    internal Node(string name, OpDef op, Value[] inputs, IReadOnlyDictionary<string, object> attributes)
    {
        Name = name;
        Op = op;
        Inputs = inputs;
        Attributes = attributes;
        Outputs = [];
    }

    /// <summary>Unique name within the graph, used in every message about the node.</summary>
    public string Name { get; }

    /// <summary>The op's registry entry.</summary>
    public OpDef Op { get; }

    /// <summary>Inputs, in the op's order.</summary>
    public Value[] Inputs { get; internal set; }

    /// <summary>Outputs, in the op's order.</summary>
    public Value[] Outputs { get; internal set; }

    /// <summary>Attributes, validated against the op's schema, with defaults filled in.</summary>
    public IReadOnlyDictionary<string, object> Attributes { get; }

    /// <summary>An integer attribute.</summary>
    public long GetInt(string name) => Convert.ToInt64(Attributes[name], CultureInfo.InvariantCulture);

    /// <summary>A float attribute.</summary>
    public double GetFloat(string name) => Convert.ToDouble(Attributes[name], CultureInfo.InvariantCulture);

    /// <summary>An integer-list attribute, or null when absent.</summary>
    public long[]? GetInts(string name) => Attributes.TryGetValue(name, out object? value) ? (long[])value : null;

    /// <summary>
    /// The values of input <paramref name="index"/>, which must be a constant 1-d i64 tensor (ONNX's shape, axes and
    /// split inputs); otherwise fails naming the node and the input as <paramref name="what"/>.
    /// </summary>
    public long[] ConstantInt64Input(int index, string what)
    {
        Value? input = index < Inputs.Length ? Inputs[index] : null;
        if (input is not { Kind: ValueKind.Constant, DType: DType.I64, Rank: 1 })
        {
            throw new GraphValidationException($"{this}: the {what} input must be a constant 1-d i64 tensor.", Name);
        }

        return input.Data!.ToArray<long>();
    }

    /// <summary>Such as <c>node 'fc2' (MatMul)</c>.</summary>
    public override string ToString() => $"node '{Name}' ({Op.Name})";
}

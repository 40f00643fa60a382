using System.Globalization;
using Myelin.Ops;

namespace Myelin.Graphs;

/// <summary>
/// A dataflow graph of <see cref="Node"/>s over <see cref="Value"/>s. Building a node infers its output types
/// (symbolic dims included) and validates it, so a bad graph fails where it is built, naming the node.
/// </summary>
public sealed class Graph
{
    private readonly List<Node> _nodes = [];
    private readonly List<Value> _inputs = [];
    private readonly List<Value> _parameters = [];
    private readonly List<Value> _outputs = [];
    private readonly HashSet<string> _names = [];
    private int _counter;

    /// <summary>Nodes in a topological order.</summary>
    public IReadOnlyList<Node> Nodes => _nodes;

    /// <summary>Values fed at run time.</summary>
    public IReadOnlyList<Value> Inputs => _inputs;

    /// <summary>Persistent tensors (weights, optimizer state).</summary>
    public IReadOnlyList<Value> Parameters => _parameters;

    /// <summary>Values a compiled graph returns.</summary>
    public IReadOnlyList<Value> Outputs => _outputs;

    /// <summary>Declares an input fed at run time; dims may be symbols such as "N".</summary>
    public Value Input(string name, DType dtype, params Dim[] dims)
    {
        var value = new Value(this, Claim(name), new TensorType(dtype, dims), ValueKind.Input, null, 0, null);
        _inputs.Add(value);
        return value;
    }

    /// <summary>Declares a persistent tensor; the graph reads it and side-effect ops (optimizers) update it in place.</summary>
    public Value Parameter(string name, Tensor data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (!data.IsContiguous)
        {
            throw new ArgumentException($"Parameter '{name}' must be contiguous.", nameof(data));
        }

        var value = new Value(this, Claim(name), new TensorType(data.DType, data.Shape), ValueKind.Parameter, null, 0, data);
        _parameters.Add(value);
        return value;
    }

    /// <summary>A constant; the graph keeps a reference to <paramref name="data"/>, which must outlive it.</summary>
    public Value Constant(Tensor data, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        return new Value(this, Claim(name ?? Fresh("const")), new TensorType(data.DType, data.Shape), ValueKind.Constant, null, 0, data);
    }

    /// <summary>A 0-d constant of <paramref name="dtype"/>.</summary>
    public Value Scalar(double value, DType dtype = DType.F32)
    {
        using Tensor f64 = Tensor.Scalar(value);
        Tensor data = f64.Cast(dtype).MoveToOuterScope();
        return Constant(data);
    }

    /// <summary>Marks values the compiled graph returns.</summary>
    public void MarkOutput(params Value[] values)
    {
        foreach (Value value in values)
        {
            RequireOwn(value);
            _outputs.Add(value);
        }
    }

    /// <summary>Forgets the outputs (passes and autodiff re-mark what they need).</summary>
    public void ClearOutputs() => _outputs.Clear();

    /// <summary>
    /// Adds a node applying the registered op <paramref name="op"/>; returns its outputs.
    /// </summary>
    /// <exception cref="GraphValidationException">Unknown op or attribute, wrong input count, or a type or shape mismatch; the message names the node.</exception>
    public Value[] Apply(string op, Value[] inputs, IReadOnlyDictionary<string, object>? attributes = null, string? name = null) =>
        Apply(OpRegistry.Get(op), inputs, attributes, name);

    /// <summary>Adds a node applying <paramref name="op"/>; returns its outputs.</summary>
    public Value[] Apply(OpDef op, Value[] inputs, IReadOnlyDictionary<string, object>? attributes = null, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(op);
        string nodeName = name ?? Fresh(op.Name);
        if (name is not null && _names.Contains(name))
        {
            throw new GraphValidationException($"node '{name}' ({op.Name}): the name is already used in this graph.", name);
        }

        foreach (Value input in inputs)
        {
            if (!ReferenceEquals(input.Graph, this))
            {
                throw new GraphValidationException($"node '{nodeName}' ({op.Name}): input '{input.Name}' belongs to another graph.", nodeName);
            }
        }

        IReadOnlyDictionary<string, object> validated = op.ValidateAttributes(nodeName, attributes);
        if (op.DefinitionFor(inputs, validated) is { } definition) return Apply(definition, inputs, attributes, name);
        var node = new Node(nodeName, op, inputs, validated);
        if (op is CompositeOp composite)
        {
            if (inputs.Length < op.MinInputs || inputs.Length > op.MaxInputs)
            {
                throw new GraphValidationException($"{node}: takes {op.InputCountText} inputs but got {inputs.Length}", nodeName);
            }

            return composite.Expand(this, inputs, node.Attributes, new InferContext(node, inputs.Select(v => v.Type).ToArray()));
        }

        TensorType[] types = op.InferTypes(node, inputs.Select(v => v.Type).ToArray());
        _names.Add(nodeName);
        var outputs = new Value[types.Length];
        for (int i = 0; i < types.Length; i++)
        {
            string valueName = types.Length == 1 ? nodeName : $"{nodeName}:{i}";
            _names.Add(valueName);
            outputs[i] = new Value(this, valueName, types[i], ValueKind.Intermediate, node, i, null);
        }

        node.Outputs = outputs;
        _nodes.Add(node);
        return outputs;
    }

    /// <summary>Re-runs type inference over every node in order; throws naming the first bad node.</summary>
    public void Validate()
    {
        foreach (Node node in _nodes)
        {
            TensorType[] types = node.Op.InferTypes(node, node.Inputs.Select(v => v.Type).ToArray());
            for (int i = 0; i < types.Length; i++)
            {
                if (!types[i].Equals(node.Outputs[i].Type))
                {
                    throw new GraphValidationException($"{node}: output {i} is {node.Outputs[i].Type} but its inputs now give {types[i]}.", node.Name);
                }
            }
        }
    }

    /// <summary>Every node that reads <paramref name="value"/>.</summary>
    public IEnumerable<Node> Consumers(Value value) => _nodes.Where(n => Array.IndexOf(n.Inputs, value) >= 0);

    /// <summary>Makes every reader of <paramref name="old"/> (nodes and outputs) read <paramref name="replacement"/>.</summary>
    public void ReplaceAllUses(Value old, Value replacement)
    {
        foreach (Node node in _nodes)
        {
            for (int i = 0; i < node.Inputs.Length; i++)
            {
                if (ReferenceEquals(node.Inputs[i], old))
                {
                    node.Inputs[i] = replacement;
                }
            }
        }

        for (int i = 0; i < _outputs.Count; i++)
        {
            if (ReferenceEquals(_outputs[i], old))
            {
                _outputs[i] = replacement;
            }
        }
    }

    /// <summary>Removes nodes (passes use it); the caller keeps the graph consistent.</summary>
    internal void RemoveNodes(IReadOnlySet<Node> nodes) => _nodes.RemoveAll(nodes.Contains);

    /// <summary>Puts the nodes in a topological order that keeps the current order where it can.</summary>
    internal void SortTopologically()
    {
        var placed = new HashSet<Node>();
        var order = new List<Node>(_nodes.Count);
        var visiting = new HashSet<Node>();
        void Visit(Node node)
        {
            if (placed.Contains(node)) return;
            if (!visiting.Add(node)) throw new GraphValidationException($"{node}: the graph has a cycle through it.", node.Name);
            foreach (Value input in node.Inputs)
            {
                if (input.Producer is { } producer) Visit(producer);
            }

            visiting.Remove(node);
            placed.Add(node);
            order.Add(node);
        }

        foreach (Node node in _nodes) Visit(node);
        _nodes.Clear();
        _nodes.AddRange(order);
    }

    /// <summary>Whether a value or node of this graph is already named <paramref name="name"/>.</summary>
    internal bool IsNameTaken(string name) => _names.Contains(name);

    /// <summary>A fresh unique name with the given prefix.</summary>
    internal string Fresh(string prefix)
    {
        string name;
        do
        {
            name = string.Create(CultureInfo.InvariantCulture, $"{prefix}_{_counter++}");
        }
        while (_names.Contains(name));

        return name;
    }

    private string Claim(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (!_names.Add(name))
        {
            throw new GraphValidationException($"The name '{name}' is already used in this graph.");
        }

        return name;
    }

    private void RequireOwn(Value value)
    {
        if (!ReferenceEquals(value.Graph, this))
        {
            throw new GraphValidationException($"Value '{value.Name}' belongs to another graph.");
        }
    }
}

using System.Runtime.CompilerServices;
using Myelin.Graphs;

namespace Myelin.NN;

/// <summary>
/// A building block of a model: named parameters (trained), buffers (state such as batch-norm running statistics,
/// not trained), child modules, and a train/eval mode. A module owns its tensors and disposes them with itself.
/// Modules build graph fragments (see <see cref="Layer.Forward"/>), so one model serves training, inference and export;
/// a parameter appears in a graph as one <see cref="ValueKind.Parameter"/> value named by its path ("encoder.fc1.weight"),
/// or by a fresh name derived from it ("weight_3") when another module's value already took that name in the graph.
/// </summary>
public abstract class Module : IDisposable
{
    // Per graph, the value standing for each parameter or buffer tensor, so a module applied twice shares weights.
    private static readonly ConditionalWeakTable<Graph, Dictionary<Tensor, Value>> s_graphValues = [];

    private readonly List<(string Name, Module Module)> _children = [];
    private readonly List<(string Name, Tensor Tensor)> _parameters = [];
    private readonly List<(string Name, Tensor Tensor)> _buffers = [];
    private bool _disposed;

    /// <summary>The dotted path from the root module ("" for the root itself).</summary>
    public string Path { get; private set; } = "";

    /// <summary>Whether the module is in training mode (dropout active, batch norm on batch statistics). New modules train.</summary>
    public bool IsTraining { get; private set; } = true;

    /// <summary>The direct children, in registration order.</summary>
    public IEnumerable<(string Name, Module Module)> Children => _children;

    /// <summary>Such as <c>Linear 'encoder.fc1'</c>: how messages name the module.</summary>
    public string DisplayName => Path.Length == 0 ? GetType().Name : $"{GetType().Name} '{Path}'";

    /// <summary>Sets training (<paramref name="training"/> true) or evaluation mode here and in every descendant.</summary>
    public Module Train(bool training = true)
    {
        IsTraining = training;
        foreach ((_, Module child) in _children) child.Train(training);
        return this;
    }

    /// <summary>Evaluation mode: <c>Train(false)</c>.</summary>
    public Module Eval() => Train(false);

    /// <summary>Every parameter of this module and its descendants, by path.</summary>
    public IEnumerable<(string Path, Tensor Tensor)> NamedParameters() => Walk(m => m._parameters);

    /// <summary>Every buffer of this module and its descendants, by path.</summary>
    public IEnumerable<(string Path, Tensor Tensor)> NamedBuffers() => Walk(m => m._buffers);

    /// <summary>This module and every descendant, depth first, by path.</summary>
    public IEnumerable<Module> Modules()
    {
        yield return this;
        foreach ((_, Module child) in _children)
        {
            foreach (Module m in child.Modules()) yield return m;
        }
    }

    /// <summary>The number of trainable scalars.</summary>
    public long ParameterCount => NamedParameters().Sum(p => p.Tensor.ElementCount);

    /// <summary>The graph values of this module's parameters (and its descendants') in <paramref name="graph"/>, for an optimizer.</summary>
    public IReadOnlyList<Value> ParametersIn(Graph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        return NamedParameters().Select(p => ValueOf(graph, p.Path, p.Tensor)).ToList();
    }

    /// <summary>Registers <paramref name="child"/> under <paramref name="name"/>; the module then owns it.</summary>
    protected T AddModule<T>(string name, T child)
        where T : Module
    {
        ArgumentNullException.ThrowIfNull(child);
        CheckName(name);
        if (child.Path.Length != 0 || ReferenceEquals(child, this) || child.Modules().Contains(this))
        {
            throw new ArgumentException($"{DisplayName}: {child.DisplayName} already belongs to a model; a module has one parent.", nameof(child));
        }

        _children.Add((name, child));
        child.Reparent(Qualify(name));
        child.Train(IsTraining);
        return child;
    }

    /// <summary>Registers a trainable tensor; the module takes ownership of <paramref name="data"/>.</summary>
    protected Tensor AddParameter(string name, Tensor data) => AddTensor(_parameters, name, data);

    /// <summary>Registers a state tensor that is saved and loaded but not trained; the module takes ownership.</summary>
    protected Tensor AddBuffer(string name, Tensor data) => AddTensor(_buffers, name, data);

    /// <summary>The value standing for this module's parameter or buffer <paramref name="tensor"/> in <paramref name="graph"/>, created on first use.</summary>
    protected Value Use(Graph graph, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(graph);
        string local = _parameters.Concat(_buffers).FirstOrDefault(p => ReferenceEquals(p.Tensor, tensor)).Name
            ?? throw new ArgumentException($"{DisplayName}: the tensor is not one of its parameters or buffers.", nameof(tensor));
        return ValueOf(graph, Qualify(local), tensor);
    }

    /// <summary>A fresh node name in <paramref name="graph"/> under this module's path, such as "encoder.fc1.matmul".</summary>
    protected string NodeName(Graph graph, string what)
    {
        ArgumentNullException.ThrowIfNull(graph);
        return graph.Fresh(Path.Length == 0 ? what : $"{Path}.{what}");
    }

    /// <summary>Disposes the module's tensors and its children.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases owned tensors and children.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (_disposed || !disposing) return;
        _disposed = true;
        foreach ((_, Tensor t) in _parameters.Concat(_buffers)) t.Dispose();
        foreach ((_, Module child) in _children) child.Dispose();
    }

    private static Value ValueOf(Graph graph, string path, Tensor tensor)
    {
        Dictionary<Tensor, Value> values = s_graphValues.GetOrCreateValue(graph);
        if (!values.TryGetValue(tensor, out Value? value))
        {
            // Two root modules in one graph can share a path ("weight"): the first keeps it, later ones get a fresh name.
            value = graph.Parameter(graph.IsNameTaken(path) ? graph.Fresh(path) : path, tensor);
            values[tensor] = value;
        }

        return value;
    }

    private Tensor AddTensor(List<(string Name, Tensor Tensor)> list, string name, Tensor data)
    {
        ArgumentNullException.ThrowIfNull(data);
        CheckName(name);
        data = data.MoveToOuterScope();
        list.Add((name, data));
        return data;
    }

    private void CheckName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.', StringComparison.Ordinal))
        {
            throw new ArgumentException($"{DisplayName}: '{name}' is not a valid member name (non-empty, no dots).", nameof(name));
        }

        if (_children.Any(c => c.Name == name) || _parameters.Any(p => p.Name == name) || _buffers.Any(b => b.Name == name))
        {
            throw new ArgumentException($"{DisplayName}: the name '{name}' is already taken.", nameof(name));
        }
    }

    private string Qualify(string name) => Path.Length == 0 ? name : $"{Path}.{name}";

    private void Reparent(string path)
    {
        Path = path;
        foreach ((string name, Module child) in _children) child.Reparent(Qualify(name));
    }

    private IEnumerable<(string Path, Tensor Tensor)> Walk(Func<Module, List<(string Name, Tensor Tensor)>> select)
    {
        foreach (Module m in Modules())
        {
            foreach ((string name, Tensor t) in select(m)) yield return (m.Qualify(name), t);
        }
    }
}

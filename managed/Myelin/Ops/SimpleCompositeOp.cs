using Myelin.Graphs;

namespace Myelin.Ops;

/// <summary>
/// A composite described by its name, first opset, input counts and flags, so that each op states only its
/// expansion (and attributes); <see cref="Build"/> receives the arguments already checked for null.
/// </summary>
/// <param name="name">The ONNX op type.</param>
/// <param name="since">The first opset the definition serves.</param>
/// <param name="minInputs">The inputs every node must give.</param>
/// <param name="maxInputs">The most inputs a node may give; <paramref name="minInputs"/> when absent.</param>
/// <param name="differentiable">Whether autodiff may differentiate the expansion.</param>
/// <param name="takesOmittedInputs">Whether optional inputs may be omitted (empty names) before given ones.</param>
public abstract class SimpleCompositeOp(string name, int since, int minInputs, int? maxInputs = null, bool differentiable = true, bool takesOmittedInputs = false)
    : CompositeOp
{
    /// <inheritdoc/>
    public override string Name => name;

    /// <inheritdoc/>
    public override int SinceVersion => since;

    /// <inheritdoc/>
    public override int MinInputs => minInputs;

    /// <inheritdoc/>
    public override int MaxInputs => maxInputs ?? minInputs;

    /// <inheritdoc/>
    public override bool TakesOmittedInputs => takesOmittedInputs;

    /// <inheritdoc/>
    public override bool IsDifferentiable => differentiable;

    /// <inheritdoc/>
    public sealed override Value[] Expand(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(attributes);
        ArgumentNullException.ThrowIfNull(context);
        return Build(graph, inputs, attributes, context);
    }

    /// <summary>Adds the expansion, as <see cref="Expand"/> does, for arguments known not to be null.</summary>
    protected abstract Value[] Build(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context);
}

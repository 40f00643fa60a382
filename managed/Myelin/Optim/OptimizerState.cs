namespace Myelin.Optim;

/// <summary>
/// An optimizer's state as plain named entries, for checkpoints: state tensors by "{parameter path}.{state name}"
/// (PyTorch's names, such as exp_avg) and scalars (step counters, group settings). Owns its tensors.
/// </summary>
public sealed class OptimizerState : IDisposable
{
    /// <summary>The state tensors (copies, owned by this object).</summary>
    public Dictionary<string, Tensor> Tensors { get; } = [];

    /// <summary>Step counters ("{parameter}.step") and group settings ("groups.{i}.{setting}").</summary>
    public Dictionary<string, double> Scalars { get; } = [];

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (Tensor tensor in Tensors.Values) tensor.Dispose();
        Tensors.Clear();
    }
}

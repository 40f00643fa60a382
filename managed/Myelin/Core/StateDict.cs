namespace Myelin;

/// <summary>
/// The restorable state of a training component (optimizer, schedule, callback) as named entries: tensors (copies,
/// owned by this object) and scalars. Checkpoints store one per component (see <see cref="Training.TrainingCheckpoint"/>).
/// </summary>
public sealed class StateDict : IDisposable
{
    /// <summary>The state tensors (copies, owned by this object).</summary>
    public Dictionary<string, Tensor> Tensors { get; } = [];

    /// <summary>The scalar entries (counters, settings, best values).</summary>
    public Dictionary<string, double> Scalars { get; } = [];

    /// <summary>Whether the state has no entries.</summary>
    public bool IsEmpty => Tensors.Count == 0 && Scalars.Count == 0;

    /// <summary>The scalar <paramref name="key"/>; <paramref name="owner"/> names the component in the message when it is missing.</summary>
    /// <exception cref="KeyNotFoundException">The state has no such scalar.</exception>
    public double Scalar(string key, string owner) => Scalars.TryGetValue(key, out double value) ? value
        : throw new KeyNotFoundException($"{owner}: the saved state has no entry '{key}'.");

    /// <summary>The tensor <paramref name="key"/>; <paramref name="owner"/> names the component in the message when it is missing.</summary>
    /// <exception cref="KeyNotFoundException">The state has no such tensor.</exception>
    public Tensor Tensor(string key, string owner) => Tensors.TryGetValue(key, out Tensor? value) ? value
        : throw new KeyNotFoundException($"{owner}: the saved state has no entry '{key}'.");

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (Tensor tensor in Tensors.Values) tensor.Dispose();
        Tensors.Clear();
    }
}

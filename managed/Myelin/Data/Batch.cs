namespace Myelin.Data;

/// <summary>One mini-batch: inputs and targets with the batch on axis 0. The batch owns its tensors.</summary>
/// <param name="Inputs">Model inputs, batch first.</param>
/// <param name="Targets">Targets, batch first.</param>
public sealed record Batch(Tensor Inputs, Tensor Targets) : IDisposable
{
    /// <summary>The number of samples (the inputs' first dimension).</summary>
    public long Size => Inputs.Shape[0];

    /// <summary>Disposes both tensors.</summary>
    public void Dispose()
    {
        Inputs.Dispose();
        Targets.Dispose();
    }
}

/// <summary>
/// A source of mini-batches that can be enumerated once per epoch (a data loader). Training loops consume it and
/// dispose each batch after use.
/// </summary>
public interface IBatchSource
{
    /// <summary>The number of samples one epoch yields.</summary>
    long SampleCount { get; }

    /// <summary>The batches of one epoch, for the 0-based <paramref name="epoch"/> (shuffling may depend on it).</summary>
    IEnumerable<Batch> Epoch(int epoch);
}

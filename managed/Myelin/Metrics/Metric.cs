namespace Myelin.Metrics;

/// <summary>
/// A streaming evaluation metric: <see cref="Update(Tensor, Tensor)"/> once per batch, then <see cref="Result"/> over
/// every batch since construction or <see cref="Reset"/>. Metrics are host-side code: tensors are copied to the host.
/// Bad input throws an <see cref="ArgumentException"/> naming the metric and the values at fault.
/// </summary>
/// <typeparam name="TResult">What <see cref="Result"/> gives.</typeparam>
public abstract class Metric<TResult>
{
    /// <summary>How messages name the metric: its type name.</summary>
    public string DisplayName => GetType().Name;

    /// <summary>Adds one batch of predictions and their targets.</summary>
    public abstract void Update(Tensor predictions, Tensor targets);

    /// <summary>The metric over every batch added since construction or the last <see cref="Reset"/>.</summary>
    public abstract TResult Result { get; }

    /// <summary>Forgets every batch.</summary>
    public abstract void Reset();

    /// <summary>A host copy of a floating-point tensor's elements as doubles.</summary>
    private protected double[] Values(Tensor tensor, string what)
    {
        ArgumentNullException.ThrowIfNull(tensor, what);
        if (!tensor.DType.IsFloatingPoint()) throw new ArgumentException($"{DisplayName}: {what} are {tensor.DType.ShortName()}; they must be floating point.", what);
        using Tensor f64 = tensor.Cast(DType.F64);
        return f64.ToArray<double>();
    }

    /// <summary>A host copy of an integer or bool tensor's elements as labels.</summary>
    private protected long[] Labels(Tensor tensor, string what)
    {
        ArgumentNullException.ThrowIfNull(tensor, what);
        if (tensor.DType.IsFloatingPoint()) throw new ArgumentException($"{DisplayName}: {what} are {tensor.DType.ShortName()}; labels must be integers or bool.", what);
        using Tensor i64 = tensor.Cast(DType.I64);
        return i64.ToArray<long>();
    }

    /// <summary>Throws unless there are as many predictions as targets.</summary>
    private protected void RequireSameCount(int predictions, int targets)
    {
        if (predictions != targets) throw new ArgumentException($"{DisplayName}: {predictions} predictions but {targets} targets.");
    }

    /// <summary>Throws unless every label lies in [0, <paramref name="classes"/>).</summary>
    private protected void RequireInRange(ReadOnlySpan<long> labels, long classes, string what)
    {
        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i] < 0 || labels[i] >= classes) throw new ArgumentException($"{DisplayName}: {what} label {labels[i]} at index {i} is outside [0, {classes}).", what);
        }
    }

    /// <summary>Throws when nothing has been added yet.</summary>
    private protected void RequireSamples(long count)
    {
        if (count == 0) throw new InvalidOperationException($"{DisplayName}: no samples yet; call Update first.");
    }
}

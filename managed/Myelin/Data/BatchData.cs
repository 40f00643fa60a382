namespace Myelin.Data;

/// <summary>
/// One batch in host memory while transforms work on it, before it becomes a <see cref="Batch"/> of tensors.
/// Transforms may replace the arrays and shapes (one-hot turns labels into float targets, for example).
/// </summary>
public sealed class BatchData
{
    /// <summary>Creates a batch of <paramref name="count"/> samples.</summary>
    public BatchData(int count, float[] inputs, long[] sampleShape, long[]? labels, float[]? targetValues, long[] targetShape)
    {
        Count = count;
        Inputs = inputs;
        SampleShape = sampleShape;
        Labels = labels;
        TargetValues = targetValues;
        TargetShape = targetShape;
    }

    /// <summary>The number of samples.</summary>
    public int Count { get; }

    /// <summary>The inputs, sample after sample, row-major.</summary>
    public float[] Inputs { get; set; }

    /// <summary>The shape of one sample's inputs.</summary>
    public long[] SampleShape { get; set; }

    /// <summary>Class labels, one per sample, or null when the targets are float values.</summary>
    public long[]? Labels { get; set; }

    /// <summary>Float targets, sample after sample, or null when the targets are class labels.</summary>
    public float[]? TargetValues { get; set; }

    /// <summary>The shape of one sample's float target (empty for labels).</summary>
    public long[] TargetShape { get; set; }

    /// <summary>The number of input values per sample.</summary>
    public int SampleSize => checked((int)SampleShape.Aggregate(1L, (a, b) => a * b));

    /// <summary>Copies the data into a batch of new CPU tensors (inputs f32 [B, ...]; targets i64 [B] or f32 [B, ...]).</summary>
    public Batch ToBatch()
    {
        Tensor inputs = Tensor.FromArray(Inputs, new Shape([Count, .. SampleShape]));
        try
        {
            Tensor targets = Labels is not null
                ? Tensor.FromArray(Labels, new Shape(Count))
                : Tensor.FromArray(TargetValues ?? throw new InvalidOperationException("The batch has neither labels nor target values."),
                    new Shape([Count, .. TargetShape]));
            return new Batch(inputs, targets);
        }
        catch
        {
            inputs.Dispose();
            throw;
        }
    }
}

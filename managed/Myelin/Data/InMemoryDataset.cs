namespace Myelin.Data;

/// <summary>
/// Samples held in host memory: float features of one shape per sample, and targets that are either class labels
/// (one 64-bit integer per sample) or float values (one shape per sample). Immutable; subsets copy.
/// </summary>
public sealed class InMemoryDataset
{
    private readonly float[] _features;
    private readonly long[] _sampleShape;
    private readonly long[]? _labels;
    private readonly float[]? _values;
    private readonly long[] _targetShape;

    private InMemoryDataset(float[] features, long[] sampleShape, long[]? labels, float[]? values, long[] targetShape, int count)
    {
        _features = features;
        _sampleShape = sampleShape;
        _labels = labels;
        _values = values;
        _targetShape = targetShape;
        Count = count;
        SampleSize = checked((int)ElementCount(sampleShape));
        TargetSize = checked((int)ElementCount(targetShape));
    }

    /// <summary>The number of samples.</summary>
    public int Count { get; }

    /// <summary>The shape of one sample's features (without the sample axis).</summary>
    public IReadOnlyList<long> SampleShape => _sampleShape;

    /// <summary>The number of feature values per sample.</summary>
    public int SampleSize { get; }

    /// <summary>Whether the targets are class labels (else float values).</summary>
    public bool HasClassLabels => _labels is not null;

    /// <summary>The shape of one sample's target: empty for class labels.</summary>
    public IReadOnlyList<long> TargetShape => _targetShape;

    /// <summary>The number of target values per sample (1 for class labels).</summary>
    public int TargetSize { get; }

    /// <summary>All features, sample after sample, row-major.</summary>
    public ReadOnlySpan<float> Features => _features;

    /// <summary>The class label of every sample.</summary>
    /// <exception cref="InvalidOperationException">The targets are float values.</exception>
    public ReadOnlySpan<long> Labels => _labels ?? throw new InvalidOperationException(
        "This dataset's targets are float values, not class labels; build it with FromLabels for classification.");

    /// <summary>All float targets, sample after sample.</summary>
    /// <exception cref="InvalidOperationException">The targets are class labels.</exception>
    public ReadOnlySpan<float> TargetValues => _values ?? throw new InvalidOperationException(
        "This dataset's targets are class labels, not float values.");

    /// <summary>The number of classes, one more than the largest label.</summary>
    /// <exception cref="InvalidOperationException">The targets are float values.</exception>
    public int ClassCount
    {
        get
        {
            ReadOnlySpan<long> labels = Labels;
            long max = -1;
            foreach (long label in labels)
            {
                max = Math.Max(max, label);
            }

            return checked((int)(max + 1));
        }
    }

    /// <summary>A classification dataset: <paramref name="features"/> holds <c>labels.Length</c> samples of <paramref name="sampleShape"/>.</summary>
    /// <exception cref="ArgumentException">The sizes disagree, or a label is negative.</exception>
    public static InMemoryDataset FromLabels(ReadOnlySpan<float> features, ReadOnlySpan<long> sampleShape, ReadOnlySpan<long> labels)
    {
        long[] shape = CheckShape(sampleShape, nameof(sampleShape));
        CheckFeatureLength(features.Length, shape, labels.Length);
        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i] < 0)
            {
                throw new ArgumentException($"Class labels must be non-negative but sample {i} has label {labels[i]}.", nameof(labels));
            }
        }

        return new InMemoryDataset(features.ToArray(), shape, labels.ToArray(), null, [], labels.Length);
    }

    /// <summary>
    /// A regression dataset: <paramref name="count"/> samples of <paramref name="sampleShape"/> features and
    /// <paramref name="targetShape"/> float targets each.
    /// </summary>
    /// <exception cref="ArgumentException">The sizes disagree.</exception>
    public static InMemoryDataset FromValues(ReadOnlySpan<float> features, ReadOnlySpan<long> sampleShape,
        ReadOnlySpan<float> targets, ReadOnlySpan<long> targetShape, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        long[] shape = CheckShape(sampleShape, nameof(sampleShape));
        long[] tShape = CheckShape(targetShape, nameof(targetShape));
        CheckFeatureLength(features.Length, shape, count);
        if (targets.Length != ElementCount(tShape) * count)
        {
            throw new ArgumentException(
                $"{count} samples of target shape {Shape.Create(tShape)} need {ElementCount(tShape) * count} values but targets has {targets.Length}.",
                nameof(targets));
        }

        return new InMemoryDataset(features.ToArray(), shape, null, targets.ToArray(), tShape, count);
    }

    /// <summary>
    /// A dataset from tensors with the samples on axis 0: f32 <paramref name="features"/> [N, ...], and
    /// <paramref name="targets"/> either i64 [N] (class labels) or f32 [N, ...] (values). The data are copied.
    /// </summary>
    /// <exception cref="ArgumentException">A dtype is not supported or the sample counts differ.</exception>
    public static InMemoryDataset FromTensors(Tensor features, Tensor targets)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(targets);
        if (features.DType != DType.F32 || features.Rank < 1)
        {
            throw new ArgumentException($"Features must be an f32 tensor with the samples on axis 0, but {features.DisplayName} is not.", nameof(features));
        }

        if (targets.Rank < 1 || targets.Shape[0] != features.Shape[0])
        {
            throw new ArgumentException(
                $"Targets {targets.DisplayName} must have the samples on axis 0, as many as features {features.DisplayName} ({features.Shape[0]}).",
                nameof(targets));
        }

        long[] sampleShape = features.Shape.Dimensions[1..].ToArray();
        int count = checked((int)features.Shape[0]);
        if (targets.DType == DType.I64 && targets.Rank == 1)
        {
            return FromLabels(features.ToArray<float>(), sampleShape, targets.ToArray<long>());
        }

        if (targets.DType == DType.F32)
        {
            return FromValues(features.ToArray<float>(), sampleShape, targets.ToArray<float>(), targets.Shape.Dimensions[1..], count);
        }

        throw new ArgumentException($"Targets must be i64 [N] class labels or f32 [N, ...] values, but {targets.DisplayName} is neither.", nameof(targets));
    }

    /// <summary>The samples at <paramref name="indices"/>, in that order (copies).</summary>
    /// <exception cref="ArgumentOutOfRangeException">An index lies outside [0, Count).</exception>
    public InMemoryDataset Subset(ReadOnlySpan<int> indices)
    {
        var features = new float[(long)indices.Length * SampleSize];
        GatherFeatures(indices, features);
        if (_labels is not null)
        {
            var labels = new long[indices.Length];
            GatherLabels(indices, labels);
            return new InMemoryDataset(features, _sampleShape, labels, null, _targetShape, indices.Length);
        }

        var values = new float[(long)indices.Length * TargetSize];
        GatherTargetValues(indices, values);
        return new InMemoryDataset(features, _sampleShape, null, values, _targetShape, indices.Length);
    }

    /// <summary>The same samples and targets with features viewed as <paramref name="sampleShape"/> (such as [784] for [1, 28, 28]).</summary>
    /// <exception cref="ArgumentException">The new shape holds a different number of values.</exception>
    public InMemoryDataset Reshape(ReadOnlySpan<long> sampleShape)
    {
        long[] shape = CheckShape(sampleShape, nameof(sampleShape));
        if (ElementCount(shape) != SampleSize)
        {
            throw new ArgumentException(
                $"Sample shape {Shape.Create(shape)} holds {ElementCount(shape)} values but the samples have {SampleSize} ({Shape.Create(_sampleShape)}).",
                nameof(sampleShape));
        }

        return new InMemoryDataset(_features, shape, _labels, _values, _targetShape, Count);
    }

    /// <summary>The same targets with new features of the same shape (used by fitted transforms).</summary>
    internal InMemoryDataset WithFeatures(float[] features) =>
        new(features, _sampleShape, _labels, _values, _targetShape, Count);

    /// <summary>Copies the features of the samples at <paramref name="indices"/> into <paramref name="destination"/>.</summary>
    internal void GatherFeatures(ReadOnlySpan<int> indices, Span<float> destination)
    {
        for (int i = 0; i < indices.Length; i++)
        {
            int index = CheckIndex(indices[i]);
            _features.AsSpan((int)((long)index * SampleSize), SampleSize).CopyTo(destination.Slice(i * SampleSize, SampleSize));
        }
    }

    /// <summary>Copies the labels of the samples at <paramref name="indices"/> into <paramref name="destination"/>.</summary>
    internal void GatherLabels(ReadOnlySpan<int> indices, Span<long> destination)
    {
        ReadOnlySpan<long> labels = Labels;
        for (int i = 0; i < indices.Length; i++)
        {
            destination[i] = labels[CheckIndex(indices[i])];
        }
    }

    /// <summary>Copies the float targets of the samples at <paramref name="indices"/> into <paramref name="destination"/>.</summary>
    internal void GatherTargetValues(ReadOnlySpan<int> indices, Span<float> destination)
    {
        ReadOnlySpan<float> values = TargetValues;
        for (int i = 0; i < indices.Length; i++)
        {
            values.Slice(CheckIndex(indices[i]) * TargetSize, TargetSize).CopyTo(destination.Slice(i * TargetSize, TargetSize));
        }
    }

    private int CheckIndex(int index)
    {
        if ((uint)index >= (uint)Count)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"Sample index {index} is outside the dataset's {Count} samples.");
        }

        return index;
    }

    private static long[] CheckShape(ReadOnlySpan<long> shape, string argument)
    {
        foreach (long dim in shape)
        {
            if (dim < 0)
            {
                throw new ArgumentException($"Shape {Shape.Create(shape)} has a negative dimension.", argument);
            }
        }

        return shape.ToArray();
    }

    private static void CheckFeatureLength(int length, long[] sampleShape, int count)
    {
        long expected = ElementCount(sampleShape) * count;
        if (length != expected)
        {
            throw new ArgumentException(
                $"{count} samples of shape {Shape.Create(sampleShape)} need {expected} feature values but features has {length}.", "features");
        }
    }

    private static long ElementCount(ReadOnlySpan<long> shape)
    {
        long count = 1;
        foreach (long dim in shape)
        {
            count = checked(count * dim);
        }

        return count;
    }
}

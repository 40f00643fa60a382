namespace Myelin.Data;

/// <summary>
/// A change applied to every batch a <see cref="DataLoader"/> makes, on the host before the tensors are built.
/// Random transforms draw from the generator they are given, which the loader seeds per epoch and batch, so a
/// seeded loader gives the same batches on every run whatever the prefetch timing.
/// </summary>
public interface IBatchTransform
{
    /// <summary>Transforms <paramref name="batch"/> in place, drawing any randomness from <paramref name="random"/>.</summary>
    void Apply(BatchData batch, Generator random);
}

/// <summary>
/// Per-feature standardization, <c>(x - mean) / std</c>, with mean and population standard deviation fitted on
/// training data only (as scikit-learn's StandardScaler); a feature of zero spread keeps scale 1.
/// </summary>
public sealed class Standardize : FeatureScaler
{
    private Standardize(float[] mean, float[] scale)
        : base(mean, scale, low: 0, span: 1)
    {
    }

    /// <summary>The fitted mean of every feature.</summary>
    public IReadOnlyList<float> Mean => Shift;

    /// <summary>The fitted standard deviation of every feature (1 where the feature does not vary).</summary>
    public IReadOnlyList<float> Scale => Divisor;

    /// <summary>Fits the means and deviations on <paramref name="training"/> (never on validation or test data).</summary>
    /// <exception cref="ArgumentException">The dataset is empty.</exception>
    public static Standardize Fit(InMemoryDataset training)
    {
        ArgumentNullException.ThrowIfNull(training);
        RequireSamples(training, nameof(Standardize));
        int size = training.SampleSize;
        var sum = new double[size];
        ReadOnlySpan<float> features = training.Features;
        for (int s = 0; s < training.Count; s++)
        {
            for (int f = 0; f < size; f++)
            {
                sum[f] += features[s * size + f];
            }
        }

        var mean = new double[size];
        for (int f = 0; f < size; f++)
        {
            mean[f] = sum[f] / training.Count;
        }

        // Two passes: the squared deviations from the exact mean avoid the cancellation of E[x^2] - E[x]^2.
        var squares = new double[size];
        for (int s = 0; s < training.Count; s++)
        {
            for (int f = 0; f < size; f++)
            {
                double d = features[s * size + f] - mean[f];
                squares[f] += d * d;
            }
        }

        var scale = new float[size];
        for (int f = 0; f < size; f++)
        {
            double std = Math.Sqrt(squares[f] / training.Count);
            scale[f] = std > 0 ? (float)std : 1f;
        }

        return new Standardize(mean.Select(m => (float)m).ToArray(), scale);
    }

    /// <summary>
    /// Fits one mean and deviation per channel of image samples [C, H, W] on <paramref name="training"/>, over all of
    /// its samples and pixels (as torchvision's Normalize with dataset statistics), and holds them per feature. Images
    /// take this rather than <see cref="Fit"/>: a border pixel that is almost always 0 has a tiny deviation, and
    /// dividing by it turns a rare faint stroke there into an outlier of hundreds of deviations.
    /// </summary>
    /// <exception cref="ArgumentException">The dataset is empty or its samples are not [C, H, W].</exception>
    public static Standardize FitPerChannel(InMemoryDataset training)
    {
        ArgumentNullException.ThrowIfNull(training);
        RequireSamples(training, nameof(Standardize));
        if (training.SampleShape.Count != 3)
        {
            throw new ArgumentException($"Per-channel standardization needs image samples [C, H, W], but they are [{string.Join(", ", training.SampleShape)}].", nameof(training));
        }

        int channels = (int)training.SampleShape[0], size = training.SampleSize, plane = size / channels;
        ReadOnlySpan<float> features = training.Features;
        var mean = new float[size];
        var scale = new float[size];
        for (int c = 0; c < channels; c++)
        {
            // Two passes, in double, as Fit: the squared deviations from the exact mean avoid cancellation.
            double sum = 0;
            for (int s = 0; s < training.Count; s++)
            {
                foreach (float value in features.Slice(s * size + c * plane, plane)) sum += value;
            }

            double count = (double)training.Count * plane, channelMean = sum / count, squares = 0;
            for (int s = 0; s < training.Count; s++)
            {
                foreach (float value in features.Slice(s * size + c * plane, plane)) squares += (value - channelMean) * (value - channelMean);
            }

            double std = Math.Sqrt(squares / count);
            mean.AsSpan(c * plane, plane).Fill((float)channelMean);
            scale.AsSpan(c * plane, plane).Fill(std > 0 ? (float)std : 1f);
        }

        return new Standardize(mean, scale);
    }
}

/// <summary>
/// A fitted per-feature affine map, x' = low + (x - shift[f]) / divisor[f] * span, applied to datasets and batches:
/// what <see cref="Standardize"/> and <see cref="MinMax"/> share once their statistics are fitted.
/// </summary>
public abstract class FeatureScaler : IBatchTransform
{
    private readonly float[] _shift;
    private readonly float[] _divisor;
    private readonly float _low;
    private readonly float _span;

    private protected FeatureScaler(float[] shift, float[] divisor, float low, float span)
    {
        (_shift, _divisor, _low, _span) = (shift, divisor, low, span);
    }

    /// <summary>What each feature is shifted by.</summary>
    private protected IReadOnlyList<float> Shift => _shift;

    /// <summary>What each shifted feature is divided by.</summary>
    private protected IReadOnlyList<float> Divisor => _divisor;

    /// <summary>A copy of <paramref name="dataset"/> with scaled features.</summary>
    public InMemoryDataset Apply(InMemoryDataset dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        float[] features = dataset.Features.ToArray();
        Transform(features, dataset.SampleSize);
        return dataset.WithFeatures(features);
    }

    /// <inheritdoc/>
    public void Apply(BatchData batch, Generator random)
    {
        ArgumentNullException.ThrowIfNull(batch);
        Transform(batch.Inputs, batch.SampleSize);
    }

    private protected static void RequireSamples(InMemoryDataset training, string transform)
    {
        if (training.Count == 0)
        {
            throw new ArgumentException($"{transform} cannot be fitted on an empty dataset.", nameof(training));
        }
    }

    private void Transform(float[] features, int sampleSize)
    {
        if (sampleSize != _shift.Length)
        {
            throw new ArgumentException($"{GetType().Name} was fitted on samples of {_shift.Length} features but was given samples of {sampleSize}.");
        }

        for (int i = 0; i < features.Length; i++)
        {
            int f = i % sampleSize;
            features[i] = _low + (features[i] - _shift[f]) / _divisor[f] * _span;
        }
    }
}

/// <summary>
/// Per-feature min-max scaling to [<see cref="Low"/>, <see cref="High"/>] with the minimum and maximum fitted on
/// training data only (as scikit-learn's MinMaxScaler); a constant feature keeps a range of 1, so its training value maps to <see cref="Low"/>.
/// </summary>
public sealed class MinMax : FeatureScaler
{
    private MinMax(float[] min, float[] range, float low, float high)
        : base(min, range, low, high - low)
    {
        Low = low;
        High = high;
    }

    /// <summary>The value the fitted minimum maps to.</summary>
    public float Low { get; }

    /// <summary>The value the fitted maximum maps to.</summary>
    public float High { get; }

    /// <summary>The fitted minimum of every feature.</summary>
    public IReadOnlyList<float> Minimum => Shift;

    /// <summary>Fits the per-feature minimum and maximum on <paramref name="training"/>.</summary>
    /// <exception cref="ArgumentException">The dataset is empty, or <paramref name="low"/> is not below <paramref name="high"/>.</exception>
    public static MinMax Fit(InMemoryDataset training, float low = 0, float high = 1)
    {
        ArgumentNullException.ThrowIfNull(training);
        RequireSamples(training, nameof(MinMax));
        if (!(low < high))
        {
            throw new ArgumentException($"MinMax needs low < high but got low {low}, high {high}.", nameof(low));
        }

        int size = training.SampleSize;
        var min = Enumerable.Repeat(float.PositiveInfinity, size).ToArray();
        var max = Enumerable.Repeat(float.NegativeInfinity, size).ToArray();
        ReadOnlySpan<float> features = training.Features;
        for (int i = 0; i < features.Length; i++)
        {
            int f = i % size;
            min[f] = Math.Min(min[f], features[i]);
            max[f] = Math.Max(max[f], features[i]);
        }

        var range = new float[size];
        for (int f = 0; f < size; f++)
        {
            range[f] = max[f] > min[f] ? max[f] - min[f] : 1f;
        }

        return new MinMax(min, range, low, high);
    }
}

/// <summary>Turns class-label targets into one-hot float targets [B, <see cref="ClassCount"/>].</summary>
public sealed class OneHot : IBatchTransform
{
    /// <summary>Creates the transform for <paramref name="classCount"/> classes.</summary>
    public OneHot(int classCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(classCount);
        ClassCount = classCount;
    }

    /// <summary>The number of classes (the one-hot length).</summary>
    public int ClassCount { get; }

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">The batch has no labels, or a label is outside [0, ClassCount).</exception>
    public void Apply(BatchData batch, Generator random)
    {
        ArgumentNullException.ThrowIfNull(batch);
        long[] labels = batch.Labels ?? throw new InvalidOperationException("OneHot needs class-label targets but the batch has float targets.");
        var values = new float[(long)labels.Length * ClassCount];
        for (int i = 0; i < labels.Length; i++)
        {
            if ((ulong)labels[i] >= (ulong)ClassCount)
            {
                throw new InvalidOperationException($"OneHot({ClassCount}) got label {labels[i]}, outside [0, {ClassCount}).");
            }

            values[i * ClassCount + labels[i]] = 1f;
        }

        batch.Labels = null;
        batch.TargetValues = values;
        batch.TargetShape = [ClassCount];
    }
}

/// <summary>Adds Gaussian noise of the given mean and standard deviation to every input value.</summary>
public sealed class GaussianNoise : IBatchTransform
{
    /// <summary>Creates the transform.</summary>
    public GaussianNoise(double standardDeviation, double mean = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(standardDeviation);
        StandardDeviation = standardDeviation;
        Mean = mean;
    }

    /// <summary>The noise's standard deviation.</summary>
    public double StandardDeviation { get; }

    /// <summary>The noise's mean.</summary>
    public double Mean { get; }

    /// <inheritdoc/>
    public void Apply(BatchData batch, Generator random)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(random);
        float[] inputs = batch.Inputs;
        for (int i = 0; i < inputs.Length; i++)
        {
            inputs[i] += (float)(Mean + StandardDeviation * random.NextNormal());
        }
    }
}

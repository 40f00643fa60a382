using Myelin.Data;
using Myelin.NN;

namespace Myelin.Tests.Training;

/// <summary>An in-memory batch source over row-major arrays, batched in order (no shuffling).</summary>
internal sealed class ArraySource<TTarget>(float[] inputs, long features, TTarget[] targets, long targetWidth, int batchSize) : IBatchSource
    where TTarget : unmanaged
{
    public long SampleCount => inputs.Length / features;

    public IEnumerable<Batch> Epoch(int epoch)
    {
        for (long start = 0; start < SampleCount; start += batchSize)
        {
            long count = Math.Min(batchSize, SampleCount - start);
            float[] x = inputs.AsSpan((int)(start * features), (int)(count * features)).ToArray();
            TTarget[] t = targets.AsSpan((int)(start * targetWidth), (int)(count * targetWidth)).ToArray();
            long[] targetShape = targetWidth == 1 && typeof(TTarget) == typeof(long) ? [count] : [count, targetWidth];
            yield return new Batch(Tensor.FromArray(x, count, features).MoveToOuterScope(), Tensor.FromArray(t, targetShape).MoveToOuterScope());
        }
    }
}

/// <summary>Tiny deterministic problems for the training tests.</summary>
internal static class TinyProblems
{
    /// <summary>Two Gaussian blobs in 2-D around (-1, -1) and (1, 1), labels 0 and 1, alternating.</summary>
    public static ArraySource<long> Blobs(int samples, int batchSize, ulong seed)
    {
        using Tensor noise = Tensor.RandN([samples, 2], generator: new Generator(seed));
        float[] x = noise.ToArray<float>();
        long[] labels = new long[samples];
        for (int i = 0; i < samples; i++)
        {
            labels[i] = i % 2;
            float centre = labels[i] == 0 ? -1.5f : 1.5f;
            x[2 * i] = x[2 * i] * 0.5f + centre;
            x[2 * i + 1] = x[2 * i + 1] * 0.5f + centre;
        }

        return new ArraySource<long>(x, 2, labels, 1, batchSize);
    }

    /// <summary>y = [x0 - 2 x1 + 0.5 x2, x0 x1] for uniform x, as a regression with 3 inputs and 2 outputs.</summary>
    public static ArraySource<float> Regression(int samples, int batchSize, ulong seed)
    {
        using Tensor uniform = Tensor.Rand([samples, 3], generator: new Generator(seed));
        float[] x = uniform.ToArray<float>();
        float[] y = new float[samples * 2];
        for (int i = 0; i < samples; i++)
        {
            y[2 * i] = x[3 * i] - 2 * x[3 * i + 1] + 0.5f * x[3 * i + 2];
            y[2 * i + 1] = x[3 * i] * x[3 * i + 1];
        }

        return new ArraySource<float>(x, 3, y, 2, batchSize);
    }

    public static Sequential Classifier(ulong seed)
    {
        var generator = new Generator(seed);
        return new Sequential(new Linear(2, 8, generator: generator), new ReLU(), new Linear(8, 2, generator: generator));
    }

    public static Sequential Regressor(ulong seed)
    {
        var generator = new Generator(seed);
        return new Sequential(new Linear(3, 6, generator: generator), new Tanh(), new Linear(6, 2, generator: generator));
    }
}

using Myelin.NN;
using Myelin.Optim;

namespace Myelin.Examples;

/// <summary>Settings of <see cref="BatchNormExample"/>.</summary>
public sealed record BatchNormOptions
{
    /// <summary>SGD steps for each network, each on a fresh minibatch.</summary>
    public int Steps { get; init; } = 500;

    /// <summary>Hidden layers of the MLP.</summary>
    public int Depth { get; init; } = 10;

    /// <summary>Units of each hidden layer.</summary>
    public int Width { get; init; } = 64;

    /// <summary>Samples per minibatch.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Seed of the data and the weight initialization.</summary>
    public ulong Seed { get; init; } = 6;
}

/// <summary>Both networks' mean squared errors on the whole training set (evaluation mode) before and after training.</summary>
public sealed record BatchNormResult(int Steps, int Depth, double InitialLoss, double PlainLoss, double BatchNormLoss) : IExampleResult
{
    /// <inheritdoc/>
    public IReadOnlyList<string> Describe() =>
    [
        $"A {Depth}-hidden-layer ReLU MLP after {Steps} SGD steps (training-set MSE; predicting the mean scores about {InitialLoss:F4}):",
        $"  without batch norm  {PlainLoss:F4}",
        $"  with batch norm     {BatchNormLoss:F4}",
    ];
}

/// <summary>
/// Batch normalization keeps every layer's pre-activations at zero mean and unit variance, so signals and gradients
/// keep their scale through a deep stack. Without it, PyTorch's default initialization shrinks a ReLU network's
/// activations layer by layer and the same optimizer barely moves the loss in the same number of steps.
/// </summary>
public static class BatchNormExample
{
    private const int Features = 16;
    private const int Samples = 1024;

    /// <summary>Trains the MLP with and without a BatchNorm1d after each hidden Linear and measures both losses.</summary>
    public static BatchNormResult Run(BatchNormOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ExampleData.RequirePositive("batchnorm", "steps", options.Steps);
        ExampleData.RequirePositive("batchnorm", "depth", options.Depth);
        ExampleData.RequirePositive("batchnorm", "width", options.Width);
        ExampleData.RequirePositive("batchnorm", "batch size", options.BatchSize);
        (float[] x, float[] y) = Teacher(new Generator(options.Seed));
        using Tensor allX = ExampleData.Matrix(x, Samples, Features);
        using Tensor allY = ExampleData.Matrix(y, Samples, 1);
        double mean = y.Average();
        double initial = y.Average(v => (v - mean) * (v - mean));

        double Train(bool batchNorm)
        {
            var generator = new Generator(options.Seed + 1);
            using var model = new Sequential();
            long previous = Features;
            for (int layer = 0; layer < options.Depth; layer++)
            {
                model.Add(new Linear(previous, options.Width, generator: generator));
                if (batchNorm) model.Add(new BatchNorm1d(options.Width));
                model.Add(new ReLU());
                previous = options.Width;
            }

            model.Add(new Linear(previous, 1, generator: generator));
            using var trainer = new SupervisedModel(model, new MseLoss(), new Sgd(learningRate: 0.02, momentum: 0.9), [Features], [1]);
            var order = new Generator(options.Seed + 2);
            float[] batchX = new float[options.BatchSize * Features], batchY = new float[options.BatchSize];
            for (int step = 0; step < options.Steps; step++)
            {
                for (int row = 0; row < options.BatchSize; row++)
                {
                    int sample = (int)(order.NextUInt32() % Samples);
                    Array.Copy(x, sample * Features, batchX, row * Features, Features);
                    batchY[row] = y[sample];
                }

                using Tensor bx = ExampleData.Matrix(batchX, options.BatchSize, Features);
                using Tensor by = ExampleData.Matrix(batchY, options.BatchSize, 1);
                trainer.Step(bx, by);
            }

            return trainer.Loss(allX, allY);
        }

        return new BatchNormResult(options.Steps, options.Depth, initial, Train(false), Train(true));
    }

    /// <summary>Gaussian inputs and a smooth nonlinear target of two random projections of them.</summary>
    private static (float[] X, float[] Y) Teacher(Generator generator)
    {
        float[] x = new float[Samples * Features], y = new float[Samples];
        generator.FillNormal(x);
        double[] a = new double[Features], b = new double[Features];
        generator.FillNormal(a, 0, 1 / Math.Sqrt(Features));
        generator.FillNormal(b, 0, 1 / Math.Sqrt(Features));
        for (int n = 0; n < Samples; n++)
        {
            double u = 0, v = 0;
            for (int f = 0; f < Features; f++)
            {
                u += a[f] * x[(n * Features) + f];
                v += b[f] * x[(n * Features) + f];
            }

            y[n] = (float)(Math.Sin(2 * u) + (u * v));
        }

        return (x, y);
    }
}

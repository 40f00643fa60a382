using Myelin.NN;
using Myelin.Optim;

namespace Myelin.Examples;

/// <summary>Settings of <see cref="ApproximationExample"/>.</summary>
public sealed record ApproximationOptions
{
    /// <summary>Full-batch Adam steps per width.</summary>
    public int Steps { get; init; } = 4000;

    /// <summary>The hidden widths compared, narrowest first.</summary>
    public IReadOnlyList<int> Widths { get; init; } = [4, 16, 64];

    /// <summary>Evenly spaced training points on [-pi, pi].</summary>
    public int TrainingPoints { get; init; } = 256;

    /// <summary>Initializations tried per width; the one with the lowest training loss counts.</summary>
    public int Restarts { get; init; } = 3;

    /// <summary>Seed of the first initialization; restart i uses Seed + i.</summary>
    public ulong Seed { get; init; } = 2;
}

/// <summary>One width's fit: the largest |network(x) - sin(x)| on a fine grid, and the training MSE.</summary>
public sealed record WidthError(int Width, double MaxError, double TrainingMse);

/// <summary>The fit of every width.</summary>
public sealed record ApproximationResult(int Steps, int Restarts, IReadOnlyList<WidthError> Widths) : IExampleResult
{
    /// <inheritdoc/>
    public IReadOnlyList<string> Describe() =>
    [
        $"sin(x) on [-pi, pi] by one hidden ReLU layer, {Steps} Adam steps, best of {Restarts} initializations by training MSE (max error on 1001 grid points):",
        .. Widths.Select(w => $"  width {w.Width,3}   max error {w.MaxError:F4}   training MSE {w.TrainingMse:E2}"),
    ];
}

/// <summary>
/// Universal approximation in practice: a ReLU network of one hidden layer is piecewise linear with at most one kink
/// per hidden unit, so more units follow the curve more closely and the worst-case error falls with the width.
/// A narrow network can lose units to ReLUs that never fire on the data, so each width is trained from a few
/// initializations and the one that fits the training points best is measured (the grid error plays no part in it).
/// </summary>
public static class ApproximationExample
{
    private const int GridPoints = 1001;

    /// <summary>Fits sin with each width and measures the maximum error on a grid finer than the training points.</summary>
    public static ApproximationResult Run(ApproximationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ExampleData.RequirePositive("approximation", "steps", options.Steps);
        ExampleData.RequirePositive("approximation", "training points", options.TrainingPoints);
        ExampleData.RequirePositive("approximation", "restarts", options.Restarts);
        (Tensor trainX, Tensor trainY) = SinePoints(options.TrainingPoints);
        (Tensor gridX, Tensor gridY) = SinePoints(GridPoints);
        using (trainX)
        using (trainY)
        using (gridX)
        using (gridY)
        {
            float[] truth = gridY.ToArray<float>();
            var errors = new List<WidthError>();
            foreach (int width in options.Widths)
            {
                ExampleData.RequirePositive("approximation", "width", width);
                WidthError best = Enumerable.Range(0, options.Restarts)
                    .Select(restart => Fit(width, options.Seed + (ulong)restart, options.Steps, trainX, trainY, gridX, gridY, truth))
                    .MinBy(fit => fit.TrainingMse)!;
                errors.Add(best);
            }

            return new ApproximationResult(options.Steps, options.Restarts, errors);
        }
    }

    private static WidthError Fit(int width, ulong seed, int steps, Tensor trainX, Tensor trainY, Tensor gridX, Tensor gridY, float[] truth)
    {
        var generator = new Generator(seed);
        using var model = new Sequential(new Linear(1, width, generator: generator), new ReLU(), new Linear(width, 1, generator: generator));
        using var trainer = new SupervisedModel(model, new MseLoss(), new Adam(learningRate: 0.01), [1], [1]);
        for (int i = 0; i < steps; i++) trainer.Step(trainX, trainY);
        (_, float[] predicted) = trainer.Evaluate(gridX, gridY);
        return new WidthError(width, ExampleData.MaxAbsoluteError(predicted, truth), trainer.Loss(trainX, trainY));
    }

    private static (Tensor X, Tensor Y) SinePoints(int count)
    {
        float[] x = Enumerable.Range(0, count).Select(i => (float)(-Math.PI + (2 * Math.PI * i / (count - 1)))).ToArray();
        return (ExampleData.Matrix(x, count, 1), ExampleData.Matrix(x.Select(v => MathF.Sin(v)).ToArray(), count, 1));
    }
}

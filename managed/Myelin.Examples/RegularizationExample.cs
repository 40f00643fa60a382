using Myelin.NN;
using Myelin.Optim;

namespace Myelin.Examples;

/// <summary>Settings of <see cref="RegularizationExample"/>.</summary>
public sealed record RegularizationOptions
{
    /// <summary>Full-batch Adam steps (the most early stopping may take).</summary>
    public int Steps { get; init; } = 3000;

    /// <summary>Noisy training points: few, so a wide MLP can memorize their noise.</summary>
    public int TrainingPoints { get; init; } = 32;

    /// <summary>Units of each of the two hidden layers.</summary>
    public int Hidden { get; init; } = 128;

    /// <summary>The L2 penalty of the weight-decay run.</summary>
    public double WeightDecay { get; init; } = 0.01;

    /// <summary>The drop probability after each hidden layer of the dropout run.</summary>
    public double DropoutP { get; init; } = 0.3;

    /// <summary>Steps between validation checks of the early-stopping run.</summary>
    public int ValidationInterval { get; init; } = 25;

    /// <summary>Checks without a new best validation loss before early stopping stops.</summary>
    public int Patience { get; init; } = 10;

    /// <summary>Seed of the data and the weight initialization.</summary>
    public ulong Seed { get; init; } = 5;
}

/// <summary>One run's final mean squared errors (evaluation mode) on the training and validation sets.</summary>
/// <param name="Method">"none", "l2", "dropout" or "early_stopping".</param>
/// <param name="TrainLoss">MSE on the training points.</param>
/// <param name="ValidationLoss">MSE on the validation points.</param>
/// <param name="StepsTaken">Optimizer steps of the weights the losses were measured on.</param>
public sealed record RegularizationRun(string Method, double TrainLoss, double ValidationLoss, int StepsTaken);

/// <summary>All runs, and the noise variance, the validation MSE of a perfect fit of the clean curve.</summary>
public sealed record RegularizationResult(int Steps, double NoiseVariance, IReadOnlyList<RegularizationRun> Runs) : IExampleResult
{
    /// <inheritdoc/>
    public IReadOnlyList<string> Describe() =>
    [
        $"Overfitting MLP on noisy sin(x), at most {Steps} Adam steps (MSE; the noise variance {NoiseVariance:F4} is the best validation MSE possible):",
        .. Runs.Select(r => $"  {r.Method,-15} train {r.TrainLoss:F4}   validation {r.ValidationLoss:F4}   after {r.StepsTaken} steps"),
    ];
}

/// <summary>
/// A two-hidden-layer MLP with far more parameters than training points fits their noise: its training loss falls
/// below the noise variance while its validation loss rises above it. L2 weight decay, dropout and early stopping
/// each trade some training fit for a lower validation loss. Early stopping trains the unregularized model, checks the
/// validation loss every few steps, and stops once it has not improved for a number of checks, keeping the weights
/// of the best check.
/// </summary>
public static class RegularizationExample
{
    private const double NoiseStandardDeviation = 0.3;
    private const int ValidationPoints = 500;

    /// <summary>Trains the four variants from the same initialization and measures their losses.</summary>
    public static RegularizationResult Run(RegularizationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ExampleData.RequirePositive("regularization", "steps", options.Steps);
        ExampleData.RequirePositive("regularization", "training points", options.TrainingPoints);
        ExampleData.RequirePositive("regularization", "hidden", options.Hidden);
        ExampleData.RequirePositive("regularization", "validation interval", options.ValidationInterval);
        ExampleData.RequirePositive("regularization", "patience", options.Patience);
        var data = new Generator(options.Seed);
        (Tensor trainX, Tensor trainY) = NoisySine(options.TrainingPoints, data);
        (Tensor validX, Tensor validY) = NoisySine(ValidationPoints, data);
        using (trainX)
        using (trainY)
        using (validX)
        using (validY)
        {
            RegularizationRun Train(string method, double dropout, double weightDecay, bool earlyStopping)
            {
                using Sequential model = Mlp(options.Hidden, dropout, new Generator(options.Seed + 1));
                using var trainer = new SupervisedModel(model, new MseLoss(), new Adam(learningRate: 0.003, weightDecay: weightDecay), [1], [1]);
                if (!earlyStopping)
                {
                    for (int i = 0; i < options.Steps; i++) trainer.Step(trainX, trainY);
                    return new RegularizationRun(method, trainer.Loss(trainX, trainY), trainer.Loss(validX, validY), options.Steps);
                }

                // Keep a copy of the weights at the best validation loss, and go back to it when patience runs out.
                var best = (Validation: double.PositiveInfinity, Train: 0.0, Step: 0, Weights: Snapshot(model));
                int checksSinceBest = 0, step = 0;
                while (step < options.Steps && checksSinceBest < options.Patience)
                {
                    for (int i = 0; i < options.ValidationInterval && step < options.Steps; i++, step++) trainer.Step(trainX, trainY);
                    double validation = trainer.Loss(validX, validY);
                    if (validation < best.Validation)
                    {
                        best = (validation, trainer.Loss(trainX, trainY), step, Snapshot(model));
                        checksSinceBest = 0;
                    }
                    else
                    {
                        checksSinceBest++;
                    }
                }

                Restore(model, best.Weights);
                return new RegularizationRun(method, trainer.Loss(trainX, trainY), trainer.Loss(validX, validY), best.Step);
            }

            return new RegularizationResult(options.Steps, NoiseStandardDeviation * NoiseStandardDeviation,
            [
                Train("none", 0, 0, false),
                Train("l2", 0, options.WeightDecay, false),
                Train("dropout", options.DropoutP, 0, false),
                Train("early_stopping", 0, 0, true),
            ]);
        }
    }

    private static Sequential Mlp(int hidden, double dropout, Generator generator)
    {
        var model = new Sequential(new Linear(1, hidden, generator: generator), new ReLU());
        if (dropout > 0) model.Add(new Dropout(dropout, generator));
        model.Add(new Linear(hidden, hidden, generator: generator)).Add(new ReLU());
        if (dropout > 0) model.Add(new Dropout(dropout, generator));
        return model.Add(new Linear(hidden, 1, generator: generator));
    }

    private static List<float[]> Snapshot(Module model) => model.NamedParameters().Select(p => p.Tensor.ToArray<float>()).ToList();

    private static void Restore(Module model, List<float[]> weights)
    {
        foreach (((_, Tensor tensor), float[] values) in model.NamedParameters().Zip(weights))
        {
            using Tensor saved = Tensor.FromArray(values, tensor.Shape);
            saved.CopyTo(tensor);
        }
    }

    /// <summary>Points x uniform on [-pi, pi] with targets sin(x) plus Gaussian noise.</summary>
    private static (Tensor X, Tensor Y) NoisySine(int count, Generator generator)
    {
        float[] x = new float[count], y = new float[count];
        for (int i = 0; i < count; i++)
        {
            x[i] = (float)(Math.PI * ((2 * generator.NextDouble()) - 1));
            y[i] = (float)(Math.Sin(x[i]) + (NoiseStandardDeviation * generator.NextNormal()));
        }

        return (ExampleData.Matrix(x, count, 1), ExampleData.Matrix(y, count, 1));
    }
}

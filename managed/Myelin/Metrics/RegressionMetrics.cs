namespace Myelin.Metrics;

/// <summary>
/// A regression metric kept as running sums over every element (tensors of any shape are flattened; predictions and
/// targets must have one shape): count, sum of |error|, sum of error^2, and the targets' mean and sum of squared
/// deviations, merged per batch by Chan's parallel formula so that R-squared stays accurate without keeping samples.
/// </summary>
public abstract class RegressionMetric : Metric<double>
{
    private long _count;
    private double _absoluteErrors, _squaredErrors, _targetMean, _targetDeviations;

    /// <summary>The number of elements added.</summary>
    public long Count => _count;

    /// <summary>Sum of |prediction - target|.</summary>
    private protected double AbsoluteErrors => _absoluteErrors;

    /// <summary>Sum of (prediction - target)^2.</summary>
    private protected double SquaredErrors => _squaredErrors;

    /// <summary>Sum of (target - mean target)^2.</summary>
    private protected double TargetDeviations => _targetDeviations;

    /// <inheritdoc/>
    public override void Update(Tensor predictions, Tensor targets)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        ArgumentNullException.ThrowIfNull(targets);
        if (predictions.Shape != targets.Shape) throw new ArgumentException($"{DisplayName}: predictions {predictions.Shape} and targets {targets.Shape} differ in shape.");
        Update(Values(predictions, nameof(predictions)), Values(targets, nameof(targets)));
    }

    /// <summary>Adds a batch of predictions and targets.</summary>
    public void Update(ReadOnlySpan<double> predictions, ReadOnlySpan<double> targets)
    {
        RequireSameCount(predictions.Length, targets.Length);
        if (targets.Length == 0) return;
        double batchMean = 0;
        for (int i = 0; i < targets.Length; i++)
        {
            double error = predictions[i] - targets[i];
            _absoluteErrors += Math.Abs(error);
            _squaredErrors += error * error;
            batchMean += targets[i];
        }

        batchMean /= targets.Length;
        double batchDeviations = 0;
        foreach (double t in targets) batchDeviations += (t - batchMean) * (t - batchMean);
        long total = _count + targets.Length;
        double delta = batchMean - _targetMean;
        _targetDeviations += batchDeviations + delta * delta * _count * targets.Length / total;
        _targetMean += delta * targets.Length / total;
        _count = total;
    }

    /// <inheritdoc/>
    public override double Result
    {
        get
        {
            RequireSamples(_count);
            return Compute();
        }
    }

    /// <summary>The metric from the sums (at least one element added).</summary>
    private protected abstract double Compute();

    /// <inheritdoc/>
    public override void Reset() => (_count, _absoluteErrors, _squaredErrors, _targetMean, _targetDeviations) = (0, 0, 0, 0, 0);
}

/// <summary>Mean absolute error: the mean of |prediction - target|.</summary>
public sealed class MeanAbsoluteError : RegressionMetric
{
    private protected override double Compute() => AbsoluteErrors / Count;
}

/// <summary>Mean squared error: the mean of (prediction - target)^2.</summary>
public sealed class MeanSquaredError : RegressionMetric
{
    private protected override double Compute() => SquaredErrors / Count;
}

/// <summary>Root mean squared error: the square root of <see cref="MeanSquaredError"/>.</summary>
public sealed class RootMeanSquaredError : RegressionMetric
{
    private protected override double Compute() => Math.Sqrt(SquaredErrors / Count);
}

/// <summary>
/// Coefficient of determination 1 - SS_res / SS_tot over all elements. As scikit-learn's r2_score (force_finite),
/// constant targets give 1 when predicted exactly and 0 otherwise, instead of a division by zero.
/// </summary>
public sealed class R2Score : RegressionMetric
{
    private protected override double Compute() =>
        TargetDeviations == 0 ? (SquaredErrors == 0 ? 1 : 0) : 1 - SquaredErrors / TargetDeviations;
}

using Myelin.Optim;

namespace Myelin.Training;

/// <summary>When a <see cref="LearningRateScheduler"/> steps its schedule.</summary>
public enum ScheduleInterval
{
    /// <summary>After every epoch (most schedules, PyTorch's usual <c>scheduler.step()</c> per epoch).</summary>
    Epoch,

    /// <summary>After every training batch (OneCycleLR and warmups counted in steps).</summary>
    Batch,
}

/// <summary>
/// Steps a learning-rate schedule from <see cref="Optim"/> during <see cref="Model.Fit"/>: after each epoch or batch.
/// A schedule that takes a metric (ReduceLROnPlateau, or a LinearWarmup around one) is stepped per epoch with the
/// monitored log entry.
/// </summary>
public sealed class LearningRateScheduler : Callback
{
    private readonly MetricMonitor? _monitor;

    /// <summary>Creates the callback.</summary>
    /// <param name="schedule">The schedule; it must drive the compiled model's optimizer.</param>
    /// <param name="interval">When to step.</param>
    /// <param name="monitor">The log entry given to a schedule that takes a metric.</param>
    public LearningRateScheduler(LearningRateSchedule schedule, ScheduleInterval interval = ScheduleInterval.Epoch, string monitor = "val_loss")
    {
        ArgumentNullException.ThrowIfNull(schedule);
        Schedule = schedule;
        Interval = interval;
        if (schedule.TakesMetric)
        {
            if (interval != ScheduleInterval.Epoch) throw new ArgumentException($"LearningRateScheduler: {schedule.GetType().Name} takes a metric, so it steps per epoch, not per batch.", nameof(interval));
            _monitor = new MetricMonitor(nameof(LearningRateScheduler), monitor, MonitorMode.Auto, 0);
        }
    }

    /// <summary>The schedule stepped.</summary>
    public LearningRateSchedule Schedule { get; }

    /// <summary>When it is stepped.</summary>
    public ScheduleInterval Interval { get; }

    /// <inheritdoc/>
    public override void OnTrainBegin(FitPlan plan)
    {
        if (!ReferenceEquals(Schedule.Optimizer, Model.Optimizer))
        {
            throw new InvalidOperationException($"LearningRateScheduler: the {Schedule.GetType().Name} drives a different optimizer than the model's {Model.Optimizer?.Name}.");
        }
    }

    /// <inheritdoc/>
    /// <remarks>The schedule's state (<see cref="LearningRateSchedule.SaveState"/>).</remarks>
    public override StateDict? SaveState() => Schedule.SaveState();

    /// <inheritdoc/>
    public override void LoadState(StateDict state) => Schedule.LoadState(state);

    /// <inheritdoc/>
    public override void OnBatchEnd(int batch, BatchLogs logs)
    {
        if (Interval == ScheduleInterval.Batch) Schedule.Step();
    }

    /// <inheritdoc/>
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        if (Interval != ScheduleInterval.Epoch) return;
        switch (Schedule)
        {
            case ReduceLROnPlateau plateau:
                plateau.Step(_monitor!.Read(logs));
                break;
            case LinearWarmup warmup when _monitor is not null:
                warmup.Step(_monitor.Read(logs));
                break;
            default:
                Schedule.Step();
                break;
        }
    }
}

namespace Myelin.Training;

/// <summary>
/// A hook into <see cref="Model.Fit"/>: override the events of interest. <see cref="Model"/> is the model being
/// trained; set its <see cref="Training.Model.StopTraining"/> to end training.
/// </summary>
public abstract class Callback
{
    private Model? _model;

    /// <summary>The model being trained (set when Fit starts).</summary>
    /// <exception cref="InvalidOperationException">The callback has not been given to Fit.</exception>
    public Model Model => _model ?? throw new InvalidOperationException($"{GetType().Name} is not attached to a model: pass it to Model.Fit.");

    /// <summary>Called once before the first epoch.</summary>
    public virtual void OnTrainBegin(FitPlan plan)
    {
    }

    /// <summary>Called once after the last epoch, also when training ends with an exception.</summary>
    public virtual void OnTrainEnd()
    {
    }

    /// <summary>Called before each epoch (0-based).</summary>
    public virtual void OnEpochBegin(int epoch)
    {
    }

    /// <summary>Called after each epoch with its logs (see <see cref="Model.Fit"/>).</summary>
    public virtual void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
    }

    /// <summary>Called before each training batch (0-based within the epoch).</summary>
    public virtual void OnBatchBegin(int batch)
    {
    }

    /// <summary>Called after each training batch.</summary>
    public virtual void OnBatchEnd(int batch, BatchLogs logs)
    {
    }

    /// <summary>
    /// The callback's state that affects the rest of training (a best value, a patience counter, a schedule's
    /// position), stored in full checkpoints (<see cref="Model.SaveCheckpoint"/>); null when it has none. The caller
    /// disposes the result.
    /// </summary>
    public virtual StateDict? SaveState() => null;

    /// <summary>
    /// Restores a state from <see cref="SaveState"/>. <see cref="Model.Fit"/> calls it after <see cref="OnTrainBegin"/>
    /// when the model was loaded from a checkpoint holding a state for this callback (matched by type and position).
    /// </summary>
    public virtual void LoadState(StateDict state)
    {
    }

    /// <summary>Whether Fit calls <see cref="OnEpochEnd"/> after every other callback's (checkpoint writers, which record the others' state).</summary>
    internal virtual bool RunsLastAtEpochEnd => false;

    internal void Attach(Model model) => _model = model;
}

/// <summary>Whether a monitored quantity improves by falling or by rising.</summary>
public enum MonitorMode
{
    /// <summary>Rising for names containing "acc" or starting with "auc" (as Keras decides), falling otherwise.</summary>
    Auto,

    /// <summary>Lower is better (a loss).</summary>
    Min,

    /// <summary>Higher is better (an accuracy).</summary>
    Max,
}

/// <summary>A monitored log entry and when a value of it counts as an improvement (Keras's rule, shared by callbacks).</summary>
internal sealed class MetricMonitor
{
    public MetricMonitor(string owner, string monitor, MonitorMode mode, double minDelta)
    {
        ArgumentException.ThrowIfNullOrEmpty(monitor);
        if (!(minDelta >= 0)) throw new ArgumentOutOfRangeException(nameof(minDelta), minDelta, $"{owner}: min_delta must be >= 0 but is {minDelta}.");
        Owner = owner;
        Name = monitor;
        string lower = monitor.ToLowerInvariant();
        string bare = lower.StartsWith("val_", StringComparison.Ordinal) ? lower[4..] : lower;
        Maximize = mode == MonitorMode.Max || (mode == MonitorMode.Auto && (bare.Contains("acc", StringComparison.Ordinal) || bare.StartsWith("auc", StringComparison.Ordinal)));
        MinDelta = minDelta;
        Best = Maximize ? double.NegativeInfinity : double.PositiveInfinity;
    }

    public string Owner { get; }

    public string Name { get; }

    public bool Maximize { get; }

    public double MinDelta { get; }

    /// <summary>The best value seen so far (infinite before the first).</summary>
    public double Best { get; set; }

    /// <summary>The monitored value in <paramref name="logs"/>.</summary>
    /// <exception cref="KeyNotFoundException">The logs lack it; the message lists what they have.</exception>
    public double Read(IReadOnlyDictionary<string, double> logs) => logs.TryGetValue(Name, out double value) ? value
        : throw new KeyNotFoundException($"{Owner}: monitor '{Name}' is not in the epoch logs; they hold {string.Join(", ", logs.Keys)} (val_ entries need validation data).");

    /// <summary>Whether <paramref name="current"/> beats <paramref name="reference"/> by more than the minimum delta.</summary>
    public bool Improves(double current, double reference) => Maximize ? current - MinDelta > reference : current + MinDelta < reference;
}

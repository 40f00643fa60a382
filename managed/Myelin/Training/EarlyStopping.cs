namespace Myelin.Training;

/// <summary>
/// Stops training when a monitored quantity has not improved for <c>patience</c> epochs (Keras's EarlyStopping): an
/// epoch improves when its value beats the best so far by more than min_delta. With restore_best_weights, the
/// network's parameters and buffers of the best epoch are copied back when training ends.
/// </summary>
public sealed class EarlyStopping : Callback, IDisposable
{
    private readonly MetricMonitor _monitor;
    private const string BestWeightsPrefix = "best_weights.";
    private IReadOnlyDictionary<string, Tensor>? _bestWeights;
    private int _wait;

    /// <summary>Creates the callback.</summary>
    /// <param name="monitor">The log entry watched, such as "val_loss".</param>
    /// <param name="minDelta">Smallest change that counts as an improvement, at least 0.</param>
    /// <param name="patience">Epochs without improvement before stopping, at least 0.</param>
    /// <param name="mode">Whether lower or higher is better.</param>
    /// <param name="restoreBestWeights">Whether to restore the best epoch's weights when training ends.</param>
    public EarlyStopping(string monitor = "val_loss", double minDelta = 0, int patience = 0, MonitorMode mode = MonitorMode.Auto, bool restoreBestWeights = false)
    {
        if (patience < 0) throw new ArgumentOutOfRangeException(nameof(patience), patience, $"EarlyStopping: patience must be >= 0 but is {patience}.");
        _monitor = new MetricMonitor(nameof(EarlyStopping), monitor, mode, minDelta);
        Patience = patience;
        RestoreBestWeights = restoreBestWeights;
    }

    /// <summary>Epochs without improvement before stopping.</summary>
    public int Patience { get; }

    /// <summary>Whether the best epoch's weights are restored when training ends.</summary>
    public bool RestoreBestWeights { get; }

    /// <summary>The 0-based epoch with the best value, or -1 before the first.</summary>
    public int BestEpoch { get; private set; } = -1;

    /// <summary>The best value seen.</summary>
    public double Best => _monitor.Best;

    /// <summary>The 0-based epoch after which training was stopped, or -1 when it was not.</summary>
    public int StoppedEpoch { get; private set; } = -1;

    /// <inheritdoc/>
    public override void OnTrainBegin(FitPlan plan)
    {
        _wait = 0;
        _monitor.Best = _monitor.Maximize ? double.NegativeInfinity : double.PositiveInfinity;
        (BestEpoch, StoppedEpoch) = (-1, -1);
        ReleaseWeights();
    }

    /// <inheritdoc/>
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        double current = _monitor.Read(logs);
        _wait++;
        if (_monitor.Improves(current, _monitor.Best))
        {
            _monitor.Best = current;
            BestEpoch = epoch;
            _wait = 0;
            if (RestoreBestWeights)
            {
                ReleaseWeights();
                _bestWeights = Model.CopyWeights();
            }

            return;
        }

        if (_wait >= Patience && epoch > 0)
        {
            StoppedEpoch = epoch;
            Model.StopTraining = true;
        }
    }

    /// <inheritdoc/>
    public override void OnTrainEnd()
    {
        if (_bestWeights is not null) Model.LoadWeights(_bestWeights);
        ReleaseWeights();
    }

    /// <inheritdoc/>
    /// <remarks>The best value and epoch, the epochs waited, and with restore_best_weights the best weights ("best_weights.{path}").</remarks>
    public override StateDict? SaveState()
    {
        var state = new StateDict();
        (state.Scalars["best"], state.Scalars["best_epoch"], state.Scalars["wait"], state.Scalars["stopped_epoch"]) = (_monitor.Best, BestEpoch, _wait, StoppedEpoch);
        foreach ((string path, Tensor tensor) in _bestWeights ?? new Dictionary<string, Tensor>()) state.Tensors[BestWeightsPrefix + path] = tensor.Clone().MoveToOuterScope();
        return state;
    }

    /// <inheritdoc/>
    public override void LoadState(StateDict state)
    {
        ArgumentNullException.ThrowIfNull(state);
        _monitor.Best = state.Scalar("best", nameof(EarlyStopping));
        BestEpoch = checked((int)state.Scalar("best_epoch", nameof(EarlyStopping)));
        _wait = checked((int)state.Scalar("wait", nameof(EarlyStopping)));
        StoppedEpoch = checked((int)state.Scalar("stopped_epoch", nameof(EarlyStopping)));
        ReleaseWeights();
        var best = state.Tensors.Where(t => t.Key.StartsWith(BestWeightsPrefix, StringComparison.Ordinal)).ToDictionary(t => t.Key[BestWeightsPrefix.Length..], t => t.Value.Clone().MoveToOuterScope());
        _bestWeights = best.Count > 0 ? best : null;
    }

    /// <summary>Frees the copy of the best weights.</summary>
    public void Dispose() => ReleaseWeights();

    private void ReleaseWeights()
    {
        if (_bestWeights is null) return;
        foreach (Tensor tensor in _bestWeights.Values) tensor.Dispose();
        _bestWeights = null;
    }
}

namespace Myelin.Optim;

/// <summary>
/// A learning-rate schedule (PyTorch's torch.optim.lr_scheduler): it sets every group's
/// <see cref="ParameterGroup.LearningRate"/>, which the compiled training step reads at each run. Construction applies
/// the rate of epoch 0 (as PyTorch's constructors do); each <see cref="Step()"/> advances one epoch or step and applies
/// the next. Rates come from closed forms of each group's rate when the schedule was created (its base rate).
/// </summary>
public abstract class LearningRateSchedule
{
    private readonly double[] _baseRates;
    private LinearWarmup? _driver;

    /// <summary>Records the optimizer and each group's current learning rate as its base rate.</summary>
    protected LearningRateSchedule(Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        Optimizer = optimizer;
        _baseRates = optimizer.Groups.Select(g => g.LearningRate).ToArray();
    }

    /// <summary>The optimizer whose groups the schedule drives.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>Steps taken since construction (PyTorch's last_epoch).</summary>
    public int Epoch { get; private set; }

    /// <summary>Each group's learning rate when the schedule was created.</summary>
    public IReadOnlyList<double> BaseRates => _baseRates;

    /// <summary>The learning rate of group <paramref name="group"/> at <see cref="Epoch"/>.</summary>
    public abstract double RateOf(int group);

    /// <summary>Advances one epoch (or step) and applies the new rates.</summary>
    public void Step()
    {
        ThrowIfDriven();
        Advance(null);
        Apply();
    }

    /// <summary>
    /// The schedule's state for checkpoints: steps taken ("epoch"), base rates ("base_lr.{group}") and what its kind keeps
    /// (a plateau's best value and rates, a restart's period, a wrapped schedule's state under "inner.").
    /// </summary>
    public StateDict SaveState()
    {
        var state = new StateDict();
        WriteState(state.Scalars, "");
        return state;
    }

    /// <summary>Restores a state from <see cref="SaveState"/> of a schedule of the same kind and applies its rates.</summary>
    /// <exception cref="KeyNotFoundException">An entry is missing; the message names it.</exception>
    /// <exception cref="ArgumentException">The state has another number of groups.</exception>
    public void LoadState(StateDict state)
    {
        ArgumentNullException.ThrowIfNull(state);
        ReadState(state, "");
        Apply();
    }

    /// <summary>Adds this schedule's entries, each key prefixed by <paramref name="prefix"/>.</summary>
    internal virtual void WriteState(Dictionary<string, double> scalars, string prefix)
    {
        scalars[prefix + "epoch"] = Epoch;
        for (int i = 0; i < _baseRates.Length; i++) scalars[$"{prefix}base_lr.{i}"] = _baseRates[i];
    }

    /// <summary>Reads the entries <see cref="WriteState"/> wrote under <paramref name="prefix"/>.</summary>
    internal virtual void ReadState(StateDict state, string prefix)
    {
        int groups = state.Scalars.Keys.Count(k => k.StartsWith(prefix + "base_lr.", StringComparison.Ordinal) && !k[(prefix.Length + 8)..].Contains('.'));
        if (groups != _baseRates.Length)
        {
            throw new ArgumentException($"{GetType().Name}: the saved state has {groups} groups but {Optimizer.Name} has {_baseRates.Length}.", nameof(state));
        }

        Epoch = checked((int)state.Scalar(prefix + "epoch", GetType().Name));
        for (int i = 0; i < _baseRates.Length; i++) _baseRates[i] = state.Scalar($"{prefix}base_lr.{i}", GetType().Name);
    }

    /// <summary>Whether <see cref="Advance"/> needs a metric (ReduceLROnPlateau).</summary>
    internal virtual bool TakesMetric => false;

    /// <summary>Applies the rates of epoch 0; each concrete schedule calls it last in its constructor.</summary>
    private protected void Start() => Apply();

    /// <summary>Fails when a wrapper drives this schedule.</summary>
    private protected void ThrowIfDriven()
    {
        if (_driver is not null) throw new InvalidOperationException($"{GetType().Name} is driven by {_driver.GetType().Name}: step that one instead.");
    }

    /// <summary>Moves to the next epoch; <paramref name="metric"/> is the monitored quantity for schedules that take one.</summary>
    internal virtual void Advance(double? metric) => Epoch++;

    /// <summary>Writes each group's rate (and any cycled momentum).</summary>
    internal void Apply()
    {
        IReadOnlyList<ParameterGroup> groups = Optimizer.Groups;
        if (groups.Count != _baseRates.Length)
        {
            throw new InvalidOperationException($"{GetType().Name}: {Optimizer.Name} has {groups.Count} groups but had {_baseRates.Length} when the schedule was created.");
        }

        for (int i = 0; i < groups.Count; i++) groups[i].LearningRate = RateOf(i);
        ApplyMomentum();
    }

    /// <summary>Writes settings other than the rate (one-cycle momentum).</summary>
    internal virtual void ApplyMomentum()
    {
    }

    /// <summary>Makes <paramref name="driver"/> the only one to step this schedule.</summary>
    internal void DrivenBy(LinearWarmup driver)
    {
        ThrowIfDriven();
        _driver = driver;
    }

    /// <summary>Throws naming the schedule and argument unless <paramref name="valid"/>.</summary>
    private protected void Require(bool valid, string argument, object value, string requirement)
    {
        if (!valid) throw new ArgumentOutOfRangeException(argument, value, $"{GetType().Name}: {argument} must be {requirement} but is {value}.");
    }
}

/// <summary>StepLR: base * gamma^(floor(epoch / step_size)).</summary>
public sealed class StepLR : LearningRateSchedule
{
    /// <summary>Creates the schedule and applies epoch 0.</summary>
    /// <param name="optimizer">The optimizer to drive.</param>
    /// <param name="stepSize">Epochs between decays, at least 1.</param>
    /// <param name="gamma">Decay factor.</param>
    public StepLR(Optimizer optimizer, int stepSize, double gamma = 0.1) : base(optimizer)
    {
        Require(stepSize >= 1, "step_size", stepSize, ">= 1");
        Require(gamma >= 0, "gamma", gamma, ">= 0");
        (StepSize, Gamma) = (stepSize, gamma);
        Start();
    }

    /// <summary>Epochs between decays.</summary>
    public int StepSize { get; }

    /// <summary>Decay factor.</summary>
    public double Gamma { get; }

    /// <inheritdoc/>
    public override double RateOf(int group) => BaseRates[group] * Math.Pow(Gamma, Epoch / StepSize);
}

/// <summary>MultiStepLR: base * gamma^(number of milestones &lt;= epoch); a repeated milestone decays once per repeat.</summary>
public sealed class MultiStepLR : LearningRateSchedule
{
    private readonly int[] _milestones;

    /// <summary>Creates the schedule and applies epoch 0.</summary>
    /// <param name="optimizer">The optimizer to drive.</param>
    /// <param name="milestones">Epochs at which the rate decays, each at least 0.</param>
    /// <param name="gamma">Decay factor.</param>
    public MultiStepLR(Optimizer optimizer, IEnumerable<int> milestones, double gamma = 0.1) : base(optimizer)
    {
        ArgumentNullException.ThrowIfNull(milestones);
        _milestones = milestones.Order().ToArray();
        Require(_milestones.Length == 0 || _milestones[0] >= 0, "milestones", string.Join(", ", _milestones), "epochs >= 0");
        Require(gamma >= 0, "gamma", gamma, ">= 0");
        Gamma = gamma;
        Start();
    }

    /// <summary>The milestones, ascending.</summary>
    public IReadOnlyList<int> Milestones => _milestones;

    /// <summary>Decay factor.</summary>
    public double Gamma { get; }

    /// <inheritdoc/>
    public override double RateOf(int group) => BaseRates[group] * Math.Pow(Gamma, _milestones.Count(m => m <= Epoch));
}

/// <summary>ExponentialLR: base * gamma^epoch.</summary>
public sealed class ExponentialLR : LearningRateSchedule
{
    /// <summary>Creates the schedule and applies epoch 0.</summary>
    /// <param name="optimizer">The optimizer to drive.</param>
    /// <param name="gamma">Decay factor per epoch.</param>
    public ExponentialLR(Optimizer optimizer, double gamma) : base(optimizer)
    {
        Require(gamma >= 0, "gamma", gamma, ">= 0");
        Gamma = gamma;
        Start();
    }

    /// <summary>Decay factor per epoch.</summary>
    public double Gamma { get; }

    /// <inheritdoc/>
    public override double RateOf(int group) => BaseRates[group] * Math.Pow(Gamma, Epoch);
}

/// <summary>
/// CosineAnnealingLR: eta_min + (base - eta_min) * (1 + cos(pi * epoch / T_max)) / 2, which past T_max rises again as
/// PyTorch's recursive form does.
/// </summary>
public sealed class CosineAnnealingLR : LearningRateSchedule
{
    /// <summary>Creates the schedule and applies epoch 0.</summary>
    /// <param name="optimizer">The optimizer to drive.</param>
    /// <param name="tMax">Epochs of one half cosine, at least 1.</param>
    /// <param name="etaMin">Smallest rate.</param>
    public CosineAnnealingLR(Optimizer optimizer, int tMax, double etaMin = 0) : base(optimizer)
    {
        Require(tMax >= 1, "T_max", tMax, ">= 1");
        Require(etaMin >= 0, "eta_min", etaMin, ">= 0");
        (TMax, EtaMin) = (tMax, etaMin);
        Start();
    }

    /// <summary>Epochs of one half cosine.</summary>
    public int TMax { get; }

    /// <summary>Smallest rate.</summary>
    public double EtaMin { get; }

    /// <inheritdoc/>
    public override double RateOf(int group) => EtaMin + (BaseRates[group] - EtaMin) * (1 + Math.Cos(Math.PI * Epoch / TMax)) / 2;
}

/// <summary>
/// CosineAnnealingWarmRestarts (SGDR): a cosine from base to eta_min over T_i epochs, then a restart at base with
/// T_i multiplied by T_mult; the first period is T_0. Steps are whole epochs.
/// </summary>
public sealed class CosineAnnealingWarmRestarts : LearningRateSchedule
{
    private int _sinceRestart, _period;

    /// <summary>Creates the schedule and applies epoch 0.</summary>
    /// <param name="optimizer">The optimizer to drive.</param>
    /// <param name="t0">Epochs until the first restart, at least 1.</param>
    /// <param name="tMult">Factor by which each period grows, at least 1.</param>
    /// <param name="etaMin">Smallest rate.</param>
    public CosineAnnealingWarmRestarts(Optimizer optimizer, int t0, int tMult = 1, double etaMin = 0) : base(optimizer)
    {
        Require(t0 >= 1, "T_0", t0, ">= 1");
        Require(tMult >= 1, "T_mult", tMult, ">= 1");
        Require(etaMin >= 0, "eta_min", etaMin, ">= 0");
        (T0, TMult, EtaMin, _period) = (t0, tMult, etaMin, t0);
        Start();
    }

    /// <summary>Epochs until the first restart.</summary>
    public int T0 { get; }

    /// <summary>Factor by which each period grows.</summary>
    public int TMult { get; }

    /// <summary>Smallest rate.</summary>
    public double EtaMin { get; }

    /// <inheritdoc/>
    public override double RateOf(int group) => EtaMin + (BaseRates[group] - EtaMin) * (1 + Math.Cos(Math.PI * _sinceRestart / _period)) / 2;

    internal override void WriteState(Dictionary<string, double> scalars, string prefix)
    {
        base.WriteState(scalars, prefix);
        scalars[prefix + "since_restart"] = _sinceRestart;
        scalars[prefix + "period"] = _period;
    }

    internal override void ReadState(StateDict state, string prefix)
    {
        base.ReadState(state, prefix);
        _sinceRestart = checked((int)state.Scalar(prefix + "since_restart", GetType().Name));
        _period = checked((int)state.Scalar(prefix + "period", GetType().Name));
    }

    internal override void Advance(double? metric)
    {
        base.Advance(metric);
        if (++_sinceRestart >= _period)
        {
            _sinceRestart -= _period;
            _period *= TMult;
        }
    }
}

/// <summary>
/// Linear warmup around any schedule: the inner schedule's rate times a factor rising linearly from
/// <c>startFactor</c> at epoch 0 to 1 at <c>warmupSteps</c> (PyTorch's LinearLR factor), 1 afterwards. Step this
/// wrapper only; it steps the inner schedule.
/// </summary>
public sealed class LinearWarmup : LearningRateSchedule
{
    /// <summary>Wraps <paramref name="inner"/> and applies epoch 0.</summary>
    /// <param name="inner">The schedule to warm up; it must not have been stepped.</param>
    /// <param name="warmupSteps">Steps until the full rate, at least 1.</param>
    /// <param name="startFactor">Fraction of the rate at epoch 0, in (0, 1].</param>
    public LinearWarmup(LearningRateSchedule inner, int warmupSteps = 5, double startFactor = 1.0 / 3) : base((inner ?? throw new ArgumentNullException(nameof(inner))).Optimizer)
    {
        Require(warmupSteps >= 1, "warmup_steps", warmupSteps, ">= 1");
        Require(startFactor is > 0 and <= 1, "start_factor", startFactor, "in (0, 1]");
        Require(inner.Epoch == 0, "inner", $"{inner.GetType().Name} at epoch {inner.Epoch}", "a schedule that has not been stepped");
        inner.DrivenBy(this);
        (Inner, WarmupSteps, StartFactor) = (inner, warmupSteps, startFactor);
        Start();
    }

    /// <summary>The wrapped schedule.</summary>
    public LearningRateSchedule Inner { get; }

    /// <summary>Steps until the full rate.</summary>
    public int WarmupSteps { get; }

    /// <summary>Fraction of the rate at epoch 0.</summary>
    public double StartFactor { get; }

    /// <summary>Advances one epoch with the monitored <paramref name="metric"/>, for an inner <see cref="ReduceLROnPlateau"/>.</summary>
    public void Step(double metric)
    {
        ThrowIfDriven();
        if (!Inner.TakesMetric) throw new ArgumentException($"LinearWarmup: the inner {Inner.GetType().Name} takes no metric; call Step().", nameof(metric));
        Advance(metric);
        Apply();
    }

    internal override bool TakesMetric => Inner.TakesMetric;

    /// <inheritdoc/>
    public override double RateOf(int group) => Inner.RateOf(group) * (StartFactor + (1 - StartFactor) * Math.Min(Epoch, WarmupSteps) / WarmupSteps);

    internal override void Advance(double? metric)
    {
        base.Advance(metric);
        Inner.Advance(metric);
    }

    internal override void ApplyMomentum() => Inner.ApplyMomentum();

    internal override void WriteState(Dictionary<string, double> scalars, string prefix)
    {
        base.WriteState(scalars, prefix);
        Inner.WriteState(scalars, prefix + "inner.");
    }

    internal override void ReadState(StateDict state, string prefix)
    {
        base.ReadState(state, prefix);
        Inner.ReadState(state, prefix + "inner.");
    }
}

/// <summary>How <see cref="OneCycleLR"/> anneals between two values.</summary>
public enum AnnealStrategy
{
    /// <summary>Half a cosine.</summary>
    Cos,

    /// <summary>A straight line.</summary>
    Linear,
}

/// <summary>
/// OneCycleLR (per batch): the rate rises from max_lr / div_factor to max_lr over pct_start of total_steps, then falls to
/// (max_lr / div_factor) / final_div_factor; with three_phase it first falls back to the initial rate and then to the
/// minimum. When cycle_momentum, the momentum (SGD) or beta1 (Adam) moves inversely between max_momentum and
/// base_momentum. The base rates are ignored, as in PyTorch: every group follows max_lr.
/// </summary>
public sealed class OneCycleLR : LearningRateSchedule
{
    private readonly (double EndStep, double StartLr, double EndLr, double StartMomentum, double EndMomentum)[] _phases;
    private readonly CycledMomentum _cycled;

    /// <summary>Creates the schedule and applies step 0.</summary>
    /// <param name="optimizer">The optimizer to drive.</param>
    /// <param name="maxLr">The peak rate.</param>
    /// <param name="totalSteps">Steps in the cycle (Step may be called this many times).</param>
    /// <param name="pctStart">Fraction of the cycle spent rising, in (0, 1).</param>
    /// <param name="annealStrategy">Cosine or linear annealing.</param>
    /// <param name="cycleMomentum">Whether to cycle momentum (or beta1) inversely to the rate.</param>
    /// <param name="baseMomentum">Momentum at the peak rate.</param>
    /// <param name="maxMomentum">Momentum at the lowest rates.</param>
    /// <param name="divFactor">Initial rate = max_lr / div_factor.</param>
    /// <param name="finalDivFactor">Final rate = initial rate / final_div_factor.</param>
    /// <param name="threePhase">Rise, fall back to the initial rate, then anneal to the minimum.</param>
    public OneCycleLR(Optimizer optimizer, double maxLr, int totalSteps, double pctStart = 0.3, AnnealStrategy annealStrategy = AnnealStrategy.Cos,
        bool cycleMomentum = true, double baseMomentum = 0.85, double maxMomentum = 0.95, double divFactor = 25, double finalDivFactor = 1e4,
        bool threePhase = false) : base(optimizer)
    {
        Require(maxLr >= 0, "max_lr", maxLr, ">= 0");
        Require(totalSteps >= 1, "total_steps", totalSteps, ">= 1");
        Require(pctStart is > 0 and < 1, "pct_start", pctStart, "in (0, 1)");
        Require(divFactor > 0, "div_factor", divFactor, "> 0");
        Require(finalDivFactor > 0, "final_div_factor", finalDivFactor, "> 0");
        (TotalSteps, AnnealStrategy) = (totalSteps, annealStrategy);
        if (cycleMomentum)
        {
            Require(baseMomentum is >= 0 and < 1, "base_momentum", baseMomentum, "in [0, 1)");
            Require(maxMomentum is >= 0 and < 1, "max_momentum", maxMomentum, "in [0, 1)");
            _cycled = optimizer.CycledMomentum;
            if (_cycled == CycledMomentum.None)
            {
                throw new ArgumentException($"OneCycleLR: cycle_momentum needs an optimizer with momentum or beta1, but {optimizer.Name} has neither; pass cycleMomentum: false.", nameof(cycleMomentum));
            }

            if (_cycled == CycledMomentum.Momentum && optimizer.Groups.Any(g => g.Momentum == 0))
            {
                throw new ArgumentException($"OneCycleLR: cycle_momentum needs {optimizer.Name} built with momentum > 0 in every group; pass cycleMomentum: false.", nameof(cycleMomentum));
            }
        }

        double initial = maxLr / divFactor, minimum = initial / finalDivFactor;
        double rise = pctStart * totalSteps - 1;
        _phases = threePhase
            ? [(rise, initial, maxLr, maxMomentum, baseMomentum), (2 * pctStart * totalSteps - 2, maxLr, initial, baseMomentum, maxMomentum),
                (totalSteps - 1, initial, minimum, maxMomentum, maxMomentum)]
            : [(rise, initial, maxLr, maxMomentum, baseMomentum), (totalSteps - 1, maxLr, minimum, baseMomentum, maxMomentum)];
        Start();
    }

    /// <summary>Steps in the cycle.</summary>
    public int TotalSteps { get; }

    /// <summary>Cosine or linear annealing.</summary>
    public AnnealStrategy AnnealStrategy { get; }

    /// <inheritdoc/>
    public override double RateOf(int group) => Current().Lr;

    internal override void Advance(double? metric)
    {
        if (Epoch + 1 > TotalSteps)
        {
            throw new InvalidOperationException($"OneCycleLR: stepped {Epoch + 1} times but total_steps is {TotalSteps}.");
        }

        base.Advance(metric);
    }

    internal override void ApplyMomentum()
    {
        if (_cycled == CycledMomentum.None) return;
        double momentum = Current().Momentum;
        foreach (ParameterGroup group in Optimizer.Groups)
        {
            if (_cycled == CycledMomentum.Beta1) group.Beta1 = momentum;
            else group.Momentum = momentum;
        }
    }

    private (double Lr, double Momentum) Current()
    {
        double start = 0;
        for (int i = 0; i < _phases.Length; i++)
        {
            var phase = _phases[i];
            if (Epoch <= phase.EndStep || i == _phases.Length - 1)
            {
                double pct = (Epoch - start) / (phase.EndStep - start);
                return (Anneal(phase.StartLr, phase.EndLr, pct), Anneal(phase.StartMomentum, phase.EndMomentum, pct));
            }

            start = phase.EndStep;
        }

        throw new InvalidOperationException("OneCycleLR has no phases.");
    }

    private double Anneal(double start, double end, double pct) => AnnealStrategy == AnnealStrategy.Cos
        ? end + (start - end) / 2 * (Math.Cos(Math.PI * pct) + 1)
        : (end - start) * pct + start;
}

/// <summary>Whether <see cref="ReduceLROnPlateau"/> looks for a falling or a rising metric.</summary>
public enum PlateauMode
{
    /// <summary>Lower is better (a loss).</summary>
    Min,

    /// <summary>Higher is better (an accuracy).</summary>
    Max,
}

/// <summary>How <see cref="ReduceLROnPlateau"/> decides that a metric improved.</summary>
public enum ThresholdMode
{
    /// <summary>Better than best * (1 -/+ threshold).</summary>
    Rel,

    /// <summary>Better than best -/+ threshold.</summary>
    Abs,
}

/// <summary>
/// ReduceLROnPlateau: after more than <c>patience</c> epochs without improvement of the metric given to
/// <see cref="Step(double)"/>, each rate is multiplied by <c>factor</c> (not below min_lr; changes smaller than eps are
/// skipped), then <c>cooldown</c> epochs pass before bad epochs count again. Stepping needs the metric.
/// </summary>
public sealed class ReduceLROnPlateau : LearningRateSchedule
{
    private readonly double[] _rates;
    private double _best;
    private int _badEpochs, _cooldownLeft;

    /// <summary>Creates the schedule; the rates start at each group's current rate.</summary>
    /// <param name="optimizer">The optimizer to drive.</param>
    /// <param name="mode">Whether lower or higher metrics are better.</param>
    /// <param name="factor">Factor the rate is multiplied by, in [0, 1).</param>
    /// <param name="patience">Epochs without improvement tolerated.</param>
    /// <param name="threshold">Smallest improvement that counts.</param>
    /// <param name="thresholdMode">Relative or absolute threshold.</param>
    /// <param name="cooldown">Epochs after a reduction before counting resumes.</param>
    /// <param name="minLr">Lower bound on every rate.</param>
    /// <param name="eps">Reductions smaller than this are skipped.</param>
    public ReduceLROnPlateau(Optimizer optimizer, PlateauMode mode = PlateauMode.Min, double factor = 0.1, int patience = 10, double threshold = 1e-4,
        ThresholdMode thresholdMode = ThresholdMode.Rel, int cooldown = 0, double minLr = 0, double eps = 1e-8) : base(optimizer)
    {
        Require(factor is >= 0 and < 1, "factor", factor, "in [0, 1)");
        Require(patience >= 0, "patience", patience, ">= 0");
        Require(threshold >= 0, "threshold", threshold, ">= 0");
        Require(cooldown >= 0, "cooldown", cooldown, ">= 0");
        Require(minLr >= 0, "min_lr", minLr, ">= 0");
        Require(eps >= 0, "eps", eps, ">= 0");
        (Mode, Factor, Patience, Threshold, ThresholdMode, Cooldown, MinLr, Eps) = (mode, factor, patience, threshold, thresholdMode, cooldown, minLr, eps);
        _rates = [.. BaseRates];
        _best = mode == PlateauMode.Min ? double.PositiveInfinity : double.NegativeInfinity;
        Start();
    }

    /// <summary>Whether lower or higher metrics are better.</summary>
    public PlateauMode Mode { get; }

    /// <summary>Factor the rate is multiplied by.</summary>
    public double Factor { get; }

    /// <summary>Epochs without improvement tolerated.</summary>
    public int Patience { get; }

    /// <summary>Smallest improvement that counts.</summary>
    public double Threshold { get; }

    /// <summary>Relative or absolute threshold.</summary>
    public ThresholdMode ThresholdMode { get; }

    /// <summary>Epochs after a reduction before counting resumes.</summary>
    public int Cooldown { get; }

    /// <summary>Lower bound on every rate.</summary>
    public double MinLr { get; }

    /// <summary>Reductions smaller than this are skipped.</summary>
    public double Eps { get; }

    /// <summary>Advances one epoch given the monitored <paramref name="metric"/>.</summary>
    public void Step(double metric)
    {
        ThrowIfDriven();
        Advance(metric);
        Apply();
    }

    internal override bool TakesMetric => true;

    /// <inheritdoc/>
    public override double RateOf(int group) => _rates[group];

    internal override void Advance(double? metric)
    {
        if (metric is not { } current) throw new InvalidOperationException("ReduceLROnPlateau needs the monitored metric: call Step(metric).");
        base.Advance(metric);
        if (IsBetter(current))
        {
            _best = current;
            _badEpochs = 0;
        }
        else
        {
            _badEpochs++;
        }

        if (_cooldownLeft > 0)
        {
            _cooldownLeft--;
            _badEpochs = 0;
        }

        if (_badEpochs > Patience)
        {
            for (int i = 0; i < _rates.Length; i++)
            {
                double reduced = Math.Max(_rates[i] * Factor, MinLr);
                if (_rates[i] - reduced > Eps) _rates[i] = reduced;
            }

            _cooldownLeft = Cooldown;
            _badEpochs = 0;
        }
    }

    internal override void WriteState(Dictionary<string, double> scalars, string prefix)
    {
        base.WriteState(scalars, prefix);
        scalars[prefix + "best"] = _best;
        scalars[prefix + "num_bad_epochs"] = _badEpochs;
        scalars[prefix + "cooldown_counter"] = _cooldownLeft;
        for (int i = 0; i < _rates.Length; i++) scalars[$"{prefix}lr.{i}"] = _rates[i];
    }

    internal override void ReadState(StateDict state, string prefix)
    {
        base.ReadState(state, prefix);
        _best = state.Scalar(prefix + "best", GetType().Name);
        _badEpochs = checked((int)state.Scalar(prefix + "num_bad_epochs", GetType().Name));
        _cooldownLeft = checked((int)state.Scalar(prefix + "cooldown_counter", GetType().Name));
        for (int i = 0; i < _rates.Length; i++) _rates[i] = state.Scalar($"{prefix}lr.{i}", GetType().Name);
    }

    private bool IsBetter(double current) => (Mode, ThresholdMode) switch
    {
        (PlateauMode.Min, ThresholdMode.Rel) => current < _best * (1 - Threshold),
        (PlateauMode.Min, ThresholdMode.Abs) => current < _best - Threshold,
        (PlateauMode.Max, ThresholdMode.Rel) => current > _best * (Threshold + 1),
        _ => current > _best + Threshold,
    };
}

using Myelin.Graphs;

namespace Myelin.Optim;

/// <summary>
/// The hyperparameters of a set of parameters (PyTorch's param_group). Every launch of the group's OptimizerStep nodes
/// reads the current values of the live settings (learning rate, momentum, dampening, betas, alpha, epsilon, weight
/// decay, learning-rate decay), so a schedule or the caller can change them between runs without recompiling. L1 and
/// the initial accumulator are read once, when the training graph is built. Each optimizer uses the settings its
/// update rule has and ignores the others.
/// </summary>
public sealed class ParameterGroup
{
    private double _learningRate, _momentum, _dampening, _beta1, _beta2, _alpha, _epsilon, _weightDecay, _learningRateDecay, _l1;

    internal ParameterGroup(Optimizer optimizer, IReadOnlyList<Value>? parameters)
    {
        Optimizer = optimizer;
        Parameters = parameters;
    }

    /// <summary>The optimizer the group belongs to.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>The group's parameters; null for the optimizer's default group, which holds every parameter no other group names.</summary>
    public IReadOnlyList<Value>? Parameters { get; }

    /// <summary>Whether the training graph has been built: settings read only then (L1, initial accumulator) are fixed.</summary>
    public bool IsBuilt { get; internal set; }

    /// <summary>The learning rate (PyTorch lr), at least 0.</summary>
    public double LearningRate { get => _learningRate; set => _learningRate = AtLeastZero(value, "lr"); }

    /// <summary>
    /// SGD's momentum factor, at least 0. Whether the update keeps a momentum buffer is fixed when the graph is built
    /// (momentum nonzero then), so a group built without momentum keeps it at 0.
    /// </summary>
    public double Momentum
    {
        get => _momentum;
        set
        {
            if (IsBuilt && !HasMomentumBuffer && value != 0)
            {
                throw new InvalidOperationException($"{Optimizer.Name}: momentum cannot become {value} after the graph was built without momentum (no momentum buffer).");
            }

            _momentum = AtLeastZero(value, "momentum");
        }
    }

    /// <summary>SGD's dampening of the momentum buffer, at least 0.</summary>
    public double Dampening { get => _dampening; set => _dampening = AtLeastZero(value, "dampening"); }

    /// <summary>Adam's first-moment decay, in [0, 1).</summary>
    public double Beta1 { get => _beta1; set => _beta1 = UnitInterval(value, "beta1"); }

    /// <summary>Adam's second-moment decay, in [0, 1).</summary>
    public double Beta2 { get => _beta2; set => _beta2 = UnitInterval(value, "beta2"); }

    /// <summary>RMSprop's smoothing constant, in [0, 1).</summary>
    public double Alpha { get => _alpha; set => _alpha = UnitInterval(value, "alpha"); }

    /// <summary>The term added to the denominator for numerical stability (PyTorch eps), at least 0.</summary>
    public double Epsilon { get => _epsilon; set => _epsilon = AtLeastZero(value, "eps"); }

    /// <summary>L2 penalty added to the gradient (weight_decay * w), or AdamW's decoupled decay factor; at least 0.</summary>
    public double WeightDecay { get => _weightDecay; set => _weightDecay = AtLeastZero(value, "weight_decay"); }

    /// <summary>Adagrad's learning-rate decay: step t uses lr / (1 + (t - 1) * lr_decay); at least 0.</summary>
    public double LearningRateDecay { get => _learningRateDecay; set => _learningRateDecay = AtLeastZero(value, "lr_decay"); }

    /// <summary>
    /// L1 penalty: l1 * sign(w) is added to the gradient (the gradient of l1 * sum |w| added to the loss) as graph ops
    /// before clipping; at least 0, fixed when the graph is built.
    /// </summary>
    public double L1
    {
        get => _l1;
        set
        {
            if (IsBuilt) throw new InvalidOperationException($"{Optimizer.Name}: l1 is part of the built graph and cannot change afterwards.");
            _l1 = AtLeastZero(value, "l1");
        }
    }

    /// <summary>Whether the group's updates keep a momentum buffer (set when the graph is built).</summary>
    internal bool HasMomentumBuffer { get; set; }

    /// <summary>Copies every setting from <paramref name="other"/>.</summary>
    internal void CopySettingsFrom(ParameterGroup other)
    {
        (_learningRate, _momentum, _dampening, _beta1, _beta2, _alpha, _epsilon, _weightDecay, _learningRateDecay, _l1) =
            (other._learningRate, other._momentum, other._dampening, other._beta1, other._beta2, other._alpha, other._epsilon, other._weightDecay,
                other._learningRateDecay, other._l1);
    }

    private double AtLeastZero(double value, string name) => value >= 0 && double.IsFinite(value) ? value
        : throw new ArgumentOutOfRangeException(name, value, $"{Optimizer.Name}: {name} must be a finite number >= 0 but is {value}.");

    private double UnitInterval(double value, string name) => value is >= 0 and < 1 ? value
        : throw new ArgumentOutOfRangeException(name, value, $"{Optimizer.Name}: {name} must be in [0, 1) but is {value}.");
}

using Myelin.Autodiff;
using Myelin.Execution;
using Myelin.Graphs;
using Myelin.Ops;

namespace Myelin.Optim;

/// <summary>
/// An optimizer as graph nodes: one fused OptimizerStep per parameter (mln_optimizer_step), with its state as
/// persistent parameters, PyTorch semantics. Hyperparameters live in <see cref="Groups"/> (PyTorch's param_groups):
/// the default group holds every parameter no other group names, and <see cref="AddGroup"/> gives a set of
/// parameters its own settings. An optimizer serves one training graph.
/// </summary>
public abstract class Optimizer
{
    private readonly List<ParameterGroup> _groups = [];
    private readonly Dictionary<Value, Slot> _slots = [];
    private readonly double? _maxGradientNorm, _maxGradientValue;

    // A state loaded before the training graph was built: each parameter's part is copied in when its state is created.
    private StateDict? _pending;

    /// <summary>Creates the optimizer with its default group.</summary>
    /// <param name="learningRate">The default group's learning rate.</param>
    /// <param name="weightDecay">The default group's weight decay.</param>
    /// <param name="l1">The default group's L1 penalty.</param>
    protected Optimizer(double learningRate, double weightDecay, double l1)
    {
        ParameterGroup defaults = new(this, null);
        _groups.Add(defaults);
        defaults.LearningRate = learningRate;
        defaults.WeightDecay = weightDecay;
        defaults.L1 = l1;
    }

    /// <summary>The optimizer's name in messages, such as "Adam".</summary>
    public abstract string Name { get; }

    /// <summary>The parameter groups; the first is the default group.</summary>
    public IReadOnlyList<ParameterGroup> Groups => _groups;

    /// <summary>The default group (PyTorch's defaults), holding every parameter no other group names.</summary>
    public ParameterGroup DefaultGroup => _groups[0];

    /// <summary>
    /// When set, gradients are scaled by max / (norm + 1e-6) where their global L2 norm over all parameters exceeds it
    /// (PyTorch's clip_grad_norm_), after clipping by value.
    /// </summary>
    public double? MaxGradientNorm
    {
        get => _maxGradientNorm;
        init => _maxGradientNorm = Positive(value, "max_norm");
    }

    /// <summary>When set, every gradient element is clamped to [-value, value] (PyTorch's clip_grad_value_), before clipping by norm.</summary>
    public double? MaxGradientValue
    {
        get => _maxGradientValue;
        init => _maxGradientValue = Positive(value, "clip_value");
    }

    /// <summary>Which setting a one-cycle schedule cycles: SGD's momentum, Adam's beta1, or none.</summary>
    internal virtual CycledMomentum CycledMomentum => CycledMomentum.None;

    /// <summary>
    /// Adds a group of <paramref name="parameters"/> with the default group's settings, then <paramref name="configure"/>
    /// applied (such as <c>g => g.LearningRate = 1e-3</c>). Call before the training graph is built.
    /// </summary>
    public ParameterGroup AddGroup(IEnumerable<Value> parameters, Action<ParameterGroup>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (_slots.Count > 0) throw new InvalidOperationException($"{Name}: groups must be added before the training graph is built.");
        Value[] members = parameters.ToArray();
        foreach (Value parameter in members)
        {
            if (_groups.Skip(1).Any(g => g.Parameters!.Contains(parameter)) || members.Count(p => ReferenceEquals(p, parameter)) > 1)
            {
                throw new ArgumentException($"{Name}: parameter '{parameter.Name}' is in more than one group.", nameof(parameters));
            }
        }

        var group = new ParameterGroup(this, members);
        group.CopySettingsFrom(DefaultGroup);
        configure?.Invoke(group);
        _groups.Add(group);
        return group;
    }

    /// <summary>The group whose settings update <paramref name="parameter"/>.</summary>
    public ParameterGroup GroupOf(Value parameter) =>
        _groups.Skip(1).FirstOrDefault(g => g.Parameters!.Contains(parameter)) ?? DefaultGroup;

    /// <summary>The native update kind of <paramref name="group"/>'s parameters.</summary>
    private protected abstract OptimizerKind KindOf(ParameterGroup group);

    /// <summary>The names of the state tensors one parameter of <paramref name="group"/> needs (PyTorch's state keys).</summary>
    private protected abstract string[] StateNamesOf(ParameterGroup group);

    /// <summary>The value a state tensor starts at.</summary>
    private protected virtual double InitialStateValue(int index) => 0;

    /// <summary>Kind-specific attributes of the update nodes (recorded in the graph; launches read the live group).</summary>
    private protected virtual void AddKindAttributes(Dictionary<string, object> attributes, ParameterGroup group)
    {
    }

    /// <summary>
    /// The gradients the updates use: each parameter's gradient plus its group's l1 * sign(w), clipped by value then by
    /// global norm where configured, all as graph ops.
    /// </summary>
    public Value[] ProcessGradients(IReadOnlyList<Value> parameters, IReadOnlyList<Value> gradients)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(gradients);
        if (parameters.Count != gradients.Count)
        {
            throw new ArgumentException($"{Name}: {parameters.Count} parameters but {gradients.Count} gradients.", nameof(gradients));
        }

        var result = new Value[gradients.Count];
        for (int i = 0; i < result.Length; i++)
        {
            double l1 = GroupOf(parameters[i]).L1;
            result[i] = l1 == 0 ? gradients[i] : gradients[i] + parameters[i].Apply("Sign") * l1;
        }

        if (MaxGradientValue is { } clipValue) result = GradientClipping.ClipByValue(result, clipValue);
        if (MaxGradientNorm is { } maxNorm) result = GradientClipping.ClipByGlobalNorm(result, maxNorm);
        return result;
    }

    /// <summary>Adds the update of <paramref name="parameter"/> by <paramref name="gradient"/>, creating its state.</summary>
    public void AddUpdate(Graph graph, Value parameter, Value gradient) => AddStep(graph, parameter, gradient, CreateState(graph, parameter));

    /// <summary>Creates the state tensors of <paramref name="parameter"/> as graph parameters named "{parameter}.{state}".</summary>
    internal Value[] CreateState(Graph graph, Value parameter)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(parameter);
        if (parameter.Kind != ValueKind.Parameter || parameter.Data is null)
        {
            throw new GraphValidationException($"{Name}: '{parameter.Name}' is not a parameter with data, so it cannot be trained.");
        }

        if (_slots.ContainsKey(parameter) || _slots.Keys.Any(p => p.Name == parameter.Name))
        {
            throw new InvalidOperationException($"{Name}: parameter '{parameter.Name}' already has an update; an optimizer serves one training graph.");
        }

        ParameterGroup group = GroupOf(parameter);
        string[] names = StateNamesOf(group);
        var states = new Value[names.Length];
        for (int i = 0; i < names.Length; i++)
        {
            Tensor state = Tensor.Full(parameter.Data.Shape, InitialStateValue(i), parameter.DType, parameter.Data.Device).MoveToOuterScope();
            if (_pending is not null) CopySaved(_pending, $"{parameter.Name}.{names[i]}", state);
            states[i] = graph.Parameter($"{parameter.Name}.{names[i]}", state);
        }

        group.IsBuilt = true;
        group.HasMomentumBuffer = names.Contains("momentum_buffer");
        long steps = _pending is null ? 0 : checked((long)_pending.Scalar($"{parameter.Name}.step", Name));
        _slots[parameter] = new Slot(group, names, states, [], steps);
        return states;
    }

    /// <summary>Adds one fused update of <paramref name="parameter"/> (or a view of it) with <paramref name="states"/> (views alike).</summary>
    internal void AddStep(Graph graph, Value parameter, Value gradient, Value[] states)
    {
        Slot slot = _slots[Scheduling.Scheduler.Root(parameter)];
        ParameterGroup group = slot.Group;
        var attributes = new Dictionary<string, object>
        {
            ["kind"] = (long)KindOf(group), ["lr"] = group.LearningRate, ["weight_decay"] = group.WeightDecay, ["eps"] = group.Epsilon,
        };
        AddKindAttributes(attributes, group);
        graph.Apply("OptimizerStep", [parameter, gradient, .. states], attributes, graph.Fresh($"{Scheduling.Scheduler.Root(parameter).Name}_update"));
        Node node = graph.Nodes[^1];
        OptimizerStepOp.UseLiveSettings(node, group);
        OptimizerStepOp.SetStepCount(node, slot.InitialStep);
        slot.Nodes.Add(node);
    }

    /// <summary>
    /// A copy of the optimizer's state: "{parameter}.{state}" tensors (PyTorch's state names, such as exp_avg),
    /// "{parameter}.step" step counters, and "groups.{i}.{setting}" live settings of each group.
    /// </summary>
    public StateDict SaveState()
    {
        var state = new StateDict();
        foreach ((Value parameter, Slot slot) in _slots)
        {
            for (int i = 0; i < slot.States.Length; i++)
            {
                state.Tensors[$"{parameter.Name}.{slot.StateNames[i]}"] = slot.States[i].Data!.Clone().MoveToOuterScope();
            }

            state.Scalars[$"{parameter.Name}.step"] = slot.Nodes.Count == 0 ? 0 : OptimizerStepOp.StepCount(slot.Nodes[0]);
        }

        // Loaded but not yet taken by a built graph: still the state to save.
        if (_slots.Count == 0 && _pending is not null)
        {
            foreach ((string key, Tensor tensor) in _pending.Tensors) state.Tensors[key] = tensor.Clone().MoveToOuterScope();
            foreach ((string key, double value) in _pending.Scalars.Where(p => !p.Key.StartsWith("groups.", StringComparison.Ordinal))) state.Scalars[key] = value;
        }

        for (int g = 0; g < _groups.Count; g++)
        {
            foreach ((string name, Func<ParameterGroup, double> get, _) in s_settings) state.Scalars[$"groups.{g}.{name}"] = get(_groups[g]);
        }

        return state;
    }

    /// <summary>
    /// Restores a state from <see cref="SaveState"/> of an optimizer of the same kind, groups and parameters. The group
    /// settings apply at once; the state tensors and step counts too when the training graph is built, otherwise when it
    /// is (a copy is kept until then), so a checkpoint can be loaded into a fresh model before its first step.
    /// </summary>
    /// <exception cref="KeyNotFoundException">An entry is missing; the message names it.</exception>
    /// <exception cref="ArgumentException">A state tensor's dtype or shape differs from its parameter's.</exception>
    public void LoadState(StateDict state)
    {
        ArgumentNullException.ThrowIfNull(state);
        foreach ((Value parameter, Slot slot) in _slots)
        {
            for (int i = 0; i < slot.StateNames.Length; i++) Validate(state, $"{parameter.Name}.{slot.StateNames[i]}", slot.States[i].Data!);
            state.Scalar($"{parameter.Name}.step", Name);
        }

        var settings = new double[_groups.Count, s_settings.Length];
        for (int g = 0; g < _groups.Count; g++)
        {
            for (int s = 0; s < s_settings.Length; s++) settings[g, s] = state.Scalar($"groups.{g}.{s_settings[s].Name}", Name);
        }

        for (int g = 0; g < _groups.Count; g++)
        {
            for (int s = 0; s < s_settings.Length; s++) s_settings[s].Set(_groups[g], settings[g, s]);
        }

        if (_slots.Count == 0)
        {
            _pending?.Dispose();
            _pending = new StateDict();
            foreach ((string key, Tensor tensor) in state.Tensors) _pending.Tensors[key] = tensor.Clone().MoveToOuterScope();
            foreach ((string key, double value) in state.Scalars) _pending.Scalars[key] = value;
            return;
        }

        foreach ((Value parameter, Slot slot) in _slots)
        {
            for (int i = 0; i < slot.States.Length; i++) CopySaved(state, $"{parameter.Name}.{slot.StateNames[i]}", slot.States[i].Data!);
            long step = checked((long)state.Scalar($"{parameter.Name}.step", Name));
            foreach (Node node in slot.Nodes) OptimizerStepOp.SetStepCount(node, step);
        }
    }

    /// <summary>Frees a state loaded before the graph was built, once every update has taken its part.</summary>
    internal void ReleasePendingState()
    {
        _pending?.Dispose();
        _pending = null;
    }

    private void CopySaved(StateDict state, string key, Tensor target)
    {
        Validate(state, key, target);
        state.Tensors[key].CopyTo(target);
    }

    private void Validate(StateDict state, string key, Tensor target)
    {
        Tensor saved = state.Tensor(key, Name);
        if (saved.Shape != target.Shape || saved.DType != target.DType)
        {
            throw new ArgumentException($"{Name}: saved state '{key}' is {saved.DType.ShortName()} {saved.Shape} but the parameter's is {target.DType.ShortName()} {target.Shape}.", nameof(state));
        }
    }

    private double? Positive(double? value, string name) => value is null or > 0 ? value
        : throw new ArgumentOutOfRangeException(name, value, $"{Name}: {name} must be > 0 but is {value}.");

    private static readonly (string Name, Func<ParameterGroup, double> Get, Action<ParameterGroup, double> Set)[] s_settings =
    [
        ("lr", g => g.LearningRate, (g, v) => g.LearningRate = v),
        ("momentum", g => g.Momentum, (g, v) => g.Momentum = v),
        ("dampening", g => g.Dampening, (g, v) => g.Dampening = v),
        ("beta1", g => g.Beta1, (g, v) => g.Beta1 = v),
        ("beta2", g => g.Beta2, (g, v) => g.Beta2 = v),
        ("alpha", g => g.Alpha, (g, v) => g.Alpha = v),
        ("eps", g => g.Epsilon, (g, v) => g.Epsilon = v),
        ("weight_decay", g => g.WeightDecay, (g, v) => g.WeightDecay = v),
        ("lr_decay", g => g.LearningRateDecay, (g, v) => g.LearningRateDecay = v),
    ];

    private sealed record Slot(ParameterGroup Group, string[] StateNames, Value[] States, List<Node> Nodes, long InitialStep);
}

/// <summary>The hyperparameter a one-cycle schedule cycles inversely to the learning rate.</summary>
internal enum CycledMomentum
{
    None,
    Momentum,
    Beta1,
}

/// <summary>
/// SGD (PyTorch's torch.optim.SGD): with momentum when <c>momentum</c> is nonzero (buffer = g on the first step, then
/// momentum * buffer + (1 - dampening) * g) and Nesterov's form g + momentum * buffer when <c>nesterov</c>.
/// </summary>
public sealed class Sgd : Optimizer
{
    /// <summary>Creates the optimizer; the settings become the default group's.</summary>
    /// <param name="learningRate">Learning rate (PyTorch requires one; 0.01 here).</param>
    /// <param name="momentum">Momentum factor.</param>
    /// <param name="dampening">Dampening of the momentum buffer.</param>
    /// <param name="nesterov">Nesterov momentum (needs momentum &gt; 0 and dampening 0).</param>
    /// <param name="weightDecay">L2 penalty added to the gradient.</param>
    /// <param name="l1">L1 penalty added to the gradient.</param>
    public Sgd(double learningRate = 1e-2, double momentum = 0, double dampening = 0, bool nesterov = false, double weightDecay = 0, double l1 = 0)
        : base(learningRate, weightDecay, l1)
    {
        DefaultGroup.Momentum = momentum;
        DefaultGroup.Dampening = dampening;
        Nesterov = nesterov;
        if (nesterov && (momentum <= 0 || dampening != 0))
        {
            throw new ArgumentException($"Sgd: nesterov needs momentum > 0 and dampening 0 but has momentum {momentum}, dampening {dampening}.", nameof(nesterov));
        }
    }

    /// <inheritdoc/>
    public override string Name => "Sgd";

    /// <summary>Whether momentum is Nesterov's.</summary>
    public bool Nesterov { get; }

    internal override CycledMomentum CycledMomentum => CycledMomentum.Momentum;

    private protected override OptimizerKind KindOf(ParameterGroup group)
    {
        if (group.Momentum == 0) return OptimizerKind.Sgd;
        if (Nesterov && group.Dampening != 0) throw new ArgumentException($"Sgd: nesterov needs dampening 0 but a group has dampening {group.Dampening}.");
        return Nesterov ? OptimizerKind.Nesterov : OptimizerKind.Momentum;
    }

    private protected override string[] StateNamesOf(ParameterGroup group) => group.Momentum == 0 ? [] : ["momentum_buffer"];

    private protected override void AddKindAttributes(Dictionary<string, object> attributes, ParameterGroup group)
    {
        attributes["momentum"] = group.Momentum;
        attributes["dampening"] = group.Dampening;
    }
}

/// <summary>
/// Adam (PyTorch's torch.optim.Adam): m and v decay by beta1 and beta2, the step is lr / (1 - beta1^t) * m /
/// (sqrt(v) / sqrt(1 - beta2^t) + eps) with t counted per parameter from 1; weight decay is L2 added to the gradient,
/// or decoupled (param *= 1 - lr * weight_decay first) when <c>decoupled</c>, as <see cref="AdamW"/>. AMSGrad is not
/// offered: the fused kernel keeps two state tensors per parameter and has no running maximum.
/// </summary>
public class Adam : Optimizer
{
    /// <summary>Creates the optimizer; the settings become the default group's.</summary>
    /// <param name="learningRate">Learning rate.</param>
    /// <param name="beta1">First-moment decay, in [0, 1).</param>
    /// <param name="beta2">Second-moment decay, in [0, 1).</param>
    /// <param name="epsilon">Denominator term.</param>
    /// <param name="weightDecay">L2 penalty, or the decoupled decay factor.</param>
    /// <param name="decoupled">Decoupled weight decay (AdamW).</param>
    /// <param name="l1">L1 penalty added to the gradient.</param>
    public Adam(double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8, double weightDecay = 0, bool decoupled = false,
        double l1 = 0)
        : base(learningRate, weightDecay, l1)
    {
        Decoupled = decoupled;
        DefaultGroup.Beta1 = beta1;
        DefaultGroup.Beta2 = beta2;
        DefaultGroup.Epsilon = epsilon;
    }

    /// <inheritdoc/>
    public override string Name => Decoupled ? "AdamW" : "Adam";

    /// <summary>Whether weight decay is decoupled from the gradient (AdamW).</summary>
    public bool Decoupled { get; }

    internal override CycledMomentum CycledMomentum => CycledMomentum.Beta1;

    private protected override OptimizerKind KindOf(ParameterGroup group) => Decoupled ? OptimizerKind.Adamw : OptimizerKind.Adam;

    private protected override string[] StateNamesOf(ParameterGroup group) => ["exp_avg", "exp_avg_sq"];

    private protected override void AddKindAttributes(Dictionary<string, object> attributes, ParameterGroup group)
    {
        attributes["beta1"] = group.Beta1;
        attributes["beta2"] = group.Beta2;
    }
}

/// <summary>AdamW (PyTorch's torch.optim.AdamW): Adam with decoupled weight decay, 0.01 by default as in PyTorch.</summary>
/// <param name="learningRate">Learning rate.</param>
/// <param name="beta1">First-moment decay, in [0, 1).</param>
/// <param name="beta2">Second-moment decay, in [0, 1).</param>
/// <param name="epsilon">Denominator term.</param>
/// <param name="weightDecay">Decoupled decay factor.</param>
/// <param name="l1">L1 penalty added to the gradient.</param>
public sealed class AdamW(double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8, double weightDecay = 1e-2, double l1 = 0)
    : Adam(learningRate, beta1, beta2, epsilon, weightDecay, decoupled: true, l1);

/// <summary>
/// RMSprop (PyTorch's torch.optim.RMSprop): square_avg = alpha * square_avg + (1 - alpha) * g^2, and with
/// <c>centered</c> the mean gradient's square is subtracted; step lr * g / (sqrt(avg) + eps). PyTorch's momentum option
/// is not offered: the fused kernel has no RMSprop momentum buffer.
/// </summary>
public sealed class RmsProp : Optimizer
{
    /// <summary>Creates the optimizer; the settings become the default group's.</summary>
    /// <param name="learningRate">Learning rate.</param>
    /// <param name="alpha">Smoothing constant, in [0, 1).</param>
    /// <param name="epsilon">Denominator term.</param>
    /// <param name="weightDecay">L2 penalty added to the gradient.</param>
    /// <param name="centered">Normalize by the gradient's estimated variance instead of its second moment.</param>
    /// <param name="l1">L1 penalty added to the gradient.</param>
    public RmsProp(double learningRate = 1e-2, double alpha = 0.99, double epsilon = 1e-8, double weightDecay = 0, bool centered = false, double l1 = 0)
        : base(learningRate, weightDecay, l1)
    {
        Centered = centered;
        DefaultGroup.Alpha = alpha;
        DefaultGroup.Epsilon = epsilon;
    }

    /// <inheritdoc/>
    public override string Name => "RmsProp";

    /// <summary>Whether the variant is centered.</summary>
    public bool Centered { get; }

    private protected override OptimizerKind KindOf(ParameterGroup group) => OptimizerKind.Rmsprop;

    private protected override string[] StateNamesOf(ParameterGroup group) => Centered ? ["square_avg", "grad_avg"] : ["square_avg"];

    private protected override void AddKindAttributes(Dictionary<string, object> attributes, ParameterGroup group)
    {
        attributes["alpha"] = group.Alpha;
        attributes["centered"] = Centered ? 1L : 0L;
    }
}

/// <summary>
/// Adagrad (PyTorch's torch.optim.Adagrad): sum += g^2, step lr / (1 + (t - 1) * lr_decay) * g / (sqrt(sum) + eps),
/// the sum starting at <c>initialAccumulatorValue</c>.
/// </summary>
public sealed class Adagrad : Optimizer
{
    /// <summary>Creates the optimizer; the settings become the default group's.</summary>
    /// <param name="learningRate">Learning rate.</param>
    /// <param name="learningRateDecay">Learning-rate decay per step.</param>
    /// <param name="weightDecay">L2 penalty added to the gradient.</param>
    /// <param name="initialAccumulatorValue">Starting value of the sum of squares, at least 0.</param>
    /// <param name="epsilon">Denominator term.</param>
    /// <param name="l1">L1 penalty added to the gradient.</param>
    public Adagrad(double learningRate = 1e-2, double learningRateDecay = 0, double weightDecay = 0, double initialAccumulatorValue = 0, double epsilon = 1e-10,
        double l1 = 0)
        : base(learningRate, weightDecay, l1)
    {
        if (!(initialAccumulatorValue >= 0 && double.IsFinite(initialAccumulatorValue)))
        {
            throw new ArgumentOutOfRangeException(nameof(initialAccumulatorValue), initialAccumulatorValue,
                $"Adagrad: initial_accumulator_value must be a finite number >= 0 but is {initialAccumulatorValue}.");
        }

        InitialAccumulatorValue = initialAccumulatorValue;
        DefaultGroup.LearningRateDecay = learningRateDecay;
        DefaultGroup.Epsilon = epsilon;
    }

    /// <inheritdoc/>
    public override string Name => "Adagrad";

    /// <summary>The value the sum of squares starts at.</summary>
    public double InitialAccumulatorValue { get; }

    private protected override OptimizerKind KindOf(ParameterGroup group) => OptimizerKind.Adagrad;

    private protected override string[] StateNamesOf(ParameterGroup group) => ["sum"];

    private protected override double InitialStateValue(int index) => InitialAccumulatorValue;

    private protected override void AddKindAttributes(Dictionary<string, object> attributes, ParameterGroup group) =>
        attributes["lr_decay"] = group.LearningRateDecay;
}

/// <summary>Builds a training step (forward, backward, optimizer update) as one compiled graph.</summary>
public static class TrainingStep
{
    /// <summary>
    /// Largest weight gradient materialized whole. The gradient of a bigger MatMul weight is computed in row blocks,
    /// each applied by the optimizer to the matching rows before the next is computed, so only one block is live.
    /// </summary>
    public const long GradientChunkBytes = 128 * 1024;

    /// <summary>
    /// Adds the gradients of <paramref name="loss"/> with respect to <paramref name="parameters"/> and one update per
    /// parameter to the graph, marks the loss as the output, and compiles. Each <c>Run</c> is then one step. The
    /// gradients pass through <see cref="Optimizer.ProcessGradients"/> (L1 penalty, clipping) first.
    /// </summary>
    /// <param name="loss">The scalar loss.</param>
    /// <param name="parameters">The parameters to train.</param>
    /// <param name="optimizer">The update rule.</param>
    /// <param name="options">Compile options.</param>
    /// <param name="gradientChunkBytes">Weight gradients of MatMuls larger than this are computed and applied in row blocks.</param>
    /// <param name="extraOutputs">Values also returned by each run, after the loss (such as the predictions, for metrics).</param>
    public static CompiledGraph Compile(Value loss, IReadOnlyList<Value> parameters, Optimizer optimizer, CompileOptions? options = null,
        long gradientChunkBytes = GradientChunkBytes, IReadOnlyList<Value>? extraOutputs = null)
    {
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(optimizer);
        Graph graph = loss.Graph;
        Value?[] gradients = Gradients.Of(loss, parameters);
        for (int i = 0; i < parameters.Count; i++)
        {
            if (gradients[i] is null) throw new GraphValidationException($"The loss '{loss.Name}' does not depend on parameter '{parameters[i].Name}'.");
        }

        Value[] processed = optimizer.ProcessGradients(parameters, gradients.Select(g => g!).ToArray());
        for (int i = 0; i < parameters.Count; i++) AddUpdate(graph, optimizer, parameters[i], processed[i], gradientChunkBytes);
        optimizer.ReleasePendingState();

        graph.ClearOutputs();
        graph.MarkOutput(loss);
        if (extraOutputs is not null) graph.MarkOutput([.. extraOutputs]);
        return CompiledGraph.Compile(graph, options);
    }

    private static void AddUpdate(Graph graph, Optimizer optimizer, Value parameter, Value gradient, long chunkBytes)
    {
        long bytes = parameter.Data!.ElementCount * parameter.DType.ElementSize();
        if (gradient.Producer is not { Op.Name: "MatMul" } matmul || parameter.Rank != 2 || matmul.Inputs[0].Rank != 2 || bytes <= chunkBytes)
        {
            optimizer.AddUpdate(graph, parameter, gradient);
            return;
        }

        // dW = A B with A of shape [rows, K]: block i is A[r0:r1] B, updating W[r0:r1] and the state rows alike.
        Value[] states = optimizer.CreateState(graph, parameter);
        long rows = parameter.Data.Shape[0];
        long chunks = (bytes + chunkBytes - 1) / chunkBytes;
        long rowsPerChunk = (rows + chunks - 1) / chunks;
        for (long start = 0; start < rows; start += rowsPerChunk)
        {
            long end = Math.Min(rows, start + rowsPerChunk);
            Value block = SliceOp.Slice(matmul.Inputs[0], start, end).MatMul(matmul.Inputs[1]);
            optimizer.AddStep(graph, SliceOp.Slice(parameter, start, end), block, states.Select(s => SliceOp.Slice(s, start, end)).ToArray());
        }
    }
}

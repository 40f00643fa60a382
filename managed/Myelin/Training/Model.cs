using System.Text;
using Myelin.Data;
using Myelin.Execution;
using Myelin.Graphs;
using Myelin.Metrics;
using Myelin.NN;
using Myelin.Ops;
using Myelin.Optim;
using Myelin.Training.CheckpointProto;

namespace Myelin.Training;

/// <summary>
/// A Keras-like model around a network <see cref="Layer"/>: <see cref="Compile"/> with a loss, an optimizer and metrics,
/// then <see cref="Fit"/>, <see cref="Evaluate"/> and <see cref="Predict"/>, or <see cref="TrainStep"/> in a custom loop.
/// Training runs ONE compiled graph (forward, backward and update; <see cref="TrainingStep.Compile"/>); evaluation and
/// prediction run graphs of the same modules in eval mode sharing the weights. Graphs are built on first use from the
/// first batch: axis 0 is the symbolic batch dimension "N", the other dimensions and the dtypes are fixed by that batch.
/// The model does not own the network; dispose the network yourself.
/// </summary>
public sealed class Model : IDisposable
{
    private const string InputName = "inputs", TargetName = "targets";

    private readonly Dictionary<string, Tensor> _feeds = [];
    private readonly CompileOptions? _options;
    private Metric<double>[] _metrics = [];
    private string[] _metricNames = [];
    private CompiledGraph? _train, _eval, _predict;
    private List<Callback> _callbacks = [];
    private List<IReadOnlyDictionary<string, double>> _history = [];

    // Loaded from a checkpoint, waiting for the training graph (dropout streams) or the next Fit (callbacks, history).
    private Dictionary<string, RandomStreamState>? _pendingStreams;
    private Dictionary<string, StateDict>? _pendingCallbacks;
    private List<IReadOnlyDictionary<string, double>>? _pendingHistory;

    /// <summary>Wraps <paramref name="network"/>.</summary>
    /// <param name="network">The network; its output is the prediction the loss and metrics compare with the targets.</param>
    /// <param name="options">Compile options of every graph the model builds.</param>
    public Model(Layer network, CompileOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        Network = network;
        _options = options;
    }

    /// <summary>The wrapped network.</summary>
    public Layer Network { get; }

    /// <summary>The loss given to <see cref="Compile"/>, or null before.</summary>
    public Loss? Loss { get; private set; }

    /// <summary>The optimizer given to <see cref="Compile"/>, or null before.</summary>
    public Optimizer? Optimizer { get; private set; }

    /// <summary>The metrics given to <see cref="Compile"/>, in order.</summary>
    public IReadOnlyList<Metric<double>> Metrics => _metrics;

    /// <summary>The names the metrics have in logs and history (snake case of the type name, such as "accuracy").</summary>
    public IReadOnlyList<string> MetricNames => _metricNames;

    /// <summary>Epochs completed: set by <see cref="Fit"/> after each epoch (counting from its initial epoch) and by <see cref="LoadCheckpoint"/>.</summary>
    public int Epoch { get; private set; }

    /// <summary>Training steps taken (<see cref="TrainStep"/> runs, also those of earlier runs restored by <see cref="LoadCheckpoint"/>).</summary>
    public long GlobalStep { get; private set; }

    /// <summary>Set (by a callback) to end <see cref="Fit"/> after the current batch; Fit clears it when it starts.</summary>
    public bool StopTraining { get; set; }

    /// <summary>
    /// Sets the loss, the optimizer and the metrics. Call once: the optimizer serves the one training graph built from
    /// the first batch.
    /// </summary>
    /// <exception cref="ArgumentException">Two metrics have one name.</exception>
    /// <exception cref="InvalidOperationException">The model is already compiled.</exception>
    public void Compile(Loss loss, Optimizer optimizer, params Metric<double>[] metrics)
    {
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(metrics);
        if (Loss is not null) throw new InvalidOperationException($"Model of {Network.DisplayName} is already compiled; an optimizer serves one training graph.");
        string[] names = metrics.Select(m => SnakeCase((m ?? throw new ArgumentNullException(nameof(metrics))).DisplayName)).ToArray();
        string? duplicate = names.Append("loss").GroupBy(n => n).FirstOrDefault(g => g.Count() > 1)?.Key;
        if (duplicate is not null) throw new ArgumentException($"Model of {Network.DisplayName}: two metrics (or a metric and the loss) are named '{duplicate}'.", nameof(metrics));
        (Loss, Optimizer, _metrics, _metricNames) = (loss, optimizer, metrics, names);
    }

    /// <summary>
    /// One training step on <paramref name="batch"/>: forward, backward and the optimizer's update, as one compiled run.
    /// The metrics are updated with this step's predictions (made in training mode, as Keras does); call
    /// <see cref="ResetMetrics"/> to start over. The caller keeps ownership of the batch.
    /// </summary>
    /// <returns>The batch's loss.</returns>
    public double TrainStep(Batch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        RequireCompiled(nameof(TrainStep));
        if (_train is null)
        {
            _train = BuildTrainingGraph(batch);
            if (_pendingStreams is not null) RestoreStreams(_pendingStreams, "the loaded checkpoint");
            _pendingStreams = null;
        }

        IReadOnlyList<Tensor> outputs = _train.Run(Feed(batch));
        _feeds.Clear();
        GlobalStep++;
        for (int i = 0; i < _metrics.Length; i++) _metrics[i].Update(outputs[1], batch.Targets);
        return ScalarOf(outputs[0]);
    }

    /// <summary>Forgets every batch the metrics have seen.</summary>
    public void ResetMetrics()
    {
        foreach (Metric<double> metric in _metrics) metric.Reset();
    }

    /// <summary>The metrics over the batches seen since <see cref="ResetMetrics"/>, by name.</summary>
    public IReadOnlyDictionary<string, double> MetricResults()
    {
        var results = new Dictionary<string, double>();
        for (int i = 0; i < _metrics.Length; i++) results[_metricNames[i]] = _metrics[i].Result;
        return results;
    }

    /// <summary>
    /// Trains for <paramref name="epochs"/> passes over <paramref name="train"/>, evaluating on
    /// <paramref name="validation"/> after each. The batch size is the sources' (they batch the data). Each epoch's logs
    /// hold "loss" (the sample-weighted mean of the batch losses), the metrics, "val_"-prefixed validation results, and
    /// "lr" (the default group's learning rate when the epoch began). Batches are disposed after use.
    /// </summary>
    /// <remarks>
    /// Resuming (Keras's initial_epoch): after <see cref="LoadCheckpoint"/>, call Fit with the same total
    /// <paramref name="epochs"/> and <paramref name="initialEpoch"/> = the checkpoint's epoch, with callbacks built as in
    /// the first run: the callbacks get their saved states after <see cref="Callback.OnTrainBegin"/>, the sources are
    /// asked for the same epoch numbers, and the returned history starts with the checkpoint's epochs. On the same
    /// machine and thread count the run then matches the uninterrupted one bit for bit.
    /// </remarks>
    /// <param name="train">The training batches.</param>
    /// <param name="validation">Batches evaluated after each epoch, or null.</param>
    /// <param name="epochs">The epoch to stop at (the number of epochs when <paramref name="initialEpoch"/> is 0), at least 1.</param>
    /// <param name="callbacks">Hooks called in order around epochs and batches.</param>
    /// <param name="progress">How progress is shown; <see cref="ProgressMode.Auto"/> picks a live bar on an interactive console, lines otherwise.</param>
    /// <param name="initialEpoch">The 0-based epoch to start at, in [0, <paramref name="epochs"/>].</param>
    /// <returns>The logs of every epoch run, after those of a loaded checkpoint.</returns>
    public History Fit(IBatchSource train, IBatchSource? validation = null, int epochs = 1, IEnumerable<Callback>? callbacks = null,
        ProgressMode progress = ProgressMode.Auto, int initialEpoch = 0)
    {
        ArgumentNullException.ThrowIfNull(train);
        if (epochs < 1) throw new ArgumentOutOfRangeException(nameof(epochs), epochs, $"Model of {Network.DisplayName}: epochs must be at least 1 but is {epochs}.");
        if (initialEpoch < 0 || initialEpoch > epochs)
        {
            throw new ArgumentOutOfRangeException(nameof(initialEpoch), initialEpoch, $"Model of {Network.DisplayName}: initialEpoch must be in [0, {epochs}] but is {initialEpoch}.");
        }

        RequireCompiled(nameof(Fit));
        List<Callback> hooks = [.. callbacks ?? []];
        Callback? display = progress switch
        {
            ProgressMode.None => null,
            ProgressMode.Lines => new ProgressLogger(Console.Out),
            ProgressMode.Bar => new ProgressBar(),
            _ => Console.IsOutputRedirected ? new ProgressLogger(Console.Out) : new ProgressBar(),
        };
        if (display is not null) hooks.Add(display);
        RequireCallbackStatesMatched(hooks);

        var history = new History();
        _history = _pendingHistory ?? [];
        foreach (IReadOnlyDictionary<string, double> logs in _history) history.Add(logs);
        var plan = new FitPlan(epochs, train.SampleCount, validation is not null, initialEpoch);
        StopTraining = false;
        _callbacks = hooks;
        Callback[] epochEndOrder = [.. hooks.Where(h => !h.RunsLastAtEpochEnd), .. hooks.Where(h => h.RunsLastAtEpochEnd)];
        foreach (Callback hook in hooks) hook.Attach(this);
        try
        {
            foreach (Callback hook in hooks) hook.OnTrainBegin(plan);
            RestoreCallbacks(hooks);
            Epoch = initialEpoch;
            for (int epoch = initialEpoch; epoch < epochs && !StopTraining; epoch++)
            {
                foreach (Callback hook in hooks) hook.OnEpochBegin(epoch);
                double rate = Optimizer!.DefaultGroup.LearningRate;
                Dictionary<string, double> logs = TrainEpoch(train, epoch, hooks);
                if (validation is not null)
                {
                    foreach ((string name, double value) in EvaluateEpoch(validation, epoch)) logs["val_" + name] = value;
                }

                logs["lr"] = rate;
                history.Add(logs);
                _history.Add(logs);
                Epoch = epoch + 1;
                foreach (Callback hook in epochEndOrder) hook.OnEpochEnd(epoch, logs);
            }
        }
        finally
        {
            foreach (Callback hook in hooks) hook.OnTrainEnd();
        }

        return history;
    }

    /// <summary>The loss and the metrics over <paramref name="data"/> (its epoch 0), with the network in eval mode.</summary>
    /// <returns>"loss" (the sample-weighted mean of the batch losses) and each metric, by name.</returns>
    public IReadOnlyDictionary<string, double> Evaluate(IBatchSource data)
    {
        ArgumentNullException.ThrowIfNull(data);
        RequireCompiled(nameof(Evaluate));
        return EvaluateEpoch(data, 0);
    }

    /// <summary>The network's output for <paramref name="inputs"/> (batch first), in eval mode; the caller owns the result.</summary>
    public Tensor Predict(Tensor inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (_predict is null)
        {
            var graph = new Graph();
            Value input = graph.Input(InputName, inputs.DType, BatchDims(inputs));
            graph.MarkOutput(InEvalMode(() => Network.Forward(input)));
            _predict = CompiledGraph.Compile(graph, _options);
        }

        _feeds.Clear();
        _feeds[InputName] = inputs;
        Tensor result = _predict.Run(_feeds)[0].Clone();
        _feeds.Clear();
        return result;
    }

    /// <summary>Copies of the network's parameters and buffers, by path; the caller owns (and disposes) them.</summary>
    public IReadOnlyDictionary<string, Tensor> CopyWeights() =>
        NamedWeights().ToDictionary(w => w.Path, w => w.Tensor.Clone().MoveToOuterScope());

    /// <summary>Copies <paramref name="weights"/> (by path, as from <see cref="CopyWeights"/>) into the network's parameters and buffers.</summary>
    /// <exception cref="ArgumentException">A weight is missing, or its dtype or shape differs.</exception>
    public void LoadWeights(IReadOnlyDictionary<string, Tensor> weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var targets = NamedWeights().ToList();
        foreach ((string path, Tensor target) in targets)
        {
            if (!weights.TryGetValue(path, out Tensor? source))
            {
                throw new ArgumentException($"Model of {Network.DisplayName}: the weights have no entry '{path}'.", nameof(weights));
            }

            if (source.Shape != target.Shape || source.DType != target.DType)
            {
                throw new ArgumentException($"Model of {Network.DisplayName}: weight '{path}' is {source.DType.ShortName()} {source.Shape} but the network's is {target.DType.ShortName()} {target.Shape}.", nameof(weights));
            }
        }

        foreach ((string path, Tensor target) in targets) weights[path].CopyTo(target);
    }

    /// <summary>Saves the network's weights to <paramref name="path"/> atomically, as a checkpoint without training state (see <see cref="TrainingCheckpoint"/>).</summary>
    /// <param name="path">The file.</param>
    public void SaveWeights(string path) => TrainingCheckpoint.Write(path, NamedWeights(), null);

    /// <summary>Loads the weights of a checkpoint (<see cref="SaveWeights"/> or <see cref="SaveCheckpoint"/>) into the network, ignoring any training state.</summary>
    /// <exception cref="CheckpointException">The file is unreadable, or its weights do not match the network's (the first mismatch is named).</exception>
    public void LoadWeights(string path)
    {
        using TrainingCheckpoint checkpoint = TrainingCheckpoint.Load(path);
        CopyCheckpointWeights(checkpoint, MatchWeights(checkpoint));
    }

    /// <summary>
    /// Saves the full training state to <paramref name="path"/> atomically: the weights, the epoch and step counts, the
    /// optimizer's state (slots, step counters, group settings), every dropout node's random stream, the state of the
    /// callbacks of the current (or last) <see cref="Fit"/> (schedules, early stopping, best checkpoint) and the history.
    /// The data sources need no state: their shuffling and transforms are functions of their seed and the epoch number.
    /// Save between epochs (as <see cref="ModelCheckpoint"/> does) for a checkpoint that resumes exactly.
    /// </summary>
    public void SaveCheckpoint(string path)
    {
        var training = new TrainingState { Epoch = Epoch, GlobalStep = GlobalStep };
        if (Optimizer is not null)
        {
            training.OptimizerName = Optimizer.Name;
            using StateDict optimizer = Optimizer.SaveState();
            training.Optimizer = TrainingCheckpoint.ToProto(optimizer);
        }

        IEnumerable<(string Node, RandomStreamState Stream)> streams = _train is not null
            ? _train.Graph.Nodes.Where(n => n.Op is DropoutOp).Select(n => (n.Name, Stream: DropoutOp.StreamOf(n))).Select(p => (p.Name, new RandomStreamState(p.Stream.Seed, p.Stream.Offset)))
            : (_pendingStreams ?? []).Select(p => (p.Key, p.Value));
        foreach ((string node, RandomStreamState stream) in streams) training.RandomStreams.Add(new RandomStream { Node = node, Seed = stream.Seed, Offset = stream.Offset });
        if (_pendingCallbacks is not null)
        {
            // Loaded and not yet handed to a Fit: saved as they are.
            foreach ((string key, StateDict state) in _pendingCallbacks) training.Callbacks.Add(new NamedState { Name = key, State = TrainingCheckpoint.ToProto(state) });
        }
        else
        {
            foreach ((string key, Callback callback) in CallbackKeys(_callbacks))
            {
                using StateDict? state = callback.SaveState();
                if (state is not null) training.Callbacks.Add(new NamedState { Name = key, State = TrainingCheckpoint.ToProto(state) });
            }
        }

        foreach (IReadOnlyDictionary<string, double> logs in _pendingHistory ?? _history)
        {
            var entry = new EpochLogs();
            entry.Values.Add(logs.ToDictionary());
            training.History.Add(entry);
        }

        TrainingCheckpoint.Write(path, NamedWeights(), training);
    }

    /// <summary>
    /// Loads a checkpoint from <see cref="SaveCheckpoint"/> to resume training: the weights now; the optimizer's state
    /// now (its tensors once the training graph is built, see <see cref="Optim.Optimizer.LoadState"/>); the dropout
    /// streams when the training graph is built; the callback states and history at the next <see cref="Fit"/>, which
    /// should start at the returned checkpoint's <see cref="TrainingCheckpoint.Epoch"/> (its initialEpoch). Compile the
    /// model first with the same kind of optimizer (and groups) as the saved run. A weights-only file loads the weights.
    /// </summary>
    /// <returns>The epoch to resume at (epochs completed in the checkpoint).</returns>
    /// <exception cref="CheckpointException">The file is unreadable, or was saved from another model or optimizer; the message names the first mismatch.</exception>
    public int LoadCheckpoint(string path)
    {
        using TrainingCheckpoint checkpoint = TrainingCheckpoint.Load(path);
        if (checkpoint.HasTrainingState && Optimizer is not null && checkpoint.OptimizerState is not null && checkpoint.OptimizerName != Optimizer.Name)
        {
            throw new CheckpointException($"{path}: the checkpoint holds {checkpoint.OptimizerName} state but the model is compiled with {Optimizer.Name}.");
        }

        // The weights are checked before anything changes, and each later part before it is applied.
        List<(string Path, Tensor Tensor)> targets = MatchWeights(checkpoint);
        if (!checkpoint.HasTrainingState)
        {
            CopyCheckpointWeights(checkpoint, targets);
            return 0;
        }

        if (_train is not null) RestoreStreams(checkpoint.RandomStreams, path);
        else _pendingStreams = new Dictionary<string, RandomStreamState>(checkpoint.RandomStreams);
        if (Optimizer is not null && checkpoint.OptimizerState is not null)
        {
            try
            {
                Optimizer.LoadState(checkpoint.OptimizerState);
            }
            catch (Exception exception) when (exception is KeyNotFoundException or ArgumentException)
            {
                throw new CheckpointException($"{path}: training.optimizer: {exception.Message}", exception);
            }
        }

        CopyCheckpointWeights(checkpoint, targets);
        DisposePendingCallbacks();
        _pendingCallbacks = new Dictionary<string, StateDict>(checkpoint.CallbackStates);
        checkpoint.CallbackStates.Clear();
        _pendingHistory = [.. checkpoint.History];
        (Epoch, GlobalStep) = (checkpoint.Epoch, checkpoint.GlobalStep);
        return checkpoint.Epoch;
    }

    /// <summary>Frees the compiled graphs (not the network) and any checkpoint state not yet restored.</summary>
    public void Dispose()
    {
        DisposePendingCallbacks();
        _train?.Dispose();
        _eval?.Dispose();
        _predict?.Dispose();
        (_train, _eval, _predict) = (null, null, null);
    }

    private IEnumerable<(string Path, Tensor Tensor)> NamedWeights() => Network.NamedParameters().Concat(Network.NamedBuffers());

    /// <summary>The network's weights, after checking that the checkpoint's match them one for one; the first mismatch is named.</summary>
    private List<(string Path, Tensor Tensor)> MatchWeights(TrainingCheckpoint checkpoint)
    {
        var targets = NamedWeights().ToList();
        foreach ((string path, Tensor target) in targets)
        {
            if (!checkpoint.Weights.TryGetValue(path, out Tensor? source))
            {
                throw new CheckpointException($"{checkpoint.Source}: the checkpoint has no weight '{path}' ({target.DType.ShortName()} {target.Shape}) of {Network.DisplayName}; it was saved from another model.");
            }

            if (source.Shape != target.Shape || source.DType != target.DType)
            {
                throw new CheckpointException($"{checkpoint.Source}: weight '{path}' is {source.DType.ShortName()} {source.Shape} in the checkpoint but {target.DType.ShortName()} {target.Shape} in {Network.DisplayName}; it was saved from another model.");
            }
        }

        if (checkpoint.Weights.Keys.FirstOrDefault(k => !targets.Any(t => t.Path == k)) is { } extra)
        {
            throw new CheckpointException($"{checkpoint.Source}: the checkpoint's weight '{extra}' is not in {Network.DisplayName}; it was saved from another model.");
        }

        return targets;
    }

    private static void CopyCheckpointWeights(TrainingCheckpoint checkpoint, List<(string Path, Tensor Tensor)> targets)
    {
        foreach ((string path, Tensor target) in targets) checkpoint.Weights[path].CopyTo(target);
    }

    /// <summary>Sets the training graph's dropout streams from <paramref name="streams"/>; <paramref name="source"/> names them in messages.</summary>
    private void RestoreStreams(IReadOnlyDictionary<string, RandomStreamState> streams, string source)
    {
        Node[] dropouts = _train!.Graph.Nodes.Where(n => n.Op is DropoutOp).ToArray();
        Node? missing = dropouts.FirstOrDefault(n => !streams.ContainsKey(n.Name));
        if (missing is not null || dropouts.Length != streams.Count)
        {
            throw new CheckpointException($"{source}: the training graph has {dropouts.Length} dropout nodes but the checkpoint has {streams.Count} random streams (first node without one: {missing?.Name ?? "none"}).");
        }

        foreach (Node node in dropouts) DropoutOp.SetStream(node, streams[node.Name].Seed, streams[node.Name].Offset);
    }

    /// <summary>
    /// Refuses a Fit that lacks a callback whose state the loaded checkpoint holds (a schedule, early stopping, a best
    /// checkpoint): dropping that state would make the resumed run differ from the saved one without a word. The
    /// states stay loaded, so a Fit with the right callbacks can follow.
    /// </summary>
    private void RequireCallbackStatesMatched(IReadOnlyList<Callback> hooks)
    {
        if (_pendingCallbacks is null) return;
        HashSet<string> keys = [.. CallbackKeys(hooks).Select(entry => entry.Key)];
        string[] unmatched = [.. _pendingCallbacks.Keys.Where(key => !keys.Contains(key)).Order(StringComparer.Ordinal)];
        if (unmatched.Length == 0) return;
        throw new CheckpointException(
            $"Model of {Network.DisplayName}: the loaded checkpoint holds the state of callback {string.Join(", ", unmatched)}, but Fit was given no callback " +
            "with that key (the type name, with \"#n\" for the n-th of a type given more than once). Pass the callbacks of the run that saved the checkpoint.");
    }

    /// <summary>Gives the callbacks the states of a loaded checkpoint, matched by <see cref="CallbackKeys"/>.</summary>
    private void RestoreCallbacks(IReadOnlyList<Callback> hooks)
    {
        if (_pendingCallbacks is null) return;
        try
        {
            foreach ((string key, Callback callback) in CallbackKeys(hooks))
            {
                if (_pendingCallbacks.TryGetValue(key, out StateDict? state)) callback.LoadState(state);
            }
        }
        finally
        {
            DisposePendingCallbacks();
            _pendingHistory = null;
        }
    }

    private void DisposePendingCallbacks()
    {
        foreach (StateDict state in _pendingCallbacks?.Values.AsEnumerable() ?? []) state.Dispose();
        _pendingCallbacks = null;
    }

    /// <summary>Each callback's key in checkpoints: its type name, with "#n" for the n-th (from 1) of a type that occurs more than once.</summary>
    private static IEnumerable<(string Key, Callback Callback)> CallbackKeys(IReadOnlyList<Callback> hooks)
    {
        var seen = new Dictionary<string, int>();
        foreach (Callback hook in hooks)
        {
            string type = hook.GetType().Name;
            int n = seen[type] = seen.GetValueOrDefault(type) + 1;
            yield return (hooks.Count(h => h.GetType().Name == type) > 1 ? $"{type}#{n}" : type, hook);
        }
    }

    private Dictionary<string, double> TrainEpoch(IBatchSource train, int epoch, List<Callback> hooks)
    {
        ResetMetrics();
        double lossSum = 0;
        long samples = 0;
        int index = 0;
        foreach (Batch batch in train.Epoch(epoch))
        {
            using (batch)
            {
                foreach (Callback hook in hooks) hook.OnBatchBegin(index);
                double loss = TrainStep(batch);
                lossSum += loss * batch.Size;
                samples += batch.Size;
                var running = new Dictionary<string, double> { ["loss"] = lossSum / samples };
                foreach ((string name, double value) in MetricResults()) running[name] = value;
                var logs = new BatchLogs(index, batch.Size, loss, running);
                foreach (Callback hook in hooks) hook.OnBatchEnd(index, logs);
            }

            index++;
            if (StopTraining) break;
        }

        if (samples == 0) throw new InvalidOperationException($"Model of {Network.DisplayName}: the training source yielded no samples in epoch {epoch}.");
        var result = new Dictionary<string, double> { ["loss"] = lossSum / samples };
        foreach ((string name, double value) in MetricResults()) result[name] = value;
        return result;
    }

    private Dictionary<string, double> EvaluateEpoch(IBatchSource data, int epoch)
    {
        ResetMetrics();
        double lossSum = 0;
        long samples = 0;
        foreach (Batch batch in data.Epoch(epoch))
        {
            using (batch)
            {
                _eval ??= BuildEvaluationGraph(batch);
                IReadOnlyList<Tensor> outputs = _eval.Run(Feed(batch));
                _feeds.Clear();
                lossSum += ScalarOf(outputs[0]) * batch.Size;
                samples += batch.Size;
                foreach (Metric<double> metric in _metrics) metric.Update(outputs[1], batch.Targets);
            }
        }

        if (samples == 0) throw new InvalidOperationException($"Model of {Network.DisplayName}: the evaluation source yielded no samples.");
        var result = new Dictionary<string, double> { ["loss"] = lossSum / samples };
        foreach ((string name, double value) in MetricResults()) result[name] = value;
        return result;
    }

    private CompiledGraph BuildTrainingGraph(Batch batch)
    {
        var graph = new Graph();
        (Value input, Value target) = Inputs(graph, batch);
        bool wasTraining = Network.IsTraining;
        Network.Train();
        try
        {
            Value prediction = Network.Forward(input);
            Value loss = Loss!.Apply(prediction, target);
            return TrainingStep.Compile(loss, Network.ParametersIn(graph), Optimizer!, _options,
                extraOutputs: _metrics.Length == 0 ? null : [prediction]);
        }
        finally
        {
            Network.Train(wasTraining);
        }
    }

    private CompiledGraph BuildEvaluationGraph(Batch batch)
    {
        var graph = new Graph();
        (Value input, Value target) = Inputs(graph, batch);
        Value prediction = InEvalMode(() => Network.Forward(input));
        graph.MarkOutput(Loss!.Apply(prediction, target), prediction);
        return CompiledGraph.Compile(graph, _options);
    }

    private T InEvalMode<T>(Func<T> build)
    {
        bool wasTraining = Network.IsTraining;
        Network.Eval();
        try
        {
            return build();
        }
        finally
        {
            Network.Train(wasTraining);
        }
    }

    private static (Value Input, Value Target) Inputs(Graph graph, Batch batch) =>
        (graph.Input(InputName, batch.Inputs.DType, BatchDims(batch.Inputs)), graph.Input(TargetName, batch.Targets.DType, BatchDims(batch.Targets)));

    /// <summary>The tensor's dimensions with axis 0 made the symbolic batch dimension "N".</summary>
    private static Dim[] BatchDims(Tensor tensor)
    {
        if (tensor.Rank == 0) throw new ArgumentException($"{tensor.DisplayName} has no batch axis: model inputs and targets need rank >= 1.", nameof(tensor));
        return [Dim.Sym("N"), .. tensor.Shape.ToArray().Skip(1).Select(Dim.Of)];
    }

    private Dictionary<string, Tensor> Feed(Batch batch)
    {
        _feeds[InputName] = batch.Inputs;
        _feeds[TargetName] = batch.Targets;
        return _feeds;
    }

    private static double ScalarOf(Tensor tensor)
    {
        if (tensor.DType == DType.F64) return tensor.Item<double>();
        if (tensor.DType == DType.F32) return tensor.Item<float>();
        using Tensor f64 = tensor.Cast(DType.F64);
        return f64.Item<double>();
    }

    private void RequireCompiled(string what)
    {
        if (Loss is null) throw new InvalidOperationException($"Model of {Network.DisplayName}: call Compile(loss, optimizer, metrics) before {what}.");
    }

    /// <summary>"TopKAccuracy" becomes "top_k_accuracy".</summary>
    private static string SnakeCase(string name)
    {
        var text = new StringBuilder();
        for (int i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0) text.Append('_');
            text.Append(char.ToLowerInvariant(name[i]));
        }

        return text.ToString();
    }
}

/// <summary>What <see cref="Model.Fit"/> is about to do, given to <see cref="Callback.OnTrainBegin"/>.</summary>
/// <param name="Epochs">Epochs requested.</param>
/// <param name="SamplesPerEpoch">Training samples per epoch.</param>
/// <param name="HasValidation">Whether each epoch ends with a validation pass.</param>
/// <param name="InitialEpoch">The 0-based epoch Fit starts at (after a checkpoint, the epochs it completed).</param>
public sealed record FitPlan(int Epochs, long SamplesPerEpoch, bool HasValidation, int InitialEpoch = 0);

/// <summary>One training batch's results, given to <see cref="Callback.OnBatchEnd"/>.</summary>
/// <param name="Index">The batch's 0-based index in its epoch.</param>
/// <param name="Size">Samples in the batch.</param>
/// <param name="Loss">The batch's loss.</param>
/// <param name="Running">The epoch so far: "loss" (sample-weighted mean) and each metric.</param>
public sealed record BatchLogs(int Index, long Size, double Loss, IReadOnlyDictionary<string, double> Running);

/// <summary>The per-epoch logs of a <see cref="Model.Fit"/> run.</summary>
public sealed class History
{
    private readonly List<IReadOnlyDictionary<string, double>> _epochs = [];

    /// <summary>Each epoch's logs, in order.</summary>
    public IReadOnlyList<IReadOnlyDictionary<string, double>> Epochs => _epochs;

    /// <summary>The values of <paramref name="key"/> (such as "loss" or "val_accuracy"), one per epoch.</summary>
    /// <exception cref="KeyNotFoundException">No epoch logged <paramref name="key"/>; the message lists the keys.</exception>
    public IReadOnlyList<double> this[string key] => _epochs.Count > 0 && _epochs.All(e => e.ContainsKey(key))
        ? _epochs.Select(e => e[key]).ToArray()
        : throw new KeyNotFoundException($"History has no '{key}'; its keys are {string.Join(", ", _epochs.FirstOrDefault()?.Keys ?? [])}.");

    internal void Add(IReadOnlyDictionary<string, double> logs) => _epochs.Add(logs);
}

using System.Text;
using Myelin.Data;
using Myelin.Execution;
using Myelin.Graphs;
using Myelin.Metrics;
using Myelin.NN;
using Myelin.Optim;

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
        _train ??= BuildTrainingGraph(batch);
        IReadOnlyList<Tensor> outputs = _train.Run(Feed(batch));
        _feeds.Clear();
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
    /// <param name="train">The training batches.</param>
    /// <param name="validation">Batches evaluated after each epoch, or null.</param>
    /// <param name="epochs">Number of epochs, at least 1.</param>
    /// <param name="callbacks">Hooks called in order around epochs and batches.</param>
    /// <param name="progress">How progress is shown; <see cref="ProgressMode.Auto"/> picks a live bar on an interactive console, lines otherwise.</param>
    /// <returns>The logs of every epoch run.</returns>
    public History Fit(IBatchSource train, IBatchSource? validation = null, int epochs = 1, IEnumerable<Callback>? callbacks = null,
        ProgressMode progress = ProgressMode.Auto)
    {
        ArgumentNullException.ThrowIfNull(train);
        if (epochs < 1) throw new ArgumentOutOfRangeException(nameof(epochs), epochs, $"Model of {Network.DisplayName}: epochs must be at least 1 but is {epochs}.");
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

        var history = new History();
        var plan = new FitPlan(epochs, train.SampleCount, validation is not null);
        StopTraining = false;
        foreach (Callback hook in hooks) hook.Attach(this);
        try
        {
            foreach (Callback hook in hooks) hook.OnTrainBegin(plan);
            for (int epoch = 0; epoch < epochs && !StopTraining; epoch++)
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
                foreach (Callback hook in hooks) hook.OnEpochEnd(epoch, logs);
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

    /// <summary>Saves the network's weights to <paramref name="path"/> atomically (see <see cref="AtomicFile"/>).</summary>
    /// <param name="path">The file.</param>
    /// <param name="format">The file format; <see cref="NamedTensorFormat"/> by default.</param>
    public void SaveWeights(string path, ICheckpointFormat? format = null)
    {
        format ??= NamedTensorFormat.Instance;
        var weights = NamedWeights().Select(w => new KeyValuePair<string, Tensor>(w.Path, w.Tensor)).ToList();
        AtomicFile.Write(path, stream => format.Write(stream, weights));
    }

    /// <summary>Loads weights saved by <see cref="SaveWeights"/> into the network.</summary>
    public void LoadWeights(string path, ICheckpointFormat? format = null)
    {
        format ??= NamedTensorFormat.Instance;
        Dictionary<string, Tensor> weights;
        using (FileStream stream = File.OpenRead(path)) weights = format.Read(stream);
        try
        {
            LoadWeights(weights);
        }
        finally
        {
            foreach (Tensor tensor in weights.Values) tensor.Dispose();
        }
    }

    /// <summary>Frees the compiled graphs (not the network).</summary>
    public void Dispose()
    {
        _train?.Dispose();
        _eval?.Dispose();
        _predict?.Dispose();
        (_train, _eval, _predict) = (null, null, null);
    }

    private IEnumerable<(string Path, Tensor Tensor)> NamedWeights() => Network.NamedParameters().Concat(Network.NamedBuffers());

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
public sealed record FitPlan(int Epochs, long SamplesPerEpoch, bool HasValidation);

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

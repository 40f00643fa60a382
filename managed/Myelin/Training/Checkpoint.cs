using System.Globalization;
using System.Security.Cryptography;
using Google.Protobuf;
using Myelin.Onnx;
using Myelin.Training.CheckpointProto;

namespace Myelin.Training;

/// <summary>
/// A checkpoint file read back: Myelin's one format for weights and full training state (myelin_checkpoint.proto,
/// tensors as ONNX TensorProtos). <see cref="Model.SaveWeights"/> writes the weights only; <see cref="Model.SaveCheckpoint"/>
/// adds the training state (epoch, step, optimizer, dropout streams, callbacks, history). The file ends with a SHA-256
/// of everything before it (field 15), so a truncated or damaged file is refused rather than half read. Owns its tensors.
/// </summary>
public sealed class TrainingCheckpoint : IDisposable
{
    /// <summary>The layout version written; files of a newer version are refused.</summary>
    public const int FormatVersion = 1;

    // Field 15 (sha256), wire type 2 (length-delimited), the length 32 and the digest: the last 34 bytes of every file.
    private const byte DigestTag = (15 << 3) | 2;
    private const int DigestBytes = 32, TrailerBytes = DigestBytes + 2;

    private TrainingCheckpoint(string source) => Source = source;

    /// <summary>The file it was read from.</summary>
    public string Source { get; }

    /// <summary>The network's parameters and buffers by module path, in file order.</summary>
    public Dictionary<string, Tensor> Weights { get; } = [];

    /// <summary>Whether the file holds training state (false for a weights-only file).</summary>
    public bool HasTrainingState { get; private set; }

    /// <summary>Epochs completed when the file was written.</summary>
    public int Epoch { get; private set; }

    /// <summary>Training steps taken when the file was written.</summary>
    public long GlobalStep { get; private set; }

    /// <summary>The optimizer's name (such as "Adam"), or null.</summary>
    public string? OptimizerName { get; private set; }

    /// <summary>The optimizer's state (<see cref="Optim.Optimizer.SaveState"/>), or null.</summary>
    public StateDict? OptimizerState { get; private set; }

    /// <summary>Each dropout node's mask stream, by node name.</summary>
    public Dictionary<string, RandomStreamState> RandomStreams { get; } = [];

    /// <summary>Callback states by key ("{type}", or "{type}#{n}" for the n-th callback of a type).</summary>
    public Dictionary<string, StateDict> CallbackStates { get; } = [];

    /// <summary>Each completed epoch's logs.</summary>
    public List<IReadOnlyDictionary<string, double>> History { get; } = [];

    /// <summary>Reads <paramref name="path"/>.</summary>
    /// <exception cref="CheckpointException">The file is truncated, corrupt, of a newer version or malformed; the message names the file and field.</exception>
    public static TrainingCheckpoint Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length < TrailerBytes || bytes[^TrailerBytes] != DigestTag || bytes[^(TrailerBytes - 1)] != DigestBytes)
        {
            throw new CheckpointException($"{path}: not a Myelin checkpoint, or truncated: it does not end with its sha256 (field 15).");
        }

        byte[] digest = SHA256.HashData(bytes.AsSpan(0, bytes.Length - TrailerBytes));
        if (!digest.AsSpan().SequenceEqual(bytes.AsSpan(bytes.Length - DigestBytes)))
        {
            throw new CheckpointException($"{path}: sha256 (field 15) does not match the content: the file is corrupt or was cut short.");
        }

        Checkpoint proto;
        try
        {
            proto = Checkpoint.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException exception)
        {
            throw new CheckpointException($"{path}: not a valid checkpoint message ({exception.Message}).", exception);
        }

        if (proto.FormatVersion is < 1 or > FormatVersion)
        {
            throw new CheckpointException($"{path}: format_version is {proto.FormatVersion}; this Myelin reads versions 1 to {FormatVersion}.");
        }

        var checkpoint = new TrainingCheckpoint(path);
        try
        {
            checkpoint.ReadFrom(proto);
        }
        catch
        {
            checkpoint.Dispose();
            throw;
        }

        return checkpoint;
    }

    /// <summary>Frees every tensor.</summary>
    public void Dispose()
    {
        foreach (Tensor tensor in Weights.Values) tensor.Dispose();
        Weights.Clear();
        OptimizerState?.Dispose();
        foreach (StateDict state in CallbackStates.Values) state.Dispose();
        CallbackStates.Clear();
    }

    /// <summary>Writes <paramref name="weights"/> and, unless null, <paramref name="training"/> to <paramref name="path"/> atomically.</summary>
    internal static void Write(string path, IEnumerable<(string Name, Tensor Tensor)> weights, TrainingState? training)
    {
        var proto = new Checkpoint { FormatVersion = FormatVersion, Training = training };
        foreach ((string name, Tensor tensor) in weights) proto.Weights.Add(ToProto(name, tensor));
        byte[] content = proto.ToByteArray();
        byte[] digest = SHA256.HashData(content);
        AtomicFile.Write(path, stream =>
        {
            stream.Write(content);
            stream.Write([DigestTag, DigestBytes]);
            stream.Write(digest);
        });
    }

    /// <summary>The proto of a component state.</summary>
    internal static State ToProto(StateDict state)
    {
        var proto = new State();
        proto.Scalars.Add(state.Scalars);
        foreach ((string name, Tensor tensor) in state.Tensors) proto.Tensors.Add(ToProto(name, tensor));
        return proto;
    }

    private void ReadFrom(Checkpoint proto)
    {
        for (int i = 0; i < proto.Weights.Count; i++)
        {
            global::Onnx.TensorProto tensor = proto.Weights[i];
            string field = $"weights[{i}] '{tensor.Name}'";
            if (!Weights.TryAdd(Named(tensor.Name, field), ToTensor(tensor, field))) throw Malformed($"{field} repeats the name '{tensor.Name}'");
        }

        if (proto.Training is not { } training) return;
        HasTrainingState = true;
        if (training.Epoch < 0 || training.GlobalStep < 0) throw Malformed($"training.epoch ({training.Epoch}) and training.global_step ({training.GlobalStep}) must not be negative");
        (Epoch, GlobalStep) = (training.Epoch, training.GlobalStep);
        if (training.Optimizer is not null)
        {
            OptimizerName = training.OptimizerName;
            OptimizerState = ToState(training.Optimizer, "training.optimizer");
        }

        for (int i = 0; i < training.RandomStreams.Count; i++)
        {
            RandomStream stream = training.RandomStreams[i];
            string field = $"training.random_streams[{i}]";
            if (!RandomStreams.TryAdd(Named(stream.Node, field + ".node"), new RandomStreamState(stream.Seed, stream.Offset))) throw Malformed($"{field} repeats the node '{stream.Node}'");
        }

        for (int i = 0; i < training.Callbacks.Count; i++)
        {
            NamedState callback = training.Callbacks[i];
            string field = $"training.callbacks[{i}]";
            string name = Named(callback.Name, field + ".name");
            if (CallbackStates.ContainsKey(name)) throw Malformed($"{field} repeats the name '{name}'");
            CallbackStates[name] = ToState(callback.State ?? new State(), $"{field} '{name}'");
        }

        foreach (EpochLogs logs in training.History) History.Add(new Dictionary<string, double>(logs.Values));
    }

    private StateDict ToState(State proto, string field)
    {
        var state = new StateDict();
        try
        {
            foreach ((string key, double value) in proto.Scalars) state.Scalars[key] = value;
            for (int i = 0; i < proto.Tensors.Count; i++)
            {
                string tensorField = $"{field}.tensors[{i}] '{proto.Tensors[i].Name}'";
                Tensor tensor = ToTensor(proto.Tensors[i], tensorField);
                if (!state.Tensors.TryAdd(Named(proto.Tensors[i].Name, tensorField), tensor))
                {
                    tensor.Dispose();
                    throw Malformed($"{tensorField} repeats its name");
                }
            }
        }
        catch
        {
            state.Dispose();
            throw;
        }

        return state;
    }

    private Tensor ToTensor(global::Onnx.TensorProto proto, string field)
    {
        try
        {
            return OnnxTensors.ToTensor(proto, $"{Source}: {field}");
        }
        catch (OnnxFormatException exception)
        {
            throw new CheckpointException(exception.Message, exception);
        }
    }

    private string Named(string name, string field) => string.IsNullOrEmpty(name) ? throw Malformed($"{field} has no name") : name;

    private CheckpointException Malformed(string what) => new($"{Source}: {what}.");

    private static unsafe global::Onnx.TensorProto ToProto(string name, Tensor tensor)
    {
        if (tensor.Device.Kind != DeviceKind.Cpu) throw new NotSupportedException($"Checkpoint: '{name}' is on {tensor.Device.Name}; checkpoints write CPU tensors.");
        using Tensor contiguous = tensor.Contiguous();
        var proto = new global::Onnx.TensorProto { Name = name, DataType = (int)tensor.DType };
        proto.Dims.Add(tensor.Shape.ToArray());
        // Elements in row-major order, little-endian as ONNX's raw_data is (and every platform Myelin runs on).
        proto.RawData = ByteString.CopyFrom(new ReadOnlySpan<byte>(contiguous.DataPointer, checked((int)(contiguous.ElementCount * contiguous.ElementSize))));
        return proto;
    }
}

/// <summary>A dropout node's Philox mask stream: its seed and the counter offset of its next launch.</summary>
/// <param name="Seed">The stream's key.</param>
/// <param name="Offset">The counter the next launch starts at.</param>
public readonly record struct RandomStreamState(ulong Seed, ulong Offset);

/// <summary>A checkpoint file is unreadable (truncated, corrupt, malformed) or does not fit the model; the message names the file and the field or weight.</summary>
public sealed class CheckpointException : MyelinException
{
    /// <summary>Creates the exception.</summary>
    public CheckpointException(string message, Exception? innerException = null)
        : base(Status.InvalidArgument, message, innerException)
    {
    }
}

/// <summary>
/// Writes files so that a crash or failure mid-write never leaves a partial file in place: the content goes to a
/// temporary file beside the target, is flushed to disk (fsync), and is then renamed over the target. A process killed
/// mid-write can leave its temporary file ("{file}.{pid}.{guid}.tmp") behind, never a partial target; the next
/// successful write of the same file removes such leftovers of processes that are no longer running.
/// </summary>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> with <paramref name="write"/>; on failure the previous file is untouched and the temporary file removed.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        string full = Path.GetFullPath(path);
        string? directory = Path.GetDirectoryName(full);
        if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);
        string temporary = string.Create(CultureInfo.InvariantCulture, $"{full}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, full, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }

        RemoveLeftovers(full);
    }

    // Temporary files of `full` written by processes that have ended (killed mid-write). Files of running processes,
    // this one included, may be writes in progress and stay. Best effort: a file that cannot be removed stays too.
    private static void RemoveLeftovers(string full)
    {
        string directory = Path.GetDirectoryName(full)!;
        string prefix = Path.GetFileName(full) + ".";
        foreach (string leftover in Directory.EnumerateFiles(directory, prefix + "*.tmp"))
        {
            string[] parts = Path.GetFileName(leftover)[prefix.Length..].Split('.');
            if (parts.Length != 3 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int pid) ||
                !Guid.TryParseExact(parts[1], "N", out _) || IsRunning(pid))
            {
                continue;
            }

            try
            {
                File.Delete(leftover);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}

/// <summary>
/// Saves checkpoints during <see cref="Model.Fit"/> (Keras's ModelCheckpoint): every <c>everyEpochs</c> epochs, or, with
/// save_best_only, only when the monitored entry improves. By default a file holds the full training state
/// (<see cref="Model.SaveCheckpoint"/>, so training can resume from it); with weights_only just the weights. The path
/// may hold "{epoch}", replaced by the 1-based epoch number. Files are written atomically (<see cref="AtomicFile"/>),
/// after the other callbacks have seen the epoch's end, so the file holds their state after the epoch.
/// </summary>
public sealed class ModelCheckpoint : Callback
{
    private readonly MetricMonitor _monitor;

    /// <summary>Creates the callback.</summary>
    /// <param name="path">The file, optionally with "{epoch}".</param>
    /// <param name="monitor">The log entry that decides the best epoch.</param>
    /// <param name="mode">Whether lower or higher is better.</param>
    /// <param name="saveBestOnly">Save only epochs that improve the monitored entry.</param>
    /// <param name="everyEpochs">Consider saving every this many epochs, at least 1.</param>
    /// <param name="weightsOnly">Save only the weights (<see cref="Model.SaveWeights"/>) instead of the full training state.</param>
    public ModelCheckpoint(string path, string monitor = "val_loss", MonitorMode mode = MonitorMode.Auto, bool saveBestOnly = false, int everyEpochs = 1,
        bool weightsOnly = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (everyEpochs < 1) throw new ArgumentOutOfRangeException(nameof(everyEpochs), everyEpochs, $"ModelCheckpoint: everyEpochs must be >= 1 but is {everyEpochs}.");
        _monitor = new MetricMonitor(nameof(ModelCheckpoint), monitor, mode, 0);
        (Path, SaveBestOnly, EveryEpochs, WeightsOnly) = (path, saveBestOnly, everyEpochs, weightsOnly);
    }

    /// <summary>The file path pattern.</summary>
    public string Path { get; }

    /// <summary>Whether only improving epochs are saved.</summary>
    public bool SaveBestOnly { get; }

    /// <summary>Epochs between saves.</summary>
    public int EveryEpochs { get; }

    /// <summary>Whether files hold the weights only.</summary>
    public bool WeightsOnly { get; }

    /// <summary>The file last written, or null.</summary>
    public string? LastSaved { get; private set; }

    internal override bool RunsLastAtEpochEnd => true;

    /// <inheritdoc/>
    public override void OnTrainBegin(FitPlan plan)
    {
        _monitor.Best = _monitor.Maximize ? double.NegativeInfinity : double.PositiveInfinity;
        LastSaved = null;
    }

    /// <inheritdoc/>
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        if ((epoch + 1) % EveryEpochs != 0) return;
        if (SaveBestOnly)
        {
            double current = _monitor.Read(logs);
            if (!_monitor.Improves(current, _monitor.Best)) return;
            _monitor.Best = current;
        }

        string file = Path.Replace("{epoch}", (epoch + 1).ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
        if (WeightsOnly) Model.SaveWeights(file);
        else Model.SaveCheckpoint(file);
        LastSaved = file;
    }

    /// <inheritdoc/>
    /// <remarks>The best monitored value, which decides the next save-best-only file.</remarks>
    public override StateDict? SaveState()
    {
        var state = new StateDict();
        state.Scalars["best"] = _monitor.Best;
        return state;
    }

    /// <inheritdoc/>
    public override void LoadState(StateDict state)
    {
        ArgumentNullException.ThrowIfNull(state);
        _monitor.Best = state.Scalar("best", nameof(ModelCheckpoint));
    }
}

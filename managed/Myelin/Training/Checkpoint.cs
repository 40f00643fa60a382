using System.Globalization;
using System.Text;

namespace Myelin.Training;

/// <summary>A file format for named tensors (checkpoints); the ONNX format can implement it later.</summary>
public interface ICheckpointFormat
{
    /// <summary>Writes <paramref name="tensors"/> to <paramref name="stream"/>.</summary>
    void Write(Stream stream, IReadOnlyList<KeyValuePair<string, Tensor>> tensors);

    /// <summary>Reads tensors written by <see cref="Write"/>; the caller owns them.</summary>
    Dictionary<string, Tensor> Read(Stream stream);
}

/// <summary>
/// Myelin's own named-tensor file: the magic "MYLNTNS1", a little-endian int32 count, then per tensor its UTF-8 name
/// (length-prefixed), its dtype as the ONNX TensorProto data type code (int32), its rank (int32), its dimensions
/// (int64 each), its byte length (int64) and its elements in row-major order.
/// </summary>
public sealed class NamedTensorFormat : ICheckpointFormat
{
    private static readonly byte[] s_magic = "MYLNTNS1"u8.ToArray();

    /// <summary>The shared instance (the format has no settings).</summary>
    public static NamedTensorFormat Instance { get; } = new();

    /// <inheritdoc/>
    public void Write(Stream stream, IReadOnlyList<KeyValuePair<string, Tensor>> tensors)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(tensors);
        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        writer.Write(s_magic);
        writer.Write(tensors.Count);
        foreach ((string name, Tensor tensor) in tensors)
        {
            writer.Write(name);
            writer.Write((int)tensor.DType);
            writer.Write(tensor.Rank);
            foreach (long dim in tensor.Shape.ToArray()) writer.Write(dim);
            using Tensor contiguous = tensor.Contiguous();
            ReadOnlySpan<byte> bytes = Bytes(contiguous);
            writer.Write((long)bytes.Length);
            writer.Write(bytes);
        }
    }

    /// <inheritdoc/>
    public Dictionary<string, Tensor> Read(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var reader = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
        if (!reader.ReadBytes(s_magic.Length).AsSpan().SequenceEqual(s_magic)) throw new InvalidDataException("NamedTensorFormat: the file does not start with MYLNTNS1; it is not a Myelin tensor file.");
        int count = reader.ReadInt32();
        var result = new Dictionary<string, Tensor>();
        try
        {
            for (int i = 0; i < count; i++)
            {
                string name = reader.ReadString();
                var dtype = (DType)reader.ReadInt32();
                if (!Enum.IsDefined(dtype)) throw new InvalidDataException($"NamedTensorFormat: tensor '{name}' has unknown dtype code {(int)dtype}.");
                int rank = reader.ReadInt32();
                if (rank is < 0 or > 64) throw new InvalidDataException($"NamedTensorFormat: tensor '{name}' has rank {rank}.");
                var dims = new long[rank];
                for (int d = 0; d < rank; d++) dims[d] = reader.ReadInt64();
                long length = reader.ReadInt64();
                Tensor tensor = Tensor.Empty(new Shape(dims), dtype, Device.Cpu, ownedByScope: false);
                result.Add(name, tensor);
                Span<byte> bytes = Bytes(tensor);
                if (length != bytes.Length) throw new InvalidDataException($"NamedTensorFormat: tensor '{name}' ({dtype.ShortName()} {tensor.Shape}) needs {bytes.Length} bytes but the file gives {length}.");
                reader.BaseStream.ReadExactly(bytes);
            }
        }
        catch
        {
            foreach (Tensor tensor in result.Values) tensor.Dispose();
            throw;
        }

        return result;
    }

    private static unsafe Span<byte> Bytes(Tensor tensor)
    {
        if (tensor.Device.Kind != DeviceKind.Cpu) throw new NotSupportedException($"NamedTensorFormat: {tensor.DisplayName} is on {tensor.Device.Name}; checkpoints read CPU tensors.");
        return new Span<byte>(tensor.DataPointer, checked((int)(tensor.ElementCount * tensor.ElementSize)));
    }
}

/// <summary>
/// Writes files so that a crash or failure mid-write never leaves a partial file in place: the content goes to a
/// temporary file beside the target, is flushed to disk, and is then renamed over the target.
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
    }
}

/// <summary>
/// Saves the network's weights during <see cref="Model.Fit"/> (Keras's ModelCheckpoint): every
/// <c>everyEpochs</c> epochs, or, with save_best_only, only when the monitored entry improves. The path may hold
/// "{epoch}", replaced by the 1-based epoch number. Files are written atomically (<see cref="AtomicFile"/>).
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
    /// <param name="format">The file format; <see cref="NamedTensorFormat"/> by default.</param>
    public ModelCheckpoint(string path, string monitor = "val_loss", MonitorMode mode = MonitorMode.Auto, bool saveBestOnly = false, int everyEpochs = 1,
        ICheckpointFormat? format = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (everyEpochs < 1) throw new ArgumentOutOfRangeException(nameof(everyEpochs), everyEpochs, $"ModelCheckpoint: everyEpochs must be >= 1 but is {everyEpochs}.");
        _monitor = new MetricMonitor(nameof(ModelCheckpoint), monitor, mode, 0);
        (Path, SaveBestOnly, EveryEpochs, Format) = (path, saveBestOnly, everyEpochs, format ?? NamedTensorFormat.Instance);
    }

    /// <summary>The file path pattern.</summary>
    public string Path { get; }

    /// <summary>Whether only improving epochs are saved.</summary>
    public bool SaveBestOnly { get; }

    /// <summary>Epochs between saves.</summary>
    public int EveryEpochs { get; }

    /// <summary>The file format.</summary>
    public ICheckpointFormat Format { get; }

    /// <summary>The file last written, or null.</summary>
    public string? LastSaved { get; private set; }

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
        Model.SaveWeights(file, Format);
        LastSaved = file;
    }
}

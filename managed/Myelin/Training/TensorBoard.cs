using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using Google.Protobuf;
using Myelin.Training.TensorBoardProto;

namespace Myelin.Training;

/// <summary>
/// TFRecord framing as TensorFlow writes event files: per record a little-endian uint64 length, the masked CRC32C of
/// those 8 bytes, the data, and the masked CRC32C of the data.
/// </summary>
public static class TfRecord
{
    private const uint MaskDelta = 0xa282ead8;

    /// <summary>The CRC32C (Castagnoli) of <paramref name="data"/>, using the BCL's hardware-accelerated step.</summary>
    public static uint Crc32C(ReadOnlySpan<byte> data)
    {
        uint crc = ~0u;
        while (data.Length >= sizeof(ulong))
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[sizeof(ulong)..];
        }

        foreach (byte b in data) crc = BitOperations.Crc32C(crc, b);
        return ~crc;
    }

    /// <summary>TensorFlow's masked CRC: rotated right by 15 bits plus a constant, so CRCs of CRCs stay well distributed.</summary>
    public static uint MaskedCrc32C(ReadOnlySpan<byte> data)
    {
        uint crc = Crc32C(data);
        return ((crc >> 15) | (crc << 17)) + MaskDelta;
    }

    /// <summary>Writes one framed record.</summary>
    public static void Write(Stream stream, ReadOnlySpan<byte> data)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Span<byte> header = stackalloc byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], MaskedCrc32C(header[..8]));
        Span<byte> footer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(footer, MaskedCrc32C(data));
        stream.Write(header);
        stream.Write(data);
        stream.Write(footer);
    }

    /// <summary>Reads every record of <paramref name="stream"/>, checking both CRCs of each.</summary>
    /// <exception cref="InvalidDataException">A record is truncated or a CRC does not match; the message gives the record's offset.</exception>
    public static IEnumerable<byte[]> ReadAll(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var header = new byte[12];
        var footer = new byte[4];
        while (true)
        {
            long offset = stream.Position;
            int got = stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
            if (got == 0) yield break;
            if (got < header.Length) throw new InvalidDataException($"TfRecord: truncated header at offset {offset}.");
            ulong length = BinaryPrimitives.ReadUInt64LittleEndian(header);
            if (BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(8)) != MaskedCrc32C(header.AsSpan(0, 8)))
            {
                throw new InvalidDataException($"TfRecord: the length CRC of the record at offset {offset} does not match.");
            }

            if (length > int.MaxValue) throw new InvalidDataException($"TfRecord: the record at offset {offset} claims {length} bytes.");
            var data = new byte[length];
            if (stream.ReadAtLeast(data, data.Length, throwOnEndOfStream: false) < data.Length || stream.ReadAtLeast(footer, 4, throwOnEndOfStream: false) < 4)
            {
                throw new InvalidDataException($"TfRecord: the record at offset {offset} is truncated.");
            }

            if (BinaryPrimitives.ReadUInt32LittleEndian(footer) != MaskedCrc32C(data))
            {
                throw new InvalidDataException($"TfRecord: the data CRC of the record at offset {offset} does not match.");
            }

            yield return data;
        }
    }
}

/// <summary>
/// Writes a TensorBoard event file (events.out.tfevents.{seconds}.{host}) in a log directory: a file-version event,
/// then scalar and histogram summaries. Each event is flushed as written, so TensorBoard sees it live.
/// </summary>
public sealed class TensorBoardWriter : IDisposable
{
    private readonly FileStream _stream;

    /// <summary>Creates the directory if needed and starts a new event file in it.</summary>
    public TensorBoardWriter(string logDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(logDirectory);
        Directory.CreateDirectory(logDirectory);
        DateTimeOffset now = DateTimeOffset.UtcNow;
        string name = string.Create(CultureInfo.InvariantCulture, $"events.out.tfevents.{now.ToUnixTimeSeconds()}.{Environment.MachineName}.{Environment.ProcessId}.{Guid.NewGuid():N}");
        FilePath = System.IO.Path.Combine(logDirectory, name);
        _stream = new FileStream(FilePath, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
        Write(new Event { WallTime = WallTime(), FileVersion = "brain.Event:2" });
    }

    /// <summary>The event file.</summary>
    public string FilePath { get; }

    /// <summary>Writes scalar <paramref name="value"/> under <paramref name="tag"/> at <paramref name="step"/>.</summary>
    public void Scalar(string tag, double value, long step)
    {
        var summary = new Summary();
        summary.Value.Add(new Summary.Types.Value { Tag = tag, SimpleValue = (float)value });
        Write(new Event { WallTime = WallTime(), Step = step, Summary = summary });
    }

    /// <summary>Writes a histogram of <paramref name="values"/> under <paramref name="tag"/> at <paramref name="step"/>.</summary>
    /// <param name="tag">The tag, such as a parameter's path.</param>
    /// <param name="values">The values.</param>
    /// <param name="step">The step (the epoch in Fit).</param>
    /// <param name="buckets">Equal-width buckets between the smallest and largest value, at least 1.</param>
    public void Histogram(string tag, ReadOnlySpan<double> values, long step, int buckets = 30)
    {
        if (buckets < 1) throw new ArgumentOutOfRangeException(nameof(buckets), buckets, $"TensorBoardWriter: buckets must be >= 1 but is {buckets}.");
        var histogram = new HistogramProto { Num = values.Length };
        if (values.Length > 0)
        {
            double min = double.PositiveInfinity, max = double.NegativeInfinity, sum = 0, squares = 0;
            foreach (double v in values)
            {
                (min, max, sum, squares) = (Math.Min(min, v), Math.Max(max, v), sum + v, squares + v * v);
            }

            var counts = new double[buckets];
            double width = (max - min) / buckets;
            foreach (double v in values) counts[width > 0 ? Math.Min(buckets - 1, (int)((v - min) / width)) : buckets - 1]++;
            (histogram.Min, histogram.Max, histogram.Sum, histogram.SumSquares) = (min, max, sum, squares);

            // Bucket i holds values up to its limit; the last limit is the maximum itself.
            for (int i = 0; i < buckets; i++) histogram.BucketLimit.Add(i == buckets - 1 ? max : min + width * (i + 1));
            histogram.Bucket.Add(counts);
        }

        var summary = new Summary();
        summary.Value.Add(new Summary.Types.Value { Tag = tag, Histo = histogram });
        Write(new Event { WallTime = WallTime(), Step = step, Summary = summary });
    }

    /// <summary>Closes the file.</summary>
    public void Dispose() => _stream.Dispose();

    private void Write(Event e)
    {
        TfRecord.Write(_stream, e.ToByteArray());
        _stream.Flush();
    }

    private static double WallTime() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
}

/// <summary>
/// Logs each epoch to TensorBoard: every log entry as a scalar (tag "epoch_" + key, as Keras names them) and, every
/// <c>histogramEveryEpochs</c> epochs, a histogram of each parameter tagged by its path. The step is the 0-based epoch.
/// </summary>
public sealed class TensorBoard : Callback, IDisposable
{
    private TensorBoardWriter? _writer;

    /// <summary>Creates the callback.</summary>
    /// <param name="logDirectory">The directory the event file is written in.</param>
    /// <param name="histogramEveryEpochs">Epochs between weight histograms; 0 writes none.</param>
    public TensorBoard(string logDirectory, int histogramEveryEpochs = 1)
    {
        ArgumentException.ThrowIfNullOrEmpty(logDirectory);
        if (histogramEveryEpochs < 0) throw new ArgumentOutOfRangeException(nameof(histogramEveryEpochs), histogramEveryEpochs, $"TensorBoard: histogramEveryEpochs must be >= 0 but is {histogramEveryEpochs}.");
        (LogDirectory, HistogramEveryEpochs) = (logDirectory, histogramEveryEpochs);
    }

    /// <summary>The log directory.</summary>
    public string LogDirectory { get; }

    /// <summary>Epochs between weight histograms (0: none).</summary>
    public int HistogramEveryEpochs { get; }

    /// <summary>The event file of the current (or last) run, or null before training.</summary>
    public string? FilePath { get; private set; }

    /// <inheritdoc/>
    public override void OnTrainBegin(FitPlan plan)
    {
        _writer?.Dispose();
        _writer = new TensorBoardWriter(LogDirectory);
        FilePath = _writer.FilePath;
    }

    /// <inheritdoc/>
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        TensorBoardWriter writer = _writer ?? throw new InvalidOperationException("TensorBoard: training has not begun.");
        foreach ((string key, double value) in logs.OrderBy(l => l.Key, StringComparer.Ordinal)) writer.Scalar("epoch_" + key, value, epoch);
        if (HistogramEveryEpochs == 0 || (epoch + 1) % HistogramEveryEpochs != 0) return;
        foreach ((string path, Tensor tensor) in Model.Network.NamedParameters())
        {
            if (!tensor.DType.IsFloatingPoint()) continue;
            using Tensor f64 = tensor.Cast(DType.F64);
            writer.Histogram(path, f64.ToArray<double>(), epoch);
        }
    }

    /// <inheritdoc/>
    public override void OnTrainEnd() => Dispose();

    /// <summary>Closes the event file.</summary>
    public void Dispose()
    {
        _writer?.Dispose();
        _writer = null;
    }
}

using System.Globalization;

namespace Myelin.Training;

/// <summary>
/// Writes one CSV row per epoch (Keras's CSVLogger): a header "epoch" then the log keys in ordinal order, then rows of
/// the 0-based epoch and the values in round-trip invariant format. Each row is flushed as it is written.
/// </summary>
public sealed class CsvLogger : Callback, IDisposable
{
    private StreamWriter? _writer;
    private string[]? _keys;

    /// <summary>Creates the logger.</summary>
    /// <param name="path">The CSV file.</param>
    /// <param name="separator">The field separator.</param>
    /// <param name="append">Append to an existing file (no second header) instead of overwriting it.</param>
    public CsvLogger(string path, char separator = ',', bool append = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        (Path, Separator, Append) = (path, separator, append);
    }

    /// <summary>The CSV file.</summary>
    public string Path { get; }

    /// <summary>The field separator.</summary>
    public char Separator { get; }

    /// <summary>Whether rows are appended to an existing file.</summary>
    public bool Append { get; }

    /// <inheritdoc/>
    public override void OnTrainBegin(FitPlan plan)
    {
        bool hasHeader = Append && File.Exists(Path) && new FileInfo(Path).Length > 0;
        _keys = hasHeader ? File.ReadLines(Path).First().Split(Separator)[1..] : null;
        _writer = new StreamWriter(Path, Append);
    }

    /// <inheritdoc/>
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        StreamWriter writer = _writer ?? throw new InvalidOperationException("CsvLogger: training has not begun.");
        if (_keys is null)
        {
            _keys = logs.Keys.Order(StringComparer.Ordinal).ToArray();
            writer.WriteLine(string.Join(Separator, _keys.Prepend("epoch")));
        }

        IEnumerable<string> values = _keys.Select(k => logs.TryGetValue(k, out double v) ? v.ToString("R", CultureInfo.InvariantCulture) : "");
        writer.WriteLine(string.Join(Separator, values.Prepend(epoch.ToString(CultureInfo.InvariantCulture))));
        writer.Flush();
    }

    /// <inheritdoc/>
    public override void OnTrainEnd() => Dispose();

    /// <summary>Closes the file.</summary>
    public void Dispose()
    {
        _writer?.Dispose();
        _writer = null;
    }
}

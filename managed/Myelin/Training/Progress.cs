using System.Diagnostics;
using System.Globalization;
using Spectre.Console;

namespace Myelin.Training;

/// <summary>How <see cref="Model.Fit"/> shows progress.</summary>
public enum ProgressMode
{
    /// <summary>A live bar when the console is interactive (output not redirected), one line per epoch otherwise.</summary>
    Auto,

    /// <summary>A live Spectre.Console bar with loss, metrics, samples/s and ETA.</summary>
    Bar,

    /// <summary>One plain line per epoch on the console (<see cref="ProgressLogger"/>).</summary>
    Lines,

    /// <summary>Nothing.</summary>
    None,
}

/// <summary>Formats progress text shared by the line logger and the live bar.</summary>
internal static class ProgressText
{
    /// <summary>Such as "loss: 0.6931 - accuracy: 0.5000", "lr" last.</summary>
    public static string Logs(IReadOnlyDictionary<string, double> logs) =>
        string.Join(" - ", logs.OrderBy(l => l.Key == "lr").Select(l => $"{l.Key}: {Format(l.Key, l.Value)}"));

    private static string Format(string key, double value) =>
        value.ToString(key == "lr" ? "G4" : "0.0000", CultureInfo.InvariantCulture);
}

/// <summary>
/// Writes one line per epoch, for logs and redirected output:
/// <c>Epoch 2/10 - 256 samples - 0.12s - 2133 samples/s - loss: 0.4512 - val_loss: 0.4987 - lr: 0.001</c>.
/// </summary>
public sealed class ProgressLogger : Callback
{
    private readonly TextWriter _output;
    private readonly Stopwatch _clock = new();
    private int _epochs;
    private long _samples;

    /// <summary>Creates the logger writing to <paramref name="output"/>.</summary>
    public ProgressLogger(TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        _output = output;
    }

    /// <inheritdoc/>
    public override void OnTrainBegin(FitPlan plan) => _epochs = plan.Epochs;

    /// <inheritdoc/>
    public override void OnEpochBegin(int epoch)
    {
        _samples = 0;
        _clock.Restart();
    }

    /// <inheritdoc/>
    public override void OnBatchEnd(int batch, BatchLogs logs) => _samples += logs.Size;

    /// <inheritdoc/>
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        double seconds = _clock.Elapsed.TotalSeconds;
        double rate = seconds > 0 ? _samples / seconds : 0;
        _output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Epoch {epoch + 1}/{_epochs} - {_samples} samples - {seconds:0.00}s - {rate:0} samples/s - {ProgressText.Logs(logs)}"));
        _output.Flush();
    }
}

/// <summary>
/// A live Spectre.Console progress bar per epoch showing the running loss and metrics, samples/s and the ETA; finished
/// epochs stay on screen with their final logs. The display runs on its own thread while training calls the hooks.
/// </summary>
public sealed class ProgressBar : Callback
{
    private readonly IAnsiConsole _console;
    private readonly Stopwatch _clock = new();
    private readonly ManualResetEventSlim _ready = new(), _finished = new();
    private Thread? _display;
    private ProgressContext? _context;
    private ProgressTask? _task;
    private FitPlan? _plan;
    private long _samples;
    private int _epoch;

    /// <summary>Creates the bar on <paramref name="console"/> (the terminal by default).</summary>
    public ProgressBar(IAnsiConsole? console = null) => _console = console ?? AnsiConsole.Console;

    /// <inheritdoc/>
    public override void OnTrainBegin(FitPlan plan)
    {
        _plan = plan;
        _ready.Reset();
        _finished.Reset();
        _display = new Thread(() => _console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                _context = context;
                _ready.Set();
                _finished.Wait();
            }))
        { IsBackground = true, Name = "Myelin progress" };
        _display.Start();
        _ready.Wait();
    }

    /// <inheritdoc/>
    public override void OnEpochBegin(int epoch)
    {
        (_samples, _epoch) = (0, epoch);
        _clock.Restart();
        _task = _context!.AddTask(Markup.Escape(Title(epoch)), maxValue: Math.Max(1, _plan!.SamplesPerEpoch));
    }

    /// <inheritdoc/>
    public override void OnBatchEnd(int batch, BatchLogs logs)
    {
        _samples += logs.Size;
        double seconds = _clock.Elapsed.TotalSeconds;
        string rate = (seconds > 0 ? _samples / seconds : 0).ToString("0", CultureInfo.InvariantCulture);
        _task!.Description = Markup.Escape($"{Title(_epoch)} - {ProgressText.Logs(logs.Running)} - {rate} samples/s");
        _task.Value = _samples;
    }

    /// <inheritdoc/>
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        _task!.Description = Markup.Escape($"{Title(epoch)} - {ProgressText.Logs(logs)}");
        _task.Value = _task.MaxValue;
        _task.StopTask();
    }

    /// <inheritdoc/>
    public override void OnTrainEnd()
    {
        _finished.Set();
        _display?.Join();
        _display = null;
    }

    private string Title(int epoch) => string.Create(CultureInfo.InvariantCulture, $"Epoch {epoch + 1}/{_plan!.Epochs}");
}

using System.Globalization;
using System.Text.RegularExpressions;
using Myelin.Data;
using Myelin.NN;
using Myelin.Optim;
using Myelin.Training;
using NUnit.Framework;

namespace Myelin.Tests.Training;

public class CallbackTests
{
    private string _directory = "";

    [SetUp]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("myelin-training-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    [Test]
    public void EarlyStoppingStopsAtTheRightEpochAndRestoresTheBestWeights()
    {
        // Improvement needs a drop of more than 0.02: epoch 1 improves, 2 does not, 3 (0.79 vs 0.80) does not either.
        double[] valLoss = [1.0, 0.8, 0.85, 0.79, 0.9, 0.7];
        using Sequential network = TinyProblems.Regressor(seed: 20);
        using var model = new Model(network);
        model.Compile(new MseLoss(), new Sgd(0.1));
        using var stopping = new EarlyStopping("val_loss", minDelta: 0.02, patience: 2, restoreBestWeights: true);
        var script = new ScriptedEpochs(valLoss);

        History history = model.Fit(TinyProblems.Regression(8, 4, seed: 21), epochs: valLoss.Length, callbacks: [script, stopping], progress: ProgressMode.None);

        Assert.That(history.Epochs, Has.Count.EqualTo(4));
        Assert.That(stopping.StoppedEpoch, Is.EqualTo(3));
        Assert.That(stopping.BestEpoch, Is.EqualTo(1));
        Assert.That(stopping.Best, Is.EqualTo(0.8));
        foreach ((string path, Tensor tensor) in network.NamedParameters())
        {
            Assert.That(tensor.ToArray<float>(), Is.EqualTo(script.Weights[1][path]), path);
            Assert.That(tensor.ToArray<float>(), Is.Not.EqualTo(script.Weights[3][path]), path);
        }
    }

    [Test]
    public void EarlyStoppingResumedFromACheckpointStopsAndRestoresAsTheUninterruptedRun()
    {
        double[] valLoss = [1.0, 0.8, 0.85, 0.79, 0.9, 0.7];
        (Dictionary<string, float[]> Weights, int Stopped, int Best, int Epochs) Run(ulong seed, string? resumeFrom)
        {
            using Sequential network = TinyProblems.Regressor(seed);
            using var model = new Model(network);
            model.Compile(new MseLoss(), new Sgd(0.1));
            using var stopping = new EarlyStopping("val_loss", minDelta: 0.02, patience: 2, restoreBestWeights: true);
            var save = new ModelCheckpoint(Path.Combine(_directory, resumeFrom is null ? "epoch{epoch}.ckpt" : "resumed{epoch}.ckpt"));
            int initialEpoch = resumeFrom is null ? 0 : model.LoadCheckpoint(resumeFrom);
            History history = model.Fit(TinyProblems.Regression(8, 4, seed: 33), epochs: valLoss.Length, callbacks: [new ScriptedEpochs(valLoss), stopping, save],
                progress: ProgressMode.None, initialEpoch: initialEpoch);
            return (network.NamedParameters().ToDictionary(p => p.Path, p => p.Tensor.ToArray<float>()), stopping.StoppedEpoch, stopping.BestEpoch, history.Epochs.Count);
        }

        var uninterrupted = Run(31, null);
        // Epoch 2's file holds epoch 1's weights as the best so far; another network resumed from it must restore them.
        var resumed = Run(32, Path.Combine(_directory, "epoch2.ckpt"));
        Assert.That((resumed.Stopped, resumed.Best, resumed.Epochs), Is.EqualTo((3, 1, 4)));
        Assert.That((uninterrupted.Stopped, uninterrupted.Best, uninterrupted.Epochs), Is.EqualTo((3, 1, 4)));
        foreach ((string path, float[] values) in uninterrupted.Weights) Assert.That(resumed.Weights[path], Is.EqualTo(values), path);
    }

    [Test]
    public void ResumingWithoutACallbackWhoseStateWasSavedIsRefusedAndTheStateKept()
    {
        string saved = Path.Combine(_directory, "stopping{epoch}.ckpt");
        using (Sequential network = TinyProblems.Regressor(seed: 34))
        using (var model = new Model(network))
        using (var stopping = new EarlyStopping("loss", patience: 5))
        {
            model.Compile(new MseLoss(), new Sgd(0.1));
            model.Fit(TinyProblems.Regression(8, 4, seed: 35), epochs: 2, callbacks: [stopping, new ModelCheckpoint(saved)], progress: ProgressMode.None);
        }

        using Sequential resumedNetwork = TinyProblems.Regressor(seed: 36);
        using var resumed = new Model(resumedNetwork);
        resumed.Compile(new MseLoss(), new Sgd(0.1));
        int initialEpoch = resumed.LoadCheckpoint(Path.Combine(_directory, "stopping2.ckpt"));
        Assert.That(() => resumed.Fit(TinyProblems.Regression(8, 4, seed: 35), epochs: 3, progress: ProgressMode.None, initialEpoch: initialEpoch),
            Throws.InstanceOf<CheckpointException>().With.Message.Contains("callback EarlyStopping, ModelCheckpoint").And.Message.Contains("Fit was given no callback"));

        using var again = new EarlyStopping("loss", patience: 5);
        History history = resumed.Fit(TinyProblems.Regression(8, 4, seed: 35), epochs: 3, callbacks: [again, new ModelCheckpoint(saved)], progress: ProgressMode.None,
            initialEpoch: initialEpoch);
        Assert.That(history.Epochs, Has.Count.EqualTo(3), "the refused Fit left the checkpoint's history and states in place");
    }

    [Test]
    public void EarlyStoppingOnARisingMetricUsesMaxMode()
    {
        double[] valAccuracy = [0.5, 0.6, 0.6, 0.55];
        using Sequential network = TinyProblems.Regressor(seed: 22);
        using var model = new Model(network);
        model.Compile(new MseLoss(), new Sgd(0.1));
        using var stopping = new EarlyStopping("val_accuracy", patience: 1);
        History history = model.Fit(TinyProblems.Regression(8, 4, seed: 23), epochs: 4, callbacks: [new ScriptedEpochs(valAccuracy, "val_accuracy"), stopping],
            progress: ProgressMode.None);
        Assert.That(history.Epochs, Has.Count.EqualTo(3), "0.6 does not beat 0.6, so patience 1 runs out at epoch 2");
        Assert.That(stopping.BestEpoch, Is.EqualTo(1));
    }

    [Test]
    public void CheckpointFilesRoundTrip()
    {
        using Sequential network = TinyProblems.Regressor(seed: 24);
        using var model = new Model(network);
        model.Compile(new MseLoss(), new Sgd(0.1));
        var every = new ModelCheckpoint(Path.Combine(_directory, "epoch{epoch}.mlw"), everyEpochs: 2);
        var best = new ModelCheckpoint(Path.Combine(_directory, "best.mlw"), monitor: "loss", saveBestOnly: true);
        model.Fit(TinyProblems.Regression(12, 4, seed: 25), epochs: 4, callbacks: [every, best], progress: ProgressMode.None);

        Assert.That(Directory.GetFiles(_directory).Select(Path.GetFileName).Order(), Is.EqualTo(new[] { "best.mlw", "epoch2.mlw", "epoch4.mlw" }));
        Dictionary<string, float[]> trained = network.NamedParameters().ToDictionary(p => p.Path, p => p.Tensor.ToArray<float>());

        using Sequential other = TinyProblems.Regressor(seed: 26);
        using var restored = new Model(other);
        restored.LoadWeights(Path.Combine(_directory, "epoch4.mlw"));
        foreach ((string path, Tensor tensor) in other.NamedParameters()) Assert.That(tensor.ToArray<float>(), Is.EqualTo(trained[path]), path);
    }

    [Test]
    public void AFailedSaveLeavesThePreviousFileIntact()
    {
        using Sequential network = TinyProblems.Regressor(seed: 27);
        using var model = new Model(network);
        string path = Path.Combine(_directory, "weights.mlw");
        model.SaveWeights(path);
        byte[] before = File.ReadAllBytes(path);

        // Part of a file written, then a failure as a full disk would give.
        Assert.That(() => AtomicFile.Write(path, stream =>
        {
            stream.Write(new byte[100]);
            throw new IOException("disk full");
        }), Throws.InstanceOf<IOException>().With.Message.EqualTo("disk full"));

        Assert.That(File.ReadAllBytes(path), Is.EqualTo(before));
        Assert.That(Directory.GetFiles(_directory), Is.EqualTo(new[] { path }), "the temporary file is removed");
        using Sequential other = TinyProblems.Regressor(seed: 28);
        using var restored = new Model(other);
        restored.LoadWeights(path);
        Assert.That(other.NamedParameters().First().Tensor.ToArray<float>(), Is.EqualTo(network.NamedParameters().First().Tensor.ToArray<float>()));
    }

    [Test]
    public void ASaveRemovesTemporaryFilesOfEndedProcessesOnly()
    {
        string path = Path.Combine(_directory, "state.bin");
        using var ended = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("dotnet", "--version") { RedirectStandardOutput = true })!;
        ended.WaitForExit();
        string Leftover(int pid) => $"{path}.{pid}.{Guid.NewGuid():N}.tmp";
        string killedMidWrite = Leftover(ended.Id);
        string ownWrite = Leftover(Environment.ProcessId);
        string unrelated = path + ".notes.tmp";
        foreach (string file in new[] { killedMidWrite, ownWrite, unrelated }) File.WriteAllBytes(file, new byte[10]);

        AtomicFile.Write(path, stream => stream.Write(new byte[] { 1, 2, 3 }));

        Assert.That(File.ReadAllBytes(path), Is.EqualTo(new byte[] { 1, 2, 3 }));
        Assert.That(File.Exists(killedMidWrite), Is.False, "left by a process that has ended");
        Assert.That(File.Exists(ownWrite), Is.True, "a running process's write may be in progress");
        Assert.That(File.Exists(unrelated), Is.True, "not a temporary file of AtomicFile");
    }

    [Test]
    public void LoadingMismatchedWeightsNamesTheWeight()
    {
        using Sequential network = TinyProblems.Regressor(seed: 29);
        using var model = new Model(network);
        string path = Path.Combine(_directory, "w.mlw");
        model.SaveWeights(path);
        using Sequential classifier = TinyProblems.Classifier(seed: 30);
        using var other = new Model(classifier);
        Assert.That(() => other.LoadWeights(path), Throws.InstanceOf<CheckpointException>().With.Message.Contains("weight '0.weight' is f32 6x3 in the checkpoint but f32 8x2 in"));
    }

    [Test]
    public void CsvLogHasAHeaderAndOneRowPerEpoch()
    {
        using Sequential network = TinyProblems.Regressor(seed: 31);
        using var model = new Model(network);
        model.Compile(new MseLoss(), new Sgd(0.05));
        string path = Path.Combine(_directory, "log.csv");
        ArraySource<float> data = TinyProblems.Regression(8, 4, seed: 32);
        History history = model.Fit(data, data, epochs: 3, callbacks: [new CsvLogger(path)], progress: ProgressMode.None);

        string[] lines = File.ReadAllLines(path);
        Assert.That(lines[0], Is.EqualTo("epoch,loss,lr,val_loss"));
        Assert.That(lines, Has.Length.EqualTo(4));
        for (int e = 0; e < 3; e++)
        {
            string[] fields = lines[e + 1].Split(',');
            Assert.That(fields[0], Is.EqualTo(e.ToString(CultureInfo.InvariantCulture)));
            Assert.That(double.Parse(fields[1], CultureInfo.InvariantCulture), Is.EqualTo(history["loss"][e]));
            Assert.That(double.Parse(fields[2], CultureInfo.InvariantCulture), Is.EqualTo(0.05));
            Assert.That(double.Parse(fields[3], CultureInfo.InvariantCulture), Is.EqualTo(history["val_loss"][e]));
        }

        model.Fit(data, data, epochs: 1, callbacks: [new CsvLogger(path, append: true)], progress: ProgressMode.None);
        Assert.That(File.ReadAllLines(path), Has.Length.EqualTo(5), "appending adds rows, not a second header");
    }

    [Test]
    public void NonInteractiveProgressIsOneLinePerEpoch()
    {
        using Sequential network = TinyProblems.Classifier(seed: 33);
        using var model = new Model(network);
        model.Compile(new CrossEntropyLoss(), new Sgd(0.1), new Myelin.Metrics.Accuracy());
        using var output = new StringWriter();
        ArraySource<long> data = TinyProblems.Blobs(10, 4, seed: 34);
        History history = model.Fit(data, data, epochs: 2, callbacks: [new ProgressLogger(output)], progress: ProgressMode.None);

        string[] lines = output.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(2));
        for (int e = 0; e < 2; e++)
        {
            string value(string key) => history[key][e].ToString("0.0000", CultureInfo.InvariantCulture);
            Assert.That(lines[e], Does.Match($@"^Epoch {e + 1}/2 - 10 samples - \d+\.\d\ds - \d+ samples/s - "));
            Assert.That(lines[e], Does.EndWith($" samples/s - loss: {value("loss")} - accuracy: {value("accuracy")} - val_loss: {value("val_loss")} - val_accuracy: {value("val_accuracy")} - lr: 0.1"));
        }
    }

    [Test]
    public void TheLiveBarShowsEveryEpoch()
    {
        using Sequential network = TinyProblems.Classifier(seed: 35);
        using var model = new Model(network);
        model.Compile(new CrossEntropyLoss(), new Sgd(0.1));
        using var output = new StringWriter();
        var console = Spectre.Console.AnsiConsole.Create(new Spectre.Console.AnsiConsoleSettings
        {
            Out = new Spectre.Console.AnsiConsoleOutput(output), Interactive = Spectre.Console.InteractionSupport.Yes, Ansi = Spectre.Console.AnsiSupport.Yes,
            ColorSystem = Spectre.Console.ColorSystemSupport.NoColors,
        });
        console.Profile.Width = 250;
        model.Fit(TinyProblems.Blobs(8, 4, seed: 36), epochs: 2, callbacks: [new ProgressBar(console)], progress: ProgressMode.None);
        Assert.That(output.ToString(), Does.Contain("Epoch 1/2 - loss: ").And.Contain("Epoch 2/2 - loss: "));
    }

    /// <summary>Overwrites an entry of each epoch's logs with a scripted value and records the weights after each epoch.</summary>
    private sealed class ScriptedEpochs(double[] values, string key = "val_loss") : Callback
    {
        public List<Dictionary<string, float[]>> Weights { get; } = [];

        public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
        {
            ((Dictionary<string, double>)logs)[key] = values[epoch];
            Weights.Add(Model.Network.NamedParameters().ToDictionary(p => p.Path, p => p.Tensor.ToArray<float>()));
        }
    }
}

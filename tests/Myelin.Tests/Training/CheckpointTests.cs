using System.Security.Cryptography;
using Google.Protobuf;
using Myelin.Data;
using Myelin.Metrics;
using Myelin.NN;
using Myelin.Optim;
using Myelin.Training;
using Myelin.Training.CheckpointProto;
using NUnit.Framework;

namespace Myelin.Tests.Training;

/// <summary>Full-state checkpoints: exact resume, mismatches, and damaged files.</summary>
public class CheckpointTests
{
    private const int Epochs = 6, SavedEpoch = 3;
    private string _directory = "";

    [SetUp]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("myelin-checkpoint-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    [Test]
    public void ResumingFromACheckpointMatchesTheUninterruptedRunBitForBit()
    {
        InMemoryDataset data = Blobs(96);

        // Uninterrupted: all epochs, a full checkpoint after each one.
        Run reference = Train(seed: 1, data, resumeFrom: null);

        // A fresh model with other initial weights and other dropout seeds, resumed from the epoch-3 file.
        Run resumed = Train(seed: 2, data, resumeFrom: Path.Combine(_directory, $"epoch{SavedEpoch}.ckpt"));

        Assert.That(resumed.History["loss"], Is.EqualTo(reference.History["loss"]), "every epoch's loss, the restored ones included");
        Assert.That(resumed.History["lr"], Is.EqualTo(reference.History["lr"]));
        Assert.That(resumed.History["accuracy"], Is.EqualTo(reference.History["accuracy"]));
        Assert.That(resumed.History["loss"].Distinct().Count(), Is.EqualTo(Epochs), "training moved");
        foreach ((string path, float[] values) in reference.Weights) Assert.That(resumed.Weights[path], Is.EqualTo(values), path);
        Assert.That(resumed.OptimizerScalars, Is.EquivalentTo(reference.OptimizerScalars));
        foreach ((string key, float[] values) in reference.OptimizerTensors) Assert.That(resumed.OptimizerTensors[key], Is.EqualTo(values), key);
        Assert.That(resumed.ScheduleEpoch, Is.EqualTo(Epochs));
        Assert.That((resumed.EarlyBest, resumed.EarlyBestEpoch), Is.EqualTo((reference.EarlyBest, reference.EarlyBestEpoch)));
        Assert.That(resumed.GlobalStep, Is.EqualTo(reference.GlobalStep));

        // The checkpoints both runs wrote last hold the same bytes: the whole state, not only what is compared above.
        Assert.That(File.ReadAllBytes(Path.Combine(_directory, "resumed", $"epoch{Epochs}.ckpt")), Is.EqualTo(File.ReadAllBytes(Path.Combine(_directory, $"epoch{Epochs}.ckpt"))));
    }

    [Test]
    public void ACheckpointHoldsTheTrainingState()
    {
        InMemoryDataset data = Blobs(96);
        Train(seed: 3, data, resumeFrom: null);
        using TrainingCheckpoint checkpoint = TrainingCheckpoint.Load(Path.Combine(_directory, $"epoch{SavedEpoch}.ckpt"));
        Assert.That(checkpoint.HasTrainingState, Is.True);
        Assert.That(checkpoint.Epoch, Is.EqualTo(SavedEpoch));
        Assert.That(checkpoint.GlobalStep, Is.EqualTo(SavedEpoch * 96 / 16));
        Assert.That(checkpoint.OptimizerName, Is.EqualTo("Adam"));
        Assert.That(checkpoint.OptimizerState!.Tensors.Keys, Does.Contain("0.weight.exp_avg").And.Contain("0.weight.exp_avg_sq"));
        Assert.That(checkpoint.OptimizerState.Scalars["0.weight.step"], Is.EqualTo(SavedEpoch * 96 / 16));
        Assert.That(checkpoint.RandomStreams, Has.Count.EqualTo(1));
        Assert.That(checkpoint.RandomStreams.Values.Single().Offset, Is.EqualTo((ulong)(SavedEpoch * 96 * 16)), "one draw per element of each [16, 16] batch");
        Assert.That(checkpoint.CallbackStates.Keys, Is.EquivalentTo(new[] { "LearningRateScheduler", "EarlyStopping", "ModelCheckpoint" }));
        Assert.That(checkpoint.CallbackStates["LearningRateScheduler"].Scalars["epoch"], Is.EqualTo(SavedEpoch));
        Assert.That(checkpoint.History.Select(h => h["loss"]), Has.Exactly(SavedEpoch).Items);
        Assert.That(checkpoint.Weights.Keys, Is.EqualTo(new[] { "0.weight", "0.bias", "3.weight", "3.bias" }));
    }

    [Test]
    public void SavingRightAfterLoadingWritesTheSameFile()
    {
        InMemoryDataset data = Blobs(96);
        Train(seed: 13, data, resumeFrom: null);
        string saved = Path.Combine(_directory, $"epoch{SavedEpoch}.ckpt"), again = Path.Combine(_directory, "again.ckpt");

        // Nothing trained yet: the optimizer slots, dropout streams, callback states and history wait for the graph and Fit.
        var generator = new Generator(14);
        using Sequential network = new(new Linear(16, 16, generator: generator), new ReLU(), new Dropout(0.3, generator), new Linear(16, 2, generator: generator));
        using var model = new Model(network);
        model.Compile(new CrossEntropyLoss(), new Adam(0.01), new Accuracy());
        Assert.That(model.LoadCheckpoint(saved), Is.EqualTo(SavedEpoch));
        model.SaveCheckpoint(again);
        Assert.That(File.ReadAllBytes(again), Is.EqualTo(File.ReadAllBytes(saved)));
    }

    [Test]
    public void WeightsKeepTheirDTypesShapesAndValues()
    {
        using Tensor f64 = Tensor.FromArray(new[] { 1.5, -2.25, 3e-300 }, 3);
        using Tensor i64 = Tensor.FromArray(new[] { long.MinValue, 7, 8, long.MaxValue }, 2, 2);
        using Tensor scalar = Tensor.Scalar(4.5f);
        using Tensor view = Tensor.FromArray(new[] { 1f, 2f, 3f, 4f, 5f, 6f }, 2, 3).Slice(1, 1, 3);
        string path = Path.Combine(_directory, "tensors.ckpt");
        TrainingCheckpoint.Write(path, [("a", f64), ("b.c", i64), ("s", scalar), ("view", view)], null);
        using TrainingCheckpoint read = TrainingCheckpoint.Load(path);
        Assert.That(read.HasTrainingState, Is.False);
        Assert.That(read.Weights.Keys, Is.EqualTo(new[] { "a", "b.c", "s", "view" }));
        Assert.That(read.Weights["a"].ToArray<double>(), Is.EqualTo(f64.ToArray<double>()));
        Assert.That(read.Weights["b.c"].Shape.ToArray(), Is.EqualTo(new long[] { 2, 2 }));
        Assert.That(read.Weights["b.c"].ToArray<long>(), Is.EqualTo(i64.ToArray<long>()));
        Assert.That(read.Weights["s"].Rank, Is.Zero);
        Assert.That(read.Weights["s"].Item<float>(), Is.EqualTo(4.5f));
        Assert.That(read.Weights["view"].ToArray<float>(), Is.EqualTo(new[] { 2f, 3f, 5f, 6f }));

        // The tensors are plain ONNX TensorProtos: ONNX's own reader gives the same values.
        Checkpoint proto = Checkpoint.Parser.ParseFrom(File.ReadAllBytes(path));
        using Tensor viaOnnx = Myelin.Onnx.OnnxTensors.Parse(proto.Weights[1].ToByteArray());
        Assert.That(viaOnnx.ToArray<long>(), Is.EqualTo(i64.ToArray<long>()));
    }

    [Test]
    public void LoadingACheckpointOfAnotherModelNamesTheFirstMismatch()
    {
        using Sequential network = TinyProblems.Regressor(seed: 4);
        using var model = new Model(network);
        model.Compile(new MseLoss(), new Adam());
        string path = Path.Combine(_directory, "regressor.ckpt");
        model.SaveCheckpoint(path);

        using Sequential classifier = TinyProblems.Classifier(seed: 5);
        using var other = new Model(classifier);
        other.Compile(new CrossEntropyLoss(), new Adam());
        Assert.That(() => other.LoadCheckpoint(path), Throws.InstanceOf<CheckpointException>().With.Message.Contains(path)
            .And.Message.Contains("weight '0.weight' is f32 6x3 in the checkpoint but f32 8x2 in"));

        using Sequential narrower = new(new Linear(3, 6, generator: new Generator(6)), new Tanh());
        using var third = new Model(narrower);
        Assert.That(() => third.LoadCheckpoint(path), Throws.InstanceOf<CheckpointException>().With.Message.Contains("'2.weight' is not in"));

        using Sequential same = TinyProblems.Regressor(seed: 7);
        using var sgd = new Model(same);
        sgd.Compile(new MseLoss(), new Sgd(0.1, momentum: 0.9));
        Assert.That(() => sgd.LoadCheckpoint(path), Throws.InstanceOf<CheckpointException>().With.Message.Contains("Adam state but the model is compiled with Sgd"));
    }

    [Test]
    public void DamagedFilesAreRefusedNamingTheFileAndField()
    {
        using Sequential network = TinyProblems.Regressor(seed: 8);
        using var model = new Model(network);
        model.Compile(new MseLoss(), new Adam());
        model.Fit(TinyProblems.Regression(16, 4, seed: 9), epochs: 1, progress: ProgressMode.None);
        string path = Path.Combine(_directory, "good.ckpt");
        model.SaveCheckpoint(path);
        byte[] good = File.ReadAllBytes(path);

        foreach (int length in new[] { 0, 1, 40, good.Length / 2, good.Length - 35, good.Length - 1 })
        {
            string cut = Write($"cut{length}.ckpt", good[..length]);
            Assert.That(() => model.LoadCheckpoint(cut), Throws.InstanceOf<CheckpointException>().With.Message.Contains(cut).And.Message.Contains("sha256 (field 15)"), $"cut to {length} bytes");
        }

        byte[] flipped = (byte[])good.Clone();
        flipped[good.Length / 3] ^= 0x10;
        string corrupt = Write("flipped.ckpt", flipped);
        Assert.That(() => model.LoadCheckpoint(corrupt), Throws.InstanceOf<CheckpointException>().With.Message.Contains(corrupt).And.Message.Contains("corrupt"));

        string newer = Write("newer.ckpt", Sealed(new Checkpoint { FormatVersion = TrainingCheckpoint.FormatVersion + 1 }));
        Assert.That(() => model.LoadWeights(newer), Throws.InstanceOf<CheckpointException>().With.Message.Contains("format_version is 2"));

        var shortTensor = new Checkpoint { FormatVersion = 1 };
        var tensor = new global::Onnx.TensorProto { Name = "0.weight", DataType = (int)DType.F32, RawData = ByteString.CopyFrom(new byte[8]) };
        tensor.Dims.Add([6, 3]);
        shortTensor.Weights.Add(tensor);
        string malformed = Write("malformed.ckpt", Sealed(shortTensor));
        Assert.That(() => model.LoadWeights(malformed), Throws.InstanceOf<CheckpointException>().With.Message.Contains(malformed).And.Message.Contains("weights[0] '0.weight'"));

        // The model still holds what it had: nothing was half loaded.
        string again = Path.Combine(_directory, "again.ckpt");
        model.SaveCheckpoint(again);
        Assert.That(File.ReadAllBytes(again), Is.EqualTo(good));
    }

    /// <summary>A message as a checkpoint file: its bytes followed by the sha256 field.</summary>
    private static byte[] Sealed(Checkpoint proto)
    {
        byte[] content = proto.ToByteArray();
        return [.. content, (15 << 3) | 2, 32, .. SHA256.HashData(content)];
    }

    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_directory, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>Two 16-feature Gaussian blobs, labels 0 and 1.</summary>
    private static InMemoryDataset Blobs(int samples)
    {
        using Tensor noise = Tensor.RandN([samples, 16], generator: new Generator(11));
        float[] x = noise.ToArray<float>();
        long[] labels = new long[samples];
        for (int i = 0; i < samples; i++)
        {
            labels[i] = i % 2;
            for (int f = 0; f < 16; f++) x[16 * i + f] += labels[i] == 0 ? -0.5f : 0.5f;
        }

        return InMemoryDataset.FromLabels(x, [16], labels);
    }

    /// <summary>
    /// Trains a dropout network with Adam, a cosine schedule and early stopping on shuffled batches for
    /// <see cref="Epochs"/> epochs, writing a full checkpoint after every epoch (into "resumed/" when resuming).
    /// </summary>
    private Run Train(ulong seed, InMemoryDataset data, string? resumeFrom)
    {
        var generator = new Generator(seed);
        using Sequential network = new(new Linear(16, 16, generator: generator), new ReLU(), new Dropout(0.3, generator), new Linear(16, 2, generator: generator));
        using var model = new Model(network);
        var adam = new Adam(0.01);
        model.Compile(new CrossEntropyLoss(), adam, new Accuracy());
        var schedule = new CosineAnnealingLR(adam, tMax: Epochs);
        using var stopping = new EarlyStopping("loss", patience: Epochs, restoreBestWeights: false);
        string directory = resumeFrom is null ? _directory : Path.Combine(_directory, "resumed");
        Callback[] callbacks = [new LearningRateScheduler(schedule), stopping, new ModelCheckpoint(Path.Combine(directory, "epoch{epoch}.ckpt"), monitor: "loss")];
        int initialEpoch = resumeFrom is null ? 0 : model.LoadCheckpoint(resumeFrom);
        var loader = new DataLoader(data, batchSize: 16, shuffle: true, seed: 12);
        History history = model.Fit(loader, epochs: Epochs, callbacks: callbacks, progress: ProgressMode.None, initialEpoch: initialEpoch);
        using StateDict optimizer = adam.SaveState();
        return new Run(
            new[] { "loss", "lr", "accuracy" }.ToDictionary(k => k, k => history[k].ToArray()),
            network.NamedParameters().ToDictionary(p => p.Path, p => p.Tensor.ToArray<float>()),
            new Dictionary<string, double>(optimizer.Scalars),
            optimizer.Tensors.ToDictionary(t => t.Key, t => t.Value.ToArray<float>()),
            schedule.Epoch, stopping.Best, stopping.BestEpoch, model.GlobalStep);
    }

    private sealed record Run(Dictionary<string, double[]> History, Dictionary<string, float[]> Weights, Dictionary<string, double> OptimizerScalars,
        Dictionary<string, float[]> OptimizerTensors, int ScheduleEpoch, double EarlyBest, int EarlyBestEpoch, long GlobalStep);
}

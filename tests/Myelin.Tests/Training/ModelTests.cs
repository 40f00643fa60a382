using Myelin.Data;
using Myelin.Execution;
using Myelin.Graphs;
using Myelin.Metrics;
using Myelin.NN;
using Myelin.Optim;
using Myelin.Training;
using NUnit.Framework;

namespace Myelin.Tests.Training;

public class ModelTests
{
    [Test]
    public void FitOnTwoBlobsLowersTheLossAndLearnsThem()
    {
        using Sequential network = TinyProblems.Classifier(seed: 1);
        using var model = new Model(network);
        model.Compile(new CrossEntropyLoss(), new Adam(learningRate: 0.05), new Accuracy());
        ArraySource<long> train = TinyProblems.Blobs(64, 16, seed: 2), validation = TinyProblems.Blobs(32, 16, seed: 3);

        History history = model.Fit(train, validation, epochs: 15, progress: ProgressMode.None);

        Assert.That(history.Epochs, Has.Count.EqualTo(15));
        Assert.That(history["loss"][^1], Is.LessThan(history["loss"][0] * 0.5));
        Assert.That(history["val_accuracy"][^1], Is.GreaterThanOrEqualTo(0.95));
        Assert.That(history.Epochs[0].Keys, Is.EquivalentTo(new[] { "loss", "accuracy", "val_loss", "val_accuracy", "lr" }));
        Assert.That(() => history["val_auc"], Throws.TypeOf<KeyNotFoundException>().With.Message.Contains("val_accuracy"));
    }

    [Test]
    public void EvaluateMatchesACrossEntropyAndAccuracyComputedFromPredict()
    {
        using Sequential network = TinyProblems.Classifier(seed: 4);
        using var model = new Model(network);
        model.Compile(new CrossEntropyLoss(), new Sgd(0.1), new Accuracy());
        ArraySource<long> data = TinyProblems.Blobs(24, 10, seed: 5);
        model.Fit(data, epochs: 2, progress: ProgressMode.None);

        IReadOnlyDictionary<string, double> results = model.Evaluate(data);

        // Plain C# reference over the same samples, from Predict's logits.
        double lossSum = 0;
        long correct = 0, count = 0;
        foreach (Batch batch in data.Epoch(0))
        {
            using (batch)
            {
                using Tensor logits = model.Predict(batch.Inputs);
                Assert.That(logits.Shape.ToArray(), Is.EqualTo(new long[] { batch.Size, 2 }));
                float[] z = logits.ToArray<float>();
                long[] labels = batch.Targets.ToArray<long>();
                for (int i = 0; i < labels.Length; i++)
                {
                    double max = Math.Max(z[2 * i], z[2 * i + 1]);
                    double logSum = max + Math.Log(Math.Exp(z[2 * i] - max) + Math.Exp(z[2 * i + 1] - max));
                    lossSum += logSum - z[2 * i + labels[i]];
                    correct += (z[2 * i + 1] > z[2 * i] ? 1 : 0) == labels[i] ? 1 : 0;
                    count++;
                }
            }
        }

        Assert.That(results["loss"], Is.EqualTo(lossSum / count).Within(1e-5));
        Assert.That(results["accuracy"], Is.EqualTo((double)correct / count));
    }

    [Test]
    public void HistoryEqualsAManualTrainingLoopBitForBit()
    {
        const int Epochs = 3;
        ArraySource<float> data = TinyProblems.Regression(10, 4, seed: 6);

        using Sequential network = TinyProblems.Regressor(seed: 7);
        using var model = new Model(network);
        model.Compile(new MseLoss(), new Sgd(0.1, momentum: 0.9));
        History history = model.Fit(data, epochs: Epochs, progress: ProgressMode.None);

        // The same network (same seed) trained by hand with TrainingStep.Compile.
        using Sequential manual = TinyProblems.Regressor(seed: 7);
        var graph = new Graph();
        Value x = graph.Input("x", DType.F32, "N", 3), t = graph.Input("t", DType.F32, "N", 2);
        Value loss = new MseLoss().Apply(manual.Forward(x), t);
        using CompiledGraph step = TrainingStep.Compile(loss, manual.ParametersIn(graph), new Sgd(0.1, momentum: 0.9));
        var expected = new double[Epochs];
        for (int epoch = 0; epoch < Epochs; epoch++)
        {
            double sum = 0;
            long samples = 0;
            foreach (Batch batch in data.Epoch(epoch))
            {
                using (batch)
                {
                    sum += step.Run(new Dictionary<string, Tensor> { ["x"] = batch.Inputs, ["t"] = batch.Targets })[0].Item<float>() * batch.Size;
                    samples += batch.Size;
                }
            }

            expected[epoch] = sum / samples;
        }

        Assert.That(history["loss"], Is.EqualTo(expected));
        foreach (((string path, Tensor trained), (_, Tensor reference)) in network.NamedParameters().Zip(manual.NamedParameters()))
        {
            Assert.That(trained.ToArray<float>(), Is.EqualTo(reference.ToArray<float>()), path);
        }
    }

    [Test]
    public void TrainStepIsOneUpdateAndFeedsTheMetrics()
    {
        using Sequential network = TinyProblems.Classifier(seed: 8);
        using var model = new Model(network);
        model.Compile(new CrossEntropyLoss(), new Sgd(0.5), new Accuracy());
        ArraySource<long> data = TinyProblems.Blobs(16, 16, seed: 9);
        using Batch batch = data.Epoch(0).Single();
        double before = model.Evaluate(data)["loss"];
        model.ResetMetrics();

        double stepLoss = model.TrainStep(batch);

        Assert.That(stepLoss, Is.EqualTo(before).Within(1e-6), "the step's loss is the loss before its update (no dropout here)");
        Assert.That(model.MetricResults().Keys, Is.EqualTo(new[] { "accuracy" }));
        Assert.That(model.Evaluate(data)["loss"], Is.LessThan(before));
    }

    [Test]
    public void ACallbackStopsTrainingAfterTheCurrentBatch()
    {
        using Sequential network = TinyProblems.Classifier(seed: 10);
        using var model = new Model(network);
        model.Compile(new CrossEntropyLoss(), new Sgd(0.1));
        var stopper = new StopAt(epoch: 1, batch: 0);
        History history = model.Fit(TinyProblems.Blobs(32, 8, seed: 11), epochs: 5, callbacks: [stopper], progress: ProgressMode.None);
        Assert.That(history.Epochs, Has.Count.EqualTo(2));
        Assert.That(stopper.Batches, Is.EqualTo(4 + 1));
    }

    [Test]
    public void AStepScheduleSetsTheRatePerEpochAndPerBatch()
    {
        using Sequential network = TinyProblems.Regressor(seed: 12);
        using var model = new Model(network);
        var sgd = new Sgd(0.1);
        model.Compile(new MseLoss(), sgd);
        ArraySource<float> data = TinyProblems.Regression(12, 4, seed: 13);
        History history = model.Fit(data, epochs: 3, callbacks: [new LearningRateScheduler(new StepLR(sgd, stepSize: 1, gamma: 0.5))], progress: ProgressMode.None);
        Assert.That(history["lr"], Is.EqualTo(new[] { 0.1, 0.05, 0.025 }).Within(1e-15));

        var perBatch = new LearningRateScheduler(new StepLR(sgd, stepSize: 3, gamma: 0.1), ScheduleInterval.Batch);
        model.Fit(data, epochs: 2, callbacks: [perBatch], progress: ProgressMode.None);
        Assert.That(sgd.DefaultGroup.LearningRate, Is.EqualTo(0.0125 * 0.01).Within(1e-15), "6 batches: two decays of the base rate 0.0125");
    }

    [Test]
    public void MisuseGivesClearErrors()
    {
        using Sequential network = TinyProblems.Classifier(seed: 14);
        using var model = new Model(network);
        ArraySource<long> data = TinyProblems.Blobs(8, 4, seed: 15);
        Assert.That(() => model.Fit(data, progress: ProgressMode.None), Throws.InvalidOperationException.With.Message.Contains("Compile"));
        Assert.That(() => model.Compile(new CrossEntropyLoss(), new Sgd(), new Accuracy(), new Accuracy()), Throws.ArgumentException.With.Message.Contains("'accuracy'"));
        model.Compile(new CrossEntropyLoss(), new Sgd());
        Assert.That(() => model.Fit(data, epochs: 0), Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("epochs"));
        Assert.That(() => model.Fit(data, epochs: 1, callbacks: [new EarlyStopping("val_loss")], progress: ProgressMode.None),
            Throws.TypeOf<KeyNotFoundException>().With.Message.Contains("'val_loss'"));
    }

    private sealed class StopAt(int epoch, int batch) : Callback
    {
        private int _epoch;

        public int Batches { get; private set; }

        public override void OnEpochBegin(int epoch) => _epoch = epoch;

        public override void OnBatchEnd(int index, BatchLogs logs)
        {
            Batches++;
            if (_epoch == epoch && index == batch) Model.StopTraining = true;
        }
    }
}

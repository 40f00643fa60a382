using Myelin.Autodiff;
using Myelin.Data;
using Myelin.Metrics;
using Myelin.NN;
using Myelin.Optim;
using Myelin.Training;
using Myelin.Execution;
using Myelin.Graphs;
using Myelin.Onnx;
using NUnit.Framework;

namespace Myelin.Tests;

/// <summary>The code shown in README.md, run as written and checked against a plain C# computation.</summary>
public sealed class ReadmeExampleTests
{
    [Test]
    public void QuickStartExampleComputesTheReluSumOfAnAffineProduct()
    {
        using var scope = new TensorScope();
        var rng = new Generator(seed: 42);
        var a = Tensor.RandN([64, 128], generator: rng);
        var b = Tensor.RandN([128, 32], generator: rng);
        var y = (a.MatMul(b) + 1f).Relu().Sum();

        float[] av = a.ToArray<float>(), bv = b.ToArray<float>();
        double expected = 0;
        for (int i = 0; i < 64; i++)
        {
            for (int j = 0; j < 32; j++)
            {
                double dot = 1;
                for (int k = 0; k < 128; k++)
                {
                    dot += (double)av[i * 128 + k] * bv[k * 32 + j];
                }

                expected += Math.Max(dot, 0);
            }
        }

        Assert.That(y.Item<float>(), Is.EqualTo(expected).Within(1e-4 * expected));
    }

    [Test]
    public void GraphExampleComputesTheGradientOfTanhOfAnAffineMap()
    {
        using var scope = new TensorScope();
        var graph = new Graph();
        var x = graph.Input("x", DType.F32, "N", 3);                        // symbolic batch dim
        var w = graph.Parameter("w", Tensor.FromArray([0.1f, -0.2f, 0.3f, 0.4f, 0.5f, -0.6f], [3, 2]));
        var loss = x.MatMul(w).Tanh().Sum();
        var dw = Gradients.Of(loss, [w])[0]!;                               // more graph nodes
        graph.MarkOutput(loss, dw);
        using var compiled = CompiledGraph.Compile(graph);
        var outputs = compiled.Run(new Dictionary<string, Tensor> { ["x"] = Tensor.Ones([4, 3]) });

        // Every row of x is (1,1,1), so column j of x*w is the column sum s_j of w, and
        // d loss / d w[i,j] = N * (1 - tanh(s_j)^2).
        double[] columnSums = [0.1 + 0.3 + 0.5, -0.2 + 0.4 - 0.6];
        double expectedLoss = 4 * (Math.Tanh(columnSums[0]) + Math.Tanh(columnSums[1]));
        Assert.That(outputs[0].Item<float>(), Is.EqualTo(expectedLoss).Within(1e-5));
        float[] gradient = outputs[1].ToArray<float>();
        for (int i = 0; i < 3; i++)
        {
            for (int j = 0; j < 2; j++)
            {
                double t = Math.Tanh(columnSums[j]);
                Assert.That(gradient[i * 2 + j], Is.EqualTo(4 * (1 - t * t)).Within(1e-5), $"dw[{i},{j}]");
            }
        }
    }

    [Test]
    public void TrainingExampleLearnsTheDigits()
    {
        InMemoryDataset digits = Digits.Load();                               // 1797 8x8 digits, embedded
        DatasetSplit split = Splits.TrainValidationTest(digits, 0.1, 0.2, seed: 1, stratify: true);
        Standardize scaler = Standardize.Fit(split.Train);                    // statistics of the training part only
        using var network = new Sequential(new Linear(64, 128), new ReLU(), new Dropout(0.1), new Linear(128, 10));
        using var model = new Model(network);
        model.Compile(new CrossEntropyLoss(), new Adam(1e-3), new Accuracy());
        History history = model.Fit(
            new DataLoader(split.Train, 32, seed: 1, transforms: [scaler]),
            new DataLoader(split.Validation, 256, shuffle: false, transforms: [scaler]),
            epochs: 20, callbacks: [new EarlyStopping("val_loss", patience: 3, restoreBestWeights: true)], progress: ProgressMode.None);
        double accuracy = model.Evaluate(new DataLoader(split.Test, 256, shuffle: false, transforms: [scaler]))["accuracy"];

        // An untrained guess is right 10% of the time; the network must do far better on digits it never saw.
        Assert.That(accuracy, Is.GreaterThan(0.9));
        Assert.That(history["loss"][^1], Is.LessThan(history["loss"][0]));
    }

    [Test]
    public void OnnxExportExampleWritesModelsThatReimportWithTheSameOutputs()
    {
        using var scope = new TensorScope();
        string directory = Directory.CreateTempSubdirectory("myelin-readme-onnx-").FullName;
        try
        {
            using var network = new Sequential(new Linear(64, 128, generator: new Generator(1)), new ReLU(), new Dropout(0.1), new Linear(128, 10, generator: new Generator(2)));
            using var model = new Model(network);
            var graph = new Graph();
            Value logits = graph.Input("x", DType.F32, "N", 3).MatMul(graph.Parameter("w", Tensor.RandN([3, 2], generator: new Generator(3)).MoveToOuterScope()));

            model.ExportOnnx(Path.Combine(directory, "digits.onnx"), DType.F32, "N", 64);
            OnnxExporter.Save(graph, [logits], Path.Combine(directory, "custom.onnx"));

            using Tensor x = Tensor.RandN([5, 64], generator: new Generator(4));
            using Tensor expected = model.Predict(x);
            using var digits = InferenceSession.Load(Path.Combine(directory, "digits.onnx"));
            Assert.That(digits.Run(new Dictionary<string, Tensor> { ["input"] = x })[0].ToArray<float>(), Is.EqualTo(expected.ToArray<float>()).Within(1e-5));
            using var custom = InferenceSession.Load(Path.Combine(directory, "custom.onnx"));
            Assert.That(custom.Outputs.Single().Name, Is.EqualTo(logits.Name));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Test]
    public void CheckpointExampleResumesAsTheUninterruptedRun()
    {
        string directory = Directory.CreateTempSubdirectory("myelin-readme-").FullName;
        try
        {
            InMemoryDataset digits = Digits.Load();
            const int Epochs = 4;
            float[] Train(ulong seed, int crashAfter)
            {
                string path = Path.Combine(directory, $"run{seed}.ckpt");
                var generator = new Generator(seed);
                using var network = new Sequential(new Linear(64, 32, generator: generator), new ReLU(), new Dropout(0.1, generator), new Linear(32, 10, generator: generator));
                using var model = new Model(network);
                var optimizer = new Adam(1e-3);
                model.Compile(new CrossEntropyLoss(), optimizer, new Accuracy());
                var loader = new DataLoader(digits, 64, seed: 1);

                // As in README.md, with a crash emulated by stopping early and a fresh model for the second part.
                var scheduler = new LearningRateScheduler(new CosineAnnealingLR(optimizer, tMax: Epochs));
                model.Fit(loader, epochs: crashAfter, callbacks: [scheduler, new ModelCheckpoint(path)], progress: ProgressMode.None);
                if (crashAfter == Epochs) return network.NamedParameters().SelectMany(p => p.Tensor.ToArray<float>()).ToArray();

                var otherGenerator = new Generator(seed + 100);
                using var rebuilt = new Sequential(new Linear(64, 32, generator: otherGenerator), new ReLU(), new Dropout(0.1, otherGenerator), new Linear(32, 10, generator: otherGenerator));
                using var resumed = new Model(rebuilt);
                var freshOptimizer = new Adam(1e-3);
                resumed.Compile(new CrossEntropyLoss(), freshOptimizer, new Accuracy());
                var freshScheduler = new LearningRateScheduler(new CosineAnnealingLR(freshOptimizer, tMax: Epochs));
                int epoch = resumed.LoadCheckpoint(path);
                resumed.Fit(loader, epochs: Epochs, callbacks: [freshScheduler, new ModelCheckpoint(path)], progress: ProgressMode.None, initialEpoch: epoch);
                return rebuilt.NamedParameters().SelectMany(p => p.Tensor.ToArray<float>()).ToArray();
            }

            Assert.That(Train(1, crashAfter: 2), Is.EqualTo(Train(1, crashAfter: Epochs)));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}

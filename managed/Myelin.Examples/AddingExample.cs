using Myelin.Graphs;
using Myelin.NN;
using Myelin.Optim;

namespace Myelin.Examples;

/// <summary>Settings of <see cref="AddingExample"/>.</summary>
public sealed record AddingOptions
{
    /// <summary>Adam steps per model, each on a fresh batch.</summary>
    public int Steps { get; init; } = 2500;

    /// <summary>Sequence length T.</summary>
    public int SequenceLength { get; init; } = 100;

    /// <summary>Hidden units of each recurrent layer.</summary>
    public int Hidden { get; init; } = 32;

    /// <summary>Sequences per training batch.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Adam's learning rate (gradients are clipped to norm 1).</summary>
    public double LearningRate { get; init; } = 0.01;

    /// <summary>Held-out sequences the final MSE is measured on.</summary>
    public int TestSequences { get; init; } = 1000;

    /// <summary>Seed of the data and the weight initialization.</summary>
    public ulong Seed { get; init; } = 4;
}

/// <summary>Each model's mean squared error on the held-out sequences after training.</summary>
public sealed record AddingResult(int Steps, int SequenceLength, double LstmMse, double GruMse, double RnnMse, double BaselineMse) : IExampleResult
{
    /// <inheritdoc/>
    public IReadOnlyList<string> Describe() =>
    [
        $"Adding problem, T = {SequenceLength}, {Steps} Adam steps (test MSE; always answering 1 scores {BaselineMse:F4}, 1/6 in expectation):",
        $"  LSTM      {LstmMse:F4}",
        $"  GRU       {GruMse:F4}",
        $"  tanh RNN  {RnnMse:F4}",
    ];
}

/// <summary>
/// The adding problem (Hochreiter and Schmidhuber 1997, in the form of Le et al. 2015): each time step carries a
/// random number in [0, 1] and a marker; exactly two steps are marked, one in each half of the sequence, and the
/// target is the sum of their numbers. Answering 1 always scores MSE 1/6 (the variance of the sum). Solving it means
/// carrying one number across about T/2 steps: gated cells (LSTM, GRU) can keep gradients alive that long, a plain
/// tanh RNN's vanish, so it stays near the baseline. How long a gated cell sits on the baseline plateau before it
/// finds the solution varies with the cell and the seed (LSTMs from PyTorch's initialization often take longer than
/// GRUs), so a run that stops early can leave one of them on the plateau; raise the step count to see it leave.
/// </summary>
public static class AddingExample
{
    /// <summary>Trains an LSTM, a GRU and a tanh RNN (each with a linear head on its final state) and measures their test MSEs.</summary>
    public static AddingResult Run(AddingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ExampleData.RequirePositive("adding", "steps", options.Steps);
        ExampleData.RequirePositive("adding", "hidden", options.Hidden);
        ExampleData.RequirePositive("adding", "batch size", options.BatchSize);
        ExampleData.RequirePositive("adding", "test sequences", options.TestSequences);
        if (options.SequenceLength < 2) throw new ArgumentOutOfRangeException(nameof(options), options.SequenceLength, "Example 'adding': sequence length must be at least 2.");

        (Tensor testX, Tensor testY) = Batch(options.TestSequences, options.SequenceLength, new Generator(options.Seed));
        using (testX)
        using (testY)
        {
            float[] targets = testY.ToArray<float>();
            double baseline = targets.Average(t => (t - 1.0) * (t - 1.0));
            int t = options.SequenceLength, h = options.Hidden;
            double Train(Func<Generator, RecurrentLayer> create)
            {
                // The same data stream and initialization seed for every model.
                var generator = new Generator(options.Seed + 1);
                using var model = new RecurrentRegressor(create(generator), new Linear(h, 1, generator: generator));
                var optimizer = new Adam(learningRate: options.LearningRate) { MaxGradientNorm = 1.0 };
                using var trainer = new SupervisedModel(model, new MseLoss(), optimizer, [t, 2], [1]);
                var data = new Generator(options.Seed + 2);
                for (int i = 0; i < options.Steps; i++)
                {
                    (Tensor x, Tensor y) = Batch(options.BatchSize, t, data);
                    using (x)
                    using (y)
                    {
                        trainer.Step(x, y);
                    }
                }

                return trainer.Loss(testX, testY);
            }

            return new AddingResult(options.Steps, t,
                Train(g => new Lstm(2, h, batchFirst: true, generator: g)),
                Train(g => new Gru(2, h, batchFirst: true, generator: g)),
                Train(g => new Rnn(2, h, nonlinearity: "tanh", batchFirst: true, generator: g)),
                baseline);
        }
    }

    /// <summary>A batch of sequences [count, length, 2] (number, marker) and their targets [count, 1].</summary>
    private static (Tensor X, Tensor Y) Batch(int count, int length, Generator generator)
    {
        float[] x = new float[count * length * 2], y = new float[count];
        int half = length / 2;
        for (int n = 0; n < count; n++)
        {
            int offset = n * length * 2;
            for (int step = 0; step < length; step++) x[offset + (2 * step)] = generator.NextSingle();
            int first = (int)(generator.NextUInt32() % (uint)half);
            int second = half + (int)(generator.NextUInt32() % (uint)(length - half));
            x[offset + (2 * first) + 1] = 1;
            x[offset + (2 * second) + 1] = 1;
            y[n] = x[offset + (2 * first)] + x[offset + (2 * second)];
        }

        return (Tensor.FromArray(x, count, length, 2), ExampleData.Matrix(y, count, 1));
    }

    /// <summary>A recurrent layer read out by a linear head on its last layer's final hidden state: [N, T, F] to [N, out].</summary>
    private sealed class RecurrentRegressor : Layer
    {
        private readonly RecurrentLayer _recurrent;
        private readonly Linear _head;
        private readonly Flatten _dropLayerAxis;

        public RecurrentRegressor(RecurrentLayer recurrent, Linear head)
        {
            _recurrent = AddModule("recurrent", recurrent);
            _head = AddModule("head", head);
            _dropLayerAxis = AddModule("flatten", new Flatten(0, 1));
        }

        protected override Value Build(Value input)
        {
            // Hidden is [layers, N, hidden]; with one layer, merging the first two axes leaves [N, hidden].
            return _head.Forward(_dropLayerAxis.Forward(_recurrent.Run(input).Hidden));
        }
    }
}

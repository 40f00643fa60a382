using System.Globalization;
using Myelin.NN;
using Myelin.Optim;

namespace Myelin.Examples;

/// <summary>Settings of <see cref="ParityExample"/>.</summary>
public sealed record ParityOptions
{
    /// <summary>Full-batch Adam steps per network.</summary>
    public int Steps { get; init; } = 3000;

    /// <summary>Hidden layers of the deep network.</summary>
    public int DeepLayers { get; init; } = 4;

    /// <summary>Width of each hidden layer of the deep network.</summary>
    public int DeepWidth { get; init; } = 8;

    /// <summary>Patterns held out of training (chosen at random) to measure generalization; 0 trains on all 256.</summary>
    public int HeldOut { get; init; } = 64;

    /// <summary>Seed of the held-out choice and the weight initialization.</summary>
    public ulong Seed { get; init; } = 3;
}

/// <summary>One network's shape, size, final training loss, and accuracy on the training and held-out patterns.</summary>
/// <param name="Shape">Layer widths, input to output.</param>
/// <param name="Parameters">Trainable scalars.</param>
/// <param name="Loss">Binary cross-entropy on the training patterns.</param>
/// <param name="TrainAccuracy">Share of training patterns classified correctly.</param>
/// <param name="HeldOutAccuracy">Share of held-out patterns classified correctly (null when none are held out).</param>
public sealed record ParityNetwork(string Shape, long Parameters, double Loss, double TrainAccuracy, double? HeldOutAccuracy);

/// <summary>Both networks' results.</summary>
public sealed record ParityResult(int Steps, int TrainPatterns, int HeldOutPatterns, ParityNetwork Deep, ParityNetwork Shallow) : IExampleResult
{
    /// <inheritdoc/>
    public IReadOnlyList<string> Describe() =>
    [
        $"8-bit parity, {TrainPatterns} training and {HeldOutPatterns} held-out patterns, {Steps} Adam steps (accuracy; chance is 0.5):",
        $"  deep    {Deep.Shape,-16} {Deep.Parameters,4} parameters   train {Deep.TrainAccuracy:F4}   held out {Deep.HeldOutAccuracy?.ToString("F4", CultureInfo.InvariantCulture) ?? "-"}   loss {Deep.Loss:F4}",
        $"  shallow {Shallow.Shape,-16} {Shallow.Parameters,4} parameters   train {Shallow.TrainAccuracy:F4}   held out {Shallow.HeldOutAccuracy?.ToString("F4", CultureInfo.InvariantCulture) ?? "-"}   loss {Shallow.Loss:F4}",
    ];
}

/// <summary>
/// Parity of 8 bits flips with every input bit, so no single bit says anything about it: the function is built by
/// composing XORs, which depth expresses cheaply. Both networks get (nearly) the same parameter budget; the shallow
/// one spends it on width. Accuracy is measured on the training patterns (can the network represent and find the
/// function?) and on patterns held out of training (did it learn parity, or memorize the patterns it saw?).
/// </summary>
public static class ParityExample
{
    private const int Bits = 8;

    /// <summary>Trains both networks and measures their accuracy.</summary>
    public static ParityResult Run(ParityOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ExampleData.RequirePositive("parity", "steps", options.Steps);
        ExampleData.RequirePositive("parity", "deep layers", options.DeepLayers);
        ExampleData.RequirePositive("parity", "deep width", options.DeepWidth);
        int patterns = 1 << Bits;

        // Bits as ±1, so no input is silent; the target is 1 for an odd number of set bits.
        float[] x = new float[patterns * Bits], y = new float[patterns];
        for (int p = 0; p < patterns; p++)
        {
            for (int b = 0; b < Bits; b++) x[(p * Bits) + b] = ((p >> b) & 1) == 1 ? 1f : -1f;
            y[p] = int.PopCount(p) % 2;
        }

        if (options.HeldOut is < 0 or >= 1 << Bits)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.HeldOut, $"Example 'parity': held out ({options.HeldOut}) must be in [0, {patterns}).");
        }

        // A random permutation of the patterns: the first HeldOut are held out.
        var generator = new Generator(options.Seed);
        int[] order = Enumerable.Range(0, patterns).ToArray();
        for (int i = patterns - 1; i > 0; i--)
        {
            int j = (int)(generator.NextUInt32() % (uint)(i + 1));
            (order[i], order[j]) = (order[j], order[i]);
        }

        (Tensor trainX, Tensor trainY) = Rows(x, y, order[options.HeldOut..]);
        (Tensor testX, Tensor testY) = Rows(x, y, order[..options.HeldOut]);
        using (trainX)
        using (trainY)
        using (testX)
        using (testY)
        {
            using Sequential deep = Mlp(Bits, Enumerable.Repeat(options.DeepWidth, options.DeepLayers).ToArray(), generator);

            // One hidden layer of width w has 8w + w + w + 1 parameters: the width closest to the deep network's count.
            int shallowWidth = (int)Math.Max(1, Math.Round((deep.ParameterCount - 1) / (double)(Bits + 2)));
            using Sequential shallow = Mlp(Bits, [shallowWidth], generator);
            ParityNetwork Train(Sequential model, string shape)
            {
                using var trainer = new SupervisedModel(model, new BceWithLogitsLoss(), new Adam(learningRate: 0.01), [Bits], [1]);
                for (int i = 0; i < options.Steps; i++) trainer.Step(trainX, trainY);
                (float loss, float[] logits) = trainer.Evaluate(trainX, trainY);
                double? heldOut = options.HeldOut == 0 ? null : Accuracy(trainer.Evaluate(testX, testY).Predictions, testY);
                return new ParityNetwork(shape, model.ParameterCount, loss, Accuracy(logits, trainY), heldOut);
            }

            return new ParityResult(options.Steps, patterns - options.HeldOut, options.HeldOut,
                Train(deep, $"8-{string.Join("-", Enumerable.Repeat(options.DeepWidth, options.DeepLayers))}-1"),
                Train(shallow, $"8-{shallowWidth}-1"));
        }
    }

    private static (Tensor X, Tensor Y) Rows(float[] x, float[] y, int[] rows) =>
        (ExampleData.Matrix(rows.SelectMany(r => x.AsSpan(r * Bits, Bits).ToArray()).ToArray(), rows.Length, Bits),
         ExampleData.Matrix(rows.Select(r => y[r]).ToArray(), rows.Length, 1));

    private static double Accuracy(float[] logits, Tensor targets) =>
        logits.Zip(targets.ToArray<float>()).Count(p => (p.First > 0 ? 1f : 0f) == p.Second) / (double)logits.Length;

    private static Sequential Mlp(int inputs, int[] widths, Generator generator)
    {
        var model = new Sequential();
        long previous = inputs;
        foreach (int width in widths)
        {
            model.Add(new Linear(previous, width, generator: generator)).Add(new Tanh());
            previous = width;
        }

        return model.Add(new Linear(previous, 1, generator: generator));
    }
}

using Myelin.NN;
using Myelin.Optim;

namespace Myelin.Examples;

/// <summary>Settings of <see cref="XorExample"/>.</summary>
public sealed record XorOptions
{
    /// <summary>Full-batch Adam steps for each model.</summary>
    public int Steps { get; init; } = 1000;

    /// <summary>Hidden units of the MLP.</summary>
    public int Hidden { get; init; } = 8;

    /// <summary>Seed of the weight initialization.</summary>
    public ulong Seed { get; init; } = 1;
}

/// <summary>The final binary cross-entropy (mean over the four XOR points) of each model, and how many points each classifies correctly.</summary>
public sealed record XorResult(int Steps, double SingleNeuronLoss, double MlpLoss, int SingleNeuronCorrect, int MlpCorrect) : IExampleResult
{
    /// <inheritdoc/>
    public IReadOnlyList<string> Describe() =>
    [
        $"XOR after {Steps} Adam steps (binary cross-entropy; ln 2 = 0.693 is the loss of always answering 0.5):",
        $"  single neuron     loss {SingleNeuronLoss:F4}   {SingleNeuronCorrect}/4 correct",
        $"  2-layer tanh MLP  loss {MlpLoss:F4}   {MlpCorrect}/4 correct",
    ];
}

/// <summary>
/// XOR is not linearly separable: a single neuron (logistic regression) can do no better than ln 2 on it, where
/// the loss of the best line sits (weights zero, every answer 0.5). One hidden layer bends the boundary and fits it.
/// </summary>
public static class XorExample
{
    /// <summary>Trains both models on the four XOR points and measures their final losses.</summary>
    public static XorResult Run(XorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ExampleData.RequirePositive("xor", "steps", options.Steps);
        ExampleData.RequirePositive("xor", "hidden", options.Hidden);
        using Tensor inputs = ExampleData.Matrix([0, 0, 0, 1, 1, 0, 1, 1], 4, 2);
        using Tensor targets = ExampleData.Matrix([0, 1, 1, 0], 4, 1);

        var generator = new Generator(options.Seed);
        using var neuron = new Linear(2, 1, generator: generator);
        using var mlp = new Sequential(new Linear(2, options.Hidden, generator: generator), new Tanh(), new Linear(options.Hidden, 1, generator: generator));
        (double neuronLoss, int neuronCorrect) = Train(neuron, inputs, targets, options.Steps);
        (double mlpLoss, int mlpCorrect) = Train(mlp, inputs, targets, options.Steps);
        return new XorResult(options.Steps, neuronLoss, mlpLoss, neuronCorrect, mlpCorrect);
    }

    private static (double Loss, int Correct) Train(Layer model, Tensor inputs, Tensor targets, int steps)
    {
        using var trainer = new SupervisedModel(model, new BceWithLogitsLoss(), new Adam(learningRate: 0.05), [2], [1]);
        for (int i = 0; i < steps; i++) trainer.Step(inputs, targets);
        (float loss, float[] logits) = trainer.Evaluate(inputs, targets);
        float[] expected = targets.ToArray<float>();
        return (loss, logits.Zip(expected).Count(p => (p.First > 0 ? 1f : 0f) == p.Second));
    }
}

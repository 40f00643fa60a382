namespace Myelin.Examples;

/// <summary>The figures an example measured, and their readable summary.</summary>
public interface IExampleResult
{
    /// <summary>The summary lines a person reads: what was compared and the measured figures.</summary>
    IReadOnlyList<string> Describe();
}

/// <summary>One runnable example: its name, what it shows, and how to run it with an optional number of training steps.</summary>
/// <param name="Name">The name on the command line, such as "xor".</param>
/// <param name="Shows">One sentence: the fact the example demonstrates.</param>
/// <param name="Run">Runs the example; a non-null step count replaces its default training length.</param>
public sealed record Example(string Name, string Shows, Func<int?, IExampleResult> Run);

/// <summary>Every worked example, by name.</summary>
public static class ExampleCatalog
{
    /// <summary>The examples in presentation order.</summary>
    public static IReadOnlyList<Example> All { get; } =
    [
        new("xor", "A single neuron cannot fit XOR; a 2-layer MLP can.",
            steps => XorExample.Run(steps is int s ? new XorOptions { Steps = s } : new XorOptions())),
        new("approximation", "A one-hidden-layer ReLU network fits sin(x) on [-pi, pi] better as it grows wider.",
            steps => ApproximationExample.Run(steps is int s ? new ApproximationOptions { Steps = s } : new ApproximationOptions())),
        new("parity", "8-bit parity: a deep narrow network against a shallow one with the same parameter count.",
            steps => ParityExample.Run(steps is int s ? new ParityOptions { Steps = s } : new ParityOptions())),
        new("adding", "The adding problem at T = 100: gated cells (LSTM, GRU) against a plain tanh RNN and the 0.167 baseline.",
            steps => AddingExample.Run(steps is int s ? new AddingOptions { Steps = s } : new AddingOptions())),
        new("regularization", "An overfitting MLP, and what L2, dropout and early stopping do to its validation loss.",
            steps => RegularizationExample.Run(steps is int s ? new RegularizationOptions { Steps = s } : new RegularizationOptions())),
        new("batchnorm", "The same deep MLP trains faster with batch normalization.",
            steps => BatchNormExample.Run(steps is int s ? new BatchNormOptions { Steps = s } : new BatchNormOptions())),
    ];

    /// <summary>The example named <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">No example has that name; the message lists the names.</exception>
    public static Example Get(string name) =>
        All.FirstOrDefault(e => string.Equals(e.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"There is no example '{name}'; the examples are: {string.Join(", ", All.Select(e => e.Name))}.", nameof(name));
}

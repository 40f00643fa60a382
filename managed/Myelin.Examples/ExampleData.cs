namespace Myelin.Examples;

/// <summary>Small helpers shared by the examples.</summary>
internal static class ExampleData
{
    /// <summary>A [rows, columns] float tensor of <paramref name="values"/>.</summary>
    public static Tensor Matrix(float[] values, long rows, long columns) => Tensor.FromArray(values, rows, columns);

    /// <summary>Checks that a step count is positive, naming the option.</summary>
    public static void RequirePositive(string example, string option, long value)
    {
        if (value <= 0) throw new ArgumentOutOfRangeException(option, value, $"Example '{example}': {option} ({value}) must be positive.");
    }

    /// <summary>Largest absolute difference between <paramref name="a"/> and <paramref name="b"/>.</summary>
    public static double MaxAbsoluteError(float[] a, float[] b) => a.Zip(b, (x, y) => Math.Abs((double)x - y)).Max();
}

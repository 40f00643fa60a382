using System.Globalization;

namespace Myelin.Cli.Commands;

/// <summary>One GEMM problem size: C (MxN) = A (MxK) * B (KxN), written <c>MxNxK</c>.</summary>
internal readonly record struct GemmShape(long M, long N, long K)
{
    /// <summary>Parses a comma-separated list such as <c>64x64x64,512x256x128</c>.</summary>
    /// <exception cref="FormatException">A token is not MxNxK with positive integers; the message names it.</exception>
    public static GemmShape[] ParseList(string text)
    {
        string[] tokens = text.Split(',', StringSplitOptions.TrimEntries);
        var shapes = new GemmShape[tokens.Length];
        for (int i = 0; i < tokens.Length; i++)
        {
            shapes[i] = Parse(tokens[i]);
        }

        return shapes;
    }

    public static GemmShape Parse(string token)
    {
        string[] parts = token.Split('x', 'X');
        var dims = new long[3];
        bool valid = parts.Length == 3;
        for (int i = 0; valid && i < 3; i++)
        {
            valid = long.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out dims[i]) && dims[i] > 0;
        }

        return valid
            ? new GemmShape(dims[0], dims[1], dims[2])
            : throw new FormatException($"invalid shape '{token}': expected MxNxK with positive integers, such as 512x512x512");
    }

    /// <summary>Floating-point operations of one product: a multiply and an add per term.</summary>
    public double FlopCount => 2.0 * M * N * K;

    public override string ToString() => $"{M}x{N}x{K}";
}

using System.Text.Json;

namespace Myelin.Cli.Commands;

/// <summary>The one JSON style of machine-readable output: snake_case names, one line.</summary>
internal static class JsonOutput
{
    private static readonly JsonSerializerOptions s_options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = false,
    };

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, s_options);
}

namespace Myelin.Bindings.Generator;

public static class Program
{
    private const string Usage =
        "usage: Myelin.Bindings.Generator [--check] <header> <output>\n" +
        "  writes the C# bindings of <header> to <output>;\n" +
        "  --check writes nothing and exits 1 if <output> differs from what would be generated.";

    public static int Main(string[] args) => Run(args, Console.Out, Console.Error);

    /// <summary>The command with its output streams given, so tests can read what it says.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        bool check = args.Contains("--check");
        string[] paths = args.Where(a => a != "--check").ToArray();
        if (paths.Length != 2 || paths.Any(p => p.StartsWith('-')))
        {
            error.WriteLine(Usage);
            return 2;
        }

        (string header, string target) = (paths[0], paths[1]);
        string text;
        try
        {
            text = BindingGenerator.Generate(header);
        }
        catch (Exception e) when (e is BindingGeneratorException or LibClangNotFoundException or IOException)
        {
            error.WriteLine($"error: {e.Message}");
            return 1;
        }

        if (check)
        {
            // A Windows checkout may have turned "\n" into "\r\n"; that is not a difference.
            string? existing = File.Exists(target) ? File.ReadAllText(target).Replace("\r\n", "\n", StringComparison.Ordinal) : null;
            if (existing == text)
            {
                output.WriteLine($"{target} is up to date.");
                return 0;
            }

            error.WriteLine($"{target} is out of date with {header}; regenerate it (see bindings/README.md).");
            return 1;
        }

        WriteAtomically(target, text);
        output.WriteLine($"wrote {target}");
        return 0;
    }

    /// <summary>Writes beside the target and renames, so a failure never leaves a half-written file.</summary>
    internal static void WriteAtomically(string path, string text)
    {
        string full = Path.GetFullPath(path);
        string temporary = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        try
        {
            File.WriteAllText(temporary, text, new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
            File.Move(temporary, full, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }
}

namespace Myelin.Bindings.Generator;

/// <summary>Generates NativeMethods.g.cs from myelin.h.</summary>
public static class BindingGenerator
{
    /// <summary>
    /// The text of the generated file for <paramref name="headerPath"/>. Deterministic: declarations in
    /// header order, "\n" line endings, and the header named relative to the repository root (the
    /// nearest directory above it holding Runtime.sln or .git), so the text does not depend on where
    /// the checkout lives.
    /// </summary>
    public static string Generate(string headerPath)
    {
        HeaderModel model = HeaderReader.Read(headerPath);
        return CSharpWriter.Write(model, DisplayName(headerPath));
    }

    internal static string DisplayName(string headerPath)
    {
        string full = Path.GetFullPath(headerPath);
        for (DirectoryInfo? dir = new FileInfo(full).Directory; dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Runtime.sln")) || Directory.Exists(Path.Combine(dir.FullName, ".git")))
            {
                return Path.GetRelativePath(dir.FullName, full).Replace('\\', '/');
            }
        }

        return Path.GetFileName(full);
    }
}

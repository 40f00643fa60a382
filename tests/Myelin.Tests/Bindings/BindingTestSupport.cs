using Myelin.Bindings.Generator;
using NUnit.Framework;

namespace Myelin.Tests.Bindings;

internal static class BindingTestSupport
{
    public const string RegenerateCommand =
        "dotnet run --project bindings/Myelin.Bindings.Generator -- native/include/myelin.h bindings/Myelin.Native/NativeMethods.g.cs";

    /// <summary>The checkout's root: the nearest directory above the test binaries that holds Runtime.sln.</summary>
    public static string RepositoryRoot()
    {
        for (DirectoryInfo? dir = new(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Runtime.sln")))
            {
                return dir.FullName;
            }
        }

        Assert.Fail($"No Runtime.sln above {TestContext.CurrentContext.TestDirectory}.");
        throw new InvalidOperationException("unreachable");
    }

    /// <summary>Skips the calling test (reported as ignored, with the reason) where libclang cannot be loaded.</summary>
    public static void RequireLibClang()
    {
        try
        {
            LibClangLoader.Load();
        }
        catch (LibClangNotFoundException e)
        {
            Assert.Ignore(e.Message);
        }
    }
}

/// <summary>A directory under the system temp folder, deleted on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "myelin-bindings-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose() => Directory.Delete(Path, recursive: true);
}

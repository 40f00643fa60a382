using System.Reflection;
using System.Runtime.InteropServices;

namespace Myelin.Bindings.Generator;

/// <summary>Raised when no libclang could be loaded; the message lists every name tried.</summary>
public sealed class LibClangNotFoundException : Exception
{
    public LibClangNotFoundException(string message) : base(message)
    {
    }
}

/// <summary>
/// Finds libclang by soname (or the file named by MYELIN_LIBCLANG) and points this assembly's
/// <c>[LibraryImport("libclang")]</c> declarations at it.
/// </summary>
public static class LibClangLoader
{
    /// <summary>Environment variable that names a libclang file to use instead of the search.</summary>
    public const string EnvironmentVariable = "MYELIN_LIBCLANG";

    private static readonly string[] s_names =
    [
        "libclang-14.so.1",
        "libclang.so.1",
        "libclang.so",
        "/usr/lib/llvm-14/lib/libclang.so.1",
        "libclang.dylib",
        "libclang.dll",
    ];

    private static readonly object s_gate = new();
    private static nint s_handle;
    private static string? s_loadedFrom;

    /// <summary>The name or path libclang was loaded from, or null before <see cref="Load"/> succeeded.</summary>
    public static string? LoadedFrom
    {
        get { lock (s_gate) { return s_loadedFrom; } }
    }

    /// <summary>The names tried, in order: MYELIN_LIBCLANG (when set) first, then the sonames.</summary>
    public static IReadOnlyList<string> Candidates()
    {
        string? fromEnvironment = Environment.GetEnvironmentVariable(EnvironmentVariable);
        return string.IsNullOrWhiteSpace(fromEnvironment) ? s_names : [fromEnvironment, .. s_names];
    }

    /// <summary>Loads libclang once; later calls return the same path. Throws <see cref="LibClangNotFoundException"/>.</summary>
    public static string Load()
    {
        lock (s_gate)
        {
            if (s_loadedFrom is not null)
            {
                return s_loadedFrom;
            }

            var failures = new List<string>();
            foreach (string name in Candidates())
            {
                try
                {
                    s_handle = NativeLibrary.Load(name);
                    s_loadedFrom = name;
                    // Registered only once a handle exists, so the resolver never has to fail.
                    NativeLibrary.SetDllImportResolver(typeof(LibClangLoader).Assembly, Resolve);
                    return name;
                }
                catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
                {
                    failures.Add($"  {name}: {e.Message}");
                }
            }

            throw new LibClangNotFoundException(
                "libclang could not be loaded (install libclang, e.g. the libclang1-14 package, or set " +
                $"{EnvironmentVariable} to the file). Tried:\n{string.Join('\n', failures)}");
        }
    }

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath) =>
        libraryName == LibClang.Name ? s_handle : 0;
}

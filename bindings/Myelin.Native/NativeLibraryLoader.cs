using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Myelin.Native;

/// <summary>
/// Resolves <see cref="NativeMethods.LibraryName"/> for this assembly's P/Invokes: next to the
/// assembly (and the application), then under <c>runtimes/&lt;rid&gt;/native/</c> there (the NuGet
/// layout), then the system search path. A candidate is used only if it loads, exports
/// <c>mln_abi_version</c>, and that returns <see cref="NativeMethods.AbiVersion"/>.
/// </summary>
/// <remarks>
/// The outcome, success or failure, is computed once and cached. A failure surfaces as
/// <see cref="NativeLibraryLoadException"/> (from <see cref="EnsureLoaded"/> or from the first native
/// call) listing every location tried with the reason it was not used.
/// </remarks>
public static unsafe class NativeLibraryLoader
{
    private const string AbiExport = "mln_abi_version";

    private static readonly object s_gate = new();
    private static nint s_handle;
    private static string? s_loadedPath;
    private static IReadOnlyList<NativeLibraryAttempt>? s_failedAttempts;

    /// <summary>The file the library was loaded from, or null while it is not loaded.</summary>
    public static string? LoadedPath
    {
        get
        {
            lock (s_gate)
            {
                return s_loadedPath;
            }
        }
    }

    /// <summary>The platform's file name of the library: libmyelin.so, libmyelin.dylib or myelin.dll.</summary>
    public static string FileName =>
        OperatingSystem.IsWindows() ? NativeMethods.LibraryName + ".dll"
        : OperatingSystem.IsMacOS() ? "lib" + NativeMethods.LibraryName + ".dylib"
        : "lib" + NativeMethods.LibraryName + ".so";

    /// <summary>Loads the library if that has not happened yet and returns its path.</summary>
    /// <exception cref="NativeLibraryLoadException">No candidate could be used; the message lists them all.</exception>
    public static string EnsureLoaded()
    {
        lock (s_gate)
        {
            if (s_loadedPath is null && s_failedAttempts is null)
            {
                try
                {
                    (s_handle, s_loadedPath) = LoadFirst(Candidates(), NativeMethods.AbiVersion);
                }
                catch (NativeLibraryLoadException e)
                {
                    s_failedAttempts = e.Attempts;
                }
            }

            // A new exception each time, so that each throw has its own stack trace.
            return s_loadedPath ?? throw new NativeLibraryLoadException(s_failedAttempts!);
        }
    }

    // A library's module initializer is the one hook that runs before any P/Invoke of the assembly,
    // whichever type a caller touches first; without it the first call would bypass the resolver.
    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255:The 'ModuleInitializer' attribute should not be used in libraries",
        Justification = "The DllImport resolver must be registered before the first P/Invoke of this assembly.")]
    internal static void RegisterResolver() =>
        NativeLibrary.SetDllImportResolver(typeof(NativeLibraryLoader).Assembly, Resolve);

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (libraryName != NativeMethods.LibraryName)
        {
            return 0;
        }

        // Throws NativeLibraryLoadException out of the failing P/Invoke, which beats the runtime's
        // generic DllNotFoundException that would follow from returning 0.
        EnsureLoaded();
        return s_handle;
    }

    /// <summary>The locations to try, in order.</summary>
    internal static IReadOnlyList<NativeLibraryCandidate> Candidates()
    {
        var directories = new List<string>();
        string assemblyLocation = typeof(NativeLibraryLoader).Assembly.Location; // "" in a single-file app
        if (assemblyLocation.Length > 0)
        {
            directories.Add(Path.GetDirectoryName(assemblyLocation)!);
        }

        directories.Add(AppContext.BaseDirectory);
        List<string> distinct = directories
            .Select(d => Path.TrimEndingDirectorySeparator(Path.GetFullPath(d)))
            .Distinct(OperatingSystem.IsWindows() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal)
            .ToList();

        var candidates = new List<NativeLibraryCandidate>();
        candidates.AddRange(distinct.Select(d => new NativeLibraryCandidate(Path.Combine(d, FileName), IsSearchName: false)));
        foreach (string directory in distinct)
        {
            foreach (string rid in RuntimeIdentifiers())
            {
                candidates.Add(new NativeLibraryCandidate(
                    Path.Combine(directory, "runtimes", rid, "native", FileName), IsSearchName: false));
            }
        }

        candidates.Add(new NativeLibraryCandidate(FileName, IsSearchName: true));
        return candidates;
    }

    /// <summary>The runtime's RID, then the portable one for this OS and architecture (linux-x64, osx-arm64, win-x64).</summary>
    internal static IReadOnlyList<string> RuntimeIdentifiers()
    {
        string architecture = RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
        string os = OperatingSystem.IsWindows() ? "win"
            : OperatingSystem.IsMacOS() ? "osx"
            : RuntimeInformation.RuntimeIdentifier.StartsWith("linux-musl", StringComparison.Ordinal) ? "linux-musl"
            : "linux";
        return new[] { RuntimeInformation.RuntimeIdentifier, $"{os}-{architecture}" }.Distinct().ToList();
    }

    /// <summary>Loads the first usable candidate; throws with every attempt when none is.</summary>
    internal static (nint Handle, string Path) LoadFirst(IEnumerable<NativeLibraryCandidate> candidates, int expectedAbiVersion)
    {
        var attempts = new List<NativeLibraryAttempt>();
        foreach (NativeLibraryCandidate candidate in candidates)
        {
            string? reason = TryLoad(candidate, expectedAbiVersion, out nint handle);
            if (reason is null)
            {
                return (handle, candidate.Path);
            }

            attempts.Add(new NativeLibraryAttempt(candidate.Path, reason));
        }

        throw new NativeLibraryLoadException(attempts);
    }

    /// <summary>Loads one candidate and checks it; returns null on success, else why it cannot be used.</summary>
    internal static string? TryLoad(NativeLibraryCandidate candidate, int expectedAbiVersion, out nint handle)
    {
        handle = 0;
        if (!candidate.IsSearchName && !File.Exists(candidate.Path))
        {
            return "file not found";
        }

        nint library;
        try
        {
            library = NativeLibrary.Load(candidate.Path);
        }
        catch (BadImageFormatException e)
        {
            return $"not a library for this process (wrong architecture or format): {OneLine(e.Message)}";
        }
        catch (DllNotFoundException e)
        {
            return $"could not be loaded: {OneLine(e.Message)}";
        }

        if (!NativeLibrary.TryGetExport(library, AbiExport, out nint abiVersion))
        {
            NativeLibrary.Free(library);
            return $"loaded, but it does not export {AbiExport}: not Myelin's native library, or a very old one";
        }

        int actual = ((delegate* unmanaged[Cdecl]<int>)abiVersion)();
        if (actual != expectedAbiVersion)
        {
            NativeLibrary.Free(library);
            return $"ABI version {actual}, but these bindings need {expectedAbiVersion}: " +
                "build the native library and the bindings from the same myelin.h";
        }

        handle = library;
        return null;
    }

    // The runtime's load errors span lines; each attempt is reported on one.
    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Replace("  ", " ", StringComparison.Ordinal).Trim();
}

/// <summary>A location to load the library from: a file path, or a bare name for the system search path.</summary>
internal readonly record struct NativeLibraryCandidate(string Path, bool IsSearchName);

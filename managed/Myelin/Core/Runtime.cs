using System.Reflection;
using Myelin.Native;

namespace Myelin;

/// <summary>
/// Facts about the loaded native library and the CPU. The first use loads the library, so a load
/// failure surfaces here with every path that was tried.
/// </summary>
public static unsafe class Runtime
{
    /// <summary>Loads the native library and checks its ABI version; cheap after the first call.</summary>
    /// <exception cref="DllNotFoundException">The library was not found or has another ABI version.</exception>
    public static void EnsureLoaded() => NativeLibraryLoader.EnsureLoaded();

    /// <summary>Version of the managed Myelin assembly, such as <c>0.1.0</c>.</summary>
    public static string Version { get; } = ReadManagedVersion();

    /// <summary>Version of the native library, such as <c>0.1.0</c>.</summary>
    public static string NativeVersion
    {
        get
        {
            EnsureLoaded();
            return NativeMethods.ToManagedString(NativeMethods.Version());
        }
    }

    /// <summary>ABI version compiled into the native library.</summary>
    public static int AbiVersion
    {
        get
        {
            EnsureLoaded();
            return NativeMethods.GetAbiVersion();
        }
    }

    /// <summary>Full path of the loaded native library.</summary>
    public static string LibraryPath
    {
        get
        {
            EnsureLoaded();
            return NativeLibraryLoader.LoadedPath ?? "";
        }
    }

    /// <summary>CPU model name; empty where the processor does not report one.</summary>
    public static string CpuName
    {
        get
        {
            EnsureLoaded();
            byte* name;
            NativeMethods.Check(NativeMethods.CpuGetName(&name));
            return NativeMethods.ToManagedString(name);
        }
    }

    /// <summary>CPU features that the processor has and the OS enables.</summary>
    public static CpuFeatures CpuFeatures
    {
        get
        {
            EnsureLoaded();
            CpuFeatures features;
            NativeMethods.Check(NativeMethods.CpuGetFeatures(&features));
            return features;
        }
    }

    /// <summary>
    /// The names of <see cref="CpuFeatures"/> in lower case as CPU vendors write them, such as
    /// <c>sse4.2</c>, <c>avx2</c>, <c>f16c</c>.
    /// </summary>
    public static IReadOnlyList<string> CpuFeatureNames
    {
        get
        {
            CpuFeatures features = CpuFeatures;
            var names = new List<string>();
            foreach (CpuFeatures flag in Enum.GetValues<CpuFeatures>())
            {
                if (flag != CpuFeatures.None && features.HasFlag(flag))
                {
                    names.Add(FeatureName(flag));
                }
            }

            return names;
        }
    }

    /// <summary>Instruction-set level the CPU kernels use now.</summary>
    public static Isa Isa
    {
        get
        {
            EnsureLoaded();
            Isa isa;
            NativeMethods.Check(NativeMethods.CpuGetIsa(&isa));
            return isa;
        }
    }

    /// <summary>Number of physical CPU cores (the default kernel thread count).</summary>
    public static int PhysicalCoreCount
    {
        get
        {
            EnsureLoaded();
            int count;
            NativeMethods.Check(NativeMethods.CpuGetPhysicalCoreCount(&count));
            return count;
        }
    }

    /// <summary>
    /// Makes the CPU kernels use a lower <paramref name="isa"/> (to compare code paths); process-wide.
    /// </summary>
    /// <exception cref="MyelinException">This CPU or build lacks the ISA.</exception>
    public static void SetIsa(Isa isa)
    {
        EnsureLoaded();
        NativeMethods.Check(NativeMethods.CpuSetIsa(isa));
    }

    // SSE4_2 is written "sse4.2" by every vendor; other flags are their enum name in lower case.
    private static string FeatureName(CpuFeatures flag) =>
        flag == CpuFeatures.Sse42 ? "sse4.2" : flag.ToString().ToLowerInvariant();

    private static string ReadManagedVersion()
    {
        Assembly assembly = typeof(Runtime).Assembly;
        string? informational = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        // The SDK appends "+<commit>" to the informational version; the release number is before it.
        string version = informational ?? assembly.GetName().Version?.ToString(3) ?? "0.0.0";
        int plus = version.IndexOf('+');
        return plus < 0 ? version : version[..plus];
    }
}

using System.Runtime.InteropServices;
using Myelin.Native;
using NUnit.Framework;

namespace Myelin.Tests.Bindings;

[TestFixture]
public sealed class NativeLibraryLoaderTests
{
    [Test]
    public void LoadsTheBuiltLibraryAndReportsItsPath()
    {
        string path = NativeLibraryLoader.EnsureLoaded();

        Assert.That(File.Exists(path), Is.True, path);
        Assert.That(Path.GetFileName(path), Is.EqualTo(NativeLibraryLoader.FileName));
        Assert.That(NativeLibraryLoader.LoadedPath, Is.EqualTo(path));
        Assert.That(NativeLibraryLoader.EnsureLoaded(), Is.EqualTo(path), "the result is cached");
        Assert.That(NativeMethods.GetAbiVersion(), Is.EqualTo(NativeMethods.AbiVersion));
    }

    [Test]
    public unsafe void TheLoadedLibraryReportsAVersion()
    {
        NativeLibraryLoader.EnsureLoaded();

        Assert.That(NativeMethods.ToManagedString(NativeMethods.Version()), Does.Match(@"^\d+\.\d+\.\d+"));
    }

    [Test]
    public void CandidatesFollowTheDocumentedOrder()
    {
        IReadOnlyList<NativeLibraryCandidate> candidates = NativeLibraryLoader.Candidates();
        string assemblyDirectory = Path.GetDirectoryName(typeof(NativeLibraryLoader).Assembly.Location)!;
        string portableRid = NativeLibraryLoader.RuntimeIdentifiers()[^1];

        Assert.That(candidates[0].Path, Is.EqualTo(Path.Combine(assemblyDirectory, NativeLibraryLoader.FileName)));
        int nextToAssembly = candidates.ToList().FindLastIndex(c => c.Path.EndsWith(Path.DirectorySeparatorChar + NativeLibraryLoader.FileName, StringComparison.Ordinal) && !c.Path.Contains("runtimes", StringComparison.Ordinal));
        int firstRuntimes = candidates.ToList().FindIndex(c => c.Path.Contains(Path.Combine("runtimes", portableRid, "native"), StringComparison.Ordinal));
        Assert.That(firstRuntimes, Is.GreaterThan(nextToAssembly), "runtimes/<rid>/native comes after the assembly's own directory");
        Assert.That(candidates[^1], Is.EqualTo(new NativeLibraryCandidate(NativeLibraryLoader.FileName, IsSearchName: true)), "the system search path comes last");
        Assert.That(portableRid, Does.Match("^(linux|linux-musl|osx|win)-(x64|arm64|x86|arm)$"));
    }

    [Test]
    public void AMissingFileIsReportedAsMissing()
    {
        using var temp = new TempDirectory();

        string? reason = NativeLibraryLoader.TryLoad(new(temp.File(NativeLibraryLoader.FileName), false), NativeMethods.AbiVersion, out nint handle);

        Assert.That(reason, Is.EqualTo("file not found"));
        Assert.That(handle, Is.EqualTo(nint.Zero));
    }

    [Test]
    public void AFileThatIsNotALibraryIsReportedWithTheLoadError()
    {
        using var temp = new TempDirectory();
        string fake = temp.File(NativeLibraryLoader.FileName);
        File.WriteAllText(fake, "this is a text file, not a shared library\n");

        string? reason = NativeLibraryLoader.TryLoad(new(fake, false), NativeMethods.AbiVersion, out nint handle);

        Assert.That(reason, Does.StartWith("could not be loaded: ").Or.StartWith("not a library for this process"));
        // The OS loader's own words follow (such as "invalid ELF header"), so there is more than our prefix.
        Assert.That(reason!.Length, Is.GreaterThan("could not be loaded: ".Length + 10));
        Assert.That(handle, Is.EqualTo(nint.Zero));
    }

    [Test]
    public void ALibraryWithoutTheAbiExportIsRejected()
    {
        // Any real native library that is not Myelin's will do: the runtime ships one beside itself.
        string name = OperatingSystem.IsWindows() ? "System.IO.Compression.Native.dll"
            : OperatingSystem.IsMacOS() ? "libSystem.Native.dylib" : "libSystem.Native.so";
        string other = Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), name);
        Assume.That(File.Exists(other), $"{other} is not part of this runtime");

        string? reason = NativeLibraryLoader.TryLoad(new(other, false), NativeMethods.AbiVersion, out nint handle);

        Assert.That(reason, Does.Contain("does not export mln_abi_version"));
        Assert.That(handle, Is.EqualTo(nint.Zero));
    }

    [Test]
    public void ALibraryOfAnotherAbiVersionIsRejected()
    {
        string path = NativeLibraryLoader.EnsureLoaded();
        int expected = NativeMethods.AbiVersion + 1;

        string? reason = NativeLibraryLoader.TryLoad(new(path, false), expected, out nint handle);

        Assert.That(reason, Does.StartWith($"ABI version {NativeMethods.AbiVersion}, but these bindings need {expected}"));
        Assert.That(handle, Is.EqualTo(nint.Zero));
    }

    [Test]
    public void WhenNothingLoadsEveryAttemptIsListed()
    {
        using var temp = new TempDirectory();
        string fake = temp.File(NativeLibraryLoader.FileName);
        File.WriteAllText(fake, "not a library");
        string missing = Path.Combine(temp.Path, "runtimes", "linux-x64", "native", NativeLibraryLoader.FileName);
        const string searchName = "libmyelin-that-does-not-exist.so";

        var error = Assert.Throws<NativeLibraryLoadException>(() => NativeLibraryLoader.LoadFirst(
            [new(fake, false), new(missing, false), new(searchName, true)], NativeMethods.AbiVersion));

        Assert.That(error!.Attempts.Select(a => a.Path), Is.EqualTo(new[] { fake, missing, searchName }));
        Assert.That(error.Attempts[1].Reason, Is.EqualTo("file not found"));
        Assert.That(error.Attempts[2].Reason, Does.StartWith("could not be loaded: "));
        Assert.That(error.Status, Is.EqualTo(Status.NotSupported));
        Assert.That(error, Is.InstanceOf<MyelinException>());
        foreach (NativeLibraryAttempt attempt in error.Attempts)
        {
            Assert.That(error.Message, Does.Contain($"  {attempt.Path}: {attempt.Reason}"));
        }
    }
}

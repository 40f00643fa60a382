namespace Myelin;

/// <summary>A failed call into Myelin's native library.</summary>
public class MyelinException : Exception
{
    /// <summary>Creates the exception for a native call that returned <paramref name="status"/>.</summary>
    /// <param name="status">The status the native call returned.</param>
    /// <param name="message">The native message (<c>mln_last_error()</c>), which names the function and the values.</param>
    public MyelinException(Status status, string message)
        : base(message)
    {
        Status = status;
    }

    /// <summary>Creates the exception with the exception that caused it.</summary>
    public MyelinException(Status status, string message, Exception? innerException)
        : base(message, innerException)
    {
        Status = status;
    }

    /// <summary>The native status of the failure; never <see cref="Status.Ok"/>.</summary>
    public Status Status { get; }
}

/// <summary>
/// The native library could not be loaded. <see cref="MyelinException.Status"/> is
/// <see cref="Status.NotSupported"/>: a valid request that this installation cannot serve, since no
/// status is more fitting and a nullable one would burden every other catch site.
/// </summary>
public sealed class NativeLibraryLoadException : MyelinException
{
    /// <summary>Creates the exception from every location that was tried, in order.</summary>
    public NativeLibraryLoadException(IReadOnlyList<NativeLibraryAttempt> attempts)
        : base(Status.NotSupported, Format(attempts))
    {
        Attempts = attempts;
    }

    /// <summary>Every location tried, in order, with the reason it was not used.</summary>
    public IReadOnlyList<NativeLibraryAttempt> Attempts { get; }

    private static string Format(IReadOnlyList<NativeLibraryAttempt> attempts) =>
        "Myelin's native library could not be loaded. Tried:\n"
        + string.Join("\n", attempts.Select(a => $"  {a.Path}: {a.Reason}"));
}

/// <summary>One location the loader tried and why it was not used.</summary>
/// <param name="Path">A file path, or a bare file name that the system search path resolved.</param>
/// <param name="Reason">Why it failed: missing, not loadable (with the OS's message), no mln_abi_version, or another ABI version.</param>
public sealed record NativeLibraryAttempt(string Path, string Reason);

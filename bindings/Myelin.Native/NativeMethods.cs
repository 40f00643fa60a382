using System.Runtime.InteropServices;

namespace Myelin.Native;

// The hand-written part of NativeMethods; NativeMethods.g.cs holds the generated declarations.
public static unsafe partial class NativeMethods
{
    /// <summary>The name every declaration imports; <see cref="NativeLibraryLoader"/> resolves it.</summary>
    public const string LibraryName = "myelin";

    /// <summary>
    /// Throws <see cref="MyelinException"/> unless <paramref name="status"/> is <see cref="Status.Ok"/>.
    /// Call it right after the native call, on the same thread and before any other native call:
    /// <c>mln_last_error()</c> is per thread and replaced by the next call.
    /// </summary>
    public static void Check(Status status)
    {
        if (status != Status.Ok)
        {
            throw Failure(status);
        }
    }

    /// <summary>The exception for a failed call, with the native message of this thread's last failure.</summary>
    public static MyelinException Failure(Status status)
    {
        // Read first, before anything else could make a native call on this thread.
        string message = ToManagedString(LastError());
        if (message.Length == 0)
        {
            message = $"A Myelin call failed with status {status}, and mln_last_error() gave no message.";
        }

        return new MyelinException(status, message);
    }

    /// <summary>Copies a NUL-terminated UTF-8 string owned by the library; null becomes "".</summary>
    public static string ToManagedString(byte* utf8) =>
        utf8 == null ? string.Empty : Marshal.PtrToStringUTF8((nint)utf8) ?? string.Empty;
}

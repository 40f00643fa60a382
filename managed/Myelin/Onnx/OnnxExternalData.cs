using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace Myelin.Onnx;

/// <summary>
/// Reads tensor data that a model keeps in files beside it (<c>data_location: EXTERNAL</c>; keys <c>location</c>,
/// <c>offset</c>, <c>length</c>, <c>checksum</c>). A location must be a relative path that stays inside the model's
/// directory, and the byte range must lie inside the file, so a model cannot make the loader read other files or
/// allocate more than the file holds. One reader serves one import: it caches each file's SHA-1 for checksums.
/// </summary>
internal sealed class OnnxExternalData(string directory)
{
    private readonly string _directory = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
    private readonly Dictionary<string, string> _digests = new(StringComparer.Ordinal);

    /// <summary>The message for a tensor with external data when the model came from bytes or a stream.</summary>
    internal static string NoDirectoryMessage(string what, global::Onnx.TensorProto proto) =>
        $"{what}: the data is in an external file ('{Entry(proto, "location") ?? "(no location)"}') but the model was not loaded from a path; "
        + "load it from its file, or pass the directory its external data is relative to.";

    /// <summary>Where <paramref name="proto"/>'s external data lies, checked against the file before anything is allocated.</summary>
    /// <exception cref="OnnxFormatException">A key is missing or malformed, the path leaves the model's directory, the range lies outside the file, its length is not <paramref name="bytes"/>, or the checksum does not match.</exception>
    internal Range Locate(global::Onnx.TensorProto proto, string what, long bytes)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (global::Onnx.StringStringEntryProto entry in proto.ExternalData)
        {
            if (!seen.Add(entry.Key)) throw new OnnxFormatException($"{what}: external_data key '{entry.Key}' is given twice.");
        }

        string location = Entry(proto, "location") ?? throw new OnnxFormatException($"{what}: external_data has no 'location' key.");
        string path = Resolve(location, what);
        long offset = Number(proto, "offset", what) ?? 0;
        long fileLength;
        using (SafeFileHandle file = Open(path, what, location)) fileLength = RandomAccess.GetLength(file);
        long length = Number(proto, "length", what) ?? fileLength - Math.Min(offset, fileLength);
        if (offset > fileLength || length > fileLength - offset)
        {
            throw new OnnxFormatException($"{what}: external_data offset {offset} and length {length} reach past the end of '{location}' ({fileLength} bytes).");
        }

        if (length != bytes)
        {
            throw new OnnxFormatException($"{what}: the dims and dtype take {bytes} bytes but external_data gives {length} bytes of '{location}'.");
        }

        if (Entry(proto, "checksum") is { } checksum)
        {
            string digest = Digest(path);
            if (!string.Equals(checksum, digest, StringComparison.OrdinalIgnoreCase))
            {
                throw new OnnxFormatException($"{what}: external_data checksum {checksum} does not match the SHA-1 {digest} of '{location}'.");
            }
        }

        return new Range(path, location, offset, length);
    }

    /// <summary>Reads a located range into <paramref name="destination"/>, which holds at least its length.</summary>
    internal static unsafe void Read(Range range, string what, byte* destination)
    {
        using SafeFileHandle file = Open(range.Path, what, range.Location);
        // Read in pieces: a span holds at most 2^31 - 1 bytes, a tensor may hold more.
        for (long done = 0; done < range.Length;)
        {
            int piece = (int)Math.Min(range.Length - done, 1 << 30);
            int read = RandomAccess.Read(file, new Span<byte>(destination + done, piece), range.Offset + done);
            if (read == 0) throw new OnnxFormatException($"{what}: '{range.Location}' ended after {range.Offset + done} bytes while reading its external data.");
            done += read;
        }
    }

    /// <summary>A checked byte range of an external file: its full path, its location as the model wrote it, offset and length.</summary>
    internal sealed record Range(string Path, string Location, long Offset, long Length);

    private static string? Entry(global::Onnx.TensorProto proto, string key) =>
        proto.ExternalData.FirstOrDefault(e => e.Key == key)?.Value;

    private static long? Number(global::Onnx.TensorProto proto, string key, string what)
    {
        if (Entry(proto, key) is not { } text) return null;
        return long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long value)
            ? value
            : throw new OnnxFormatException($"{what}: external_data '{key}' is '{text}'; it must be a non-negative integer.");
    }

    /// <summary>The full path of <paramref name="location"/>, which must be relative and stay inside the model's directory.</summary>
    private string Resolve(string location, string what)
    {
        if (location.Length == 0 || location.Contains('\0'))
        {
            throw new OnnxFormatException($"{what}: external_data location '{location}' is not a file name.");
        }

        if (Path.IsPathRooted(location) || location.StartsWith('/') || location.StartsWith('\\'))
        {
            throw new OnnxFormatException($"{what}: external_data location '{location}' is an absolute path; it must be relative to the model's directory.");
        }

        string path = Path.GetFullPath(Path.Combine(_directory, location));
        if (!path.StartsWith(_directory + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new OnnxFormatException($"{what}: external_data location '{location}' leaves the model's directory.");
        }

        return path;
    }

    private static SafeFileHandle Open(string path, string what, string location)
    {
        try
        {
            return File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new OnnxFormatException($"{what}: cannot open external data file '{location}' ({exception.Message})", exception);
        }
    }

    private string Digest(string path)
    {
        if (!_digests.TryGetValue(path, out string? digest))
        {
            using FileStream stream = File.OpenRead(path);
            _digests[path] = digest = Convert.ToHexString(SHA1.HashData(stream));
        }

        return digest;
    }
}

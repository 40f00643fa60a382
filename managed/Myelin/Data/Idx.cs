using System.Buffers.Binary;
using System.IO.Compression;

namespace Myelin.Data;

/// <summary>The element types of the IDX format (the third byte of the magic number).</summary>
public enum IdxDataType : byte
{
    /// <summary>Unsigned byte.</summary>
    UnsignedByte = 0x08,

    /// <summary>Signed byte.</summary>
    SignedByte = 0x09,

    /// <summary>Big-endian 16-bit integer.</summary>
    Int16 = 0x0B,

    /// <summary>Big-endian 32-bit integer.</summary>
    Int32 = 0x0C,

    /// <summary>Big-endian 32-bit float.</summary>
    Single = 0x0D,

    /// <summary>Big-endian 64-bit float.</summary>
    Double = 0x0E,
}

/// <summary>The contents of an IDX file (the format of MNIST and Fashion-MNIST): element type, dimensions and values.</summary>
public sealed class IdxArray
{
    // The payload as stored (big-endian), decoded on request, so a 60000-image file costs its bytes only.
    private readonly byte[] _payload;
    private readonly int _elementSize;

    private IdxArray(IdxDataType dataType, int[] dimensions, byte[] payload, int elementSize)
    {
        DataType = dataType;
        Dimensions = dimensions;
        _payload = payload;
        _elementSize = elementSize;
    }

    /// <summary>The element type stored in the file.</summary>
    public IdxDataType DataType { get; }

    /// <summary>The dimensions, outermost first.</summary>
    public IReadOnlyList<int> Dimensions { get; }

    /// <summary>The number of elements.</summary>
    public int Count => _payload.Length / _elementSize;

    /// <summary>The values, row-major, as doubles (exact for every IDX type).</summary>
    public double[] ToDoubleArray()
    {
        var values = new double[Count];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = Decode(DataType, _payload.AsSpan(i * _elementSize, _elementSize));
        }

        return values;
    }

    /// <summary>The values, row-major, as floats (32-bit integers beyond 2^24 round).</summary>
    public float[] ToSingleArray()
    {
        var values = new float[Count];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (float)Decode(DataType, _payload.AsSpan(i * _elementSize, _elementSize));
        }

        return values;
    }

    /// <summary>
    /// Reads the IDX file at <paramref name="path"/>, raw or gzip-compressed (told apart by the gzip magic bytes).
    /// Sizes are checked against the file's length (for gzip, the uncompressed length in its trailer) before
    /// anything large is allocated.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not valid IDX; the message names the file and the field at fault.</exception>
    public static IdxArray Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using FileStream file = File.OpenRead(path);
        Span<byte> magic = stackalloc byte[2];
        int got = file.ReadAtLeast(magic, 2, throwOnEndOfStream: false);
        bool gzip = got == 2 && magic[0] == 0x1F && magic[1] == 0x8B;
        long contentLength;
        if (gzip)
        {
            // ISIZE, the last four bytes, is the uncompressed length modulo 2^32 (little-endian).
            if (file.Length < 18)
            {
                throw new InvalidDataException($"IDX file {path}: the gzip stream is truncated ({file.Length} bytes).");
            }

            Span<byte> trailer = stackalloc byte[4];
            file.Seek(-4, SeekOrigin.End);
            file.ReadExactly(trailer);
            contentLength = BinaryPrimitives.ReadUInt32LittleEndian(trailer);
        }
        else
        {
            contentLength = file.Length;
        }

        file.Seek(0, SeekOrigin.Begin);
        using Stream stream = gzip ? new GZipStream(file, CompressionMode.Decompress) : file;
        try
        {
            return Read(stream, contentLength, gzip, path);
        }
        catch (InvalidDataException exception) when (!exception.Message.StartsWith("IDX file", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"IDX file {path}: the gzip stream is corrupt ({exception.Message}).", exception);
        }
    }

    private static IdxArray Read(Stream stream, long contentLength, bool gzip, string path)
    {
        string lengthKind = gzip ? "uncompressed length recorded in the gzip trailer" : "file length";
        Span<byte> header = stackalloc byte[4];
        ReadFully(stream, header, path, "magic number");
        if (header[0] != 0 || header[1] != 0)
        {
            throw new InvalidDataException($"IDX file {path}: the magic number starts {header[0]:X2} {header[1]:X2} instead of 00 00; this is not an IDX file.");
        }

        var dataType = (IdxDataType)header[2];
        int elementSize = dataType switch
        {
            IdxDataType.UnsignedByte or IdxDataType.SignedByte => 1,
            IdxDataType.Int16 => 2,
            IdxDataType.Int32 or IdxDataType.Single => 4,
            IdxDataType.Double => 8,
            _ => throw new InvalidDataException($"IDX file {path}: data type byte 0x{header[2]:X2} is not an IDX type (08, 09, 0B, 0C, 0D or 0E)."),
        };
        int rank = header[3];
        if (rank == 0)
        {
            throw new InvalidDataException($"IDX file {path}: the dimension count is 0.");
        }

        var dimensionBytes = new byte[4 * rank];
        ReadFully(stream, dimensionBytes, path, "dimensions");
        var dimensions = new int[rank];
        long count = 1;
        for (int i = 0; i < rank; i++)
        {
            dimensions[i] = BinaryPrimitives.ReadInt32BigEndian(dimensionBytes.AsSpan(4 * i));
            if (dimensions[i] < 0)
            {
                throw new InvalidDataException($"IDX file {path}: dimension {i} is negative ({dimensions[i]}).");
            }

            count *= dimensions[i];
            if (count > Array.MaxLength)
            {
                throw new InvalidDataException($"IDX file {path}: dimensions [{string.Join(", ", dimensions[..(i + 1)])}] hold more elements than an array can.");
            }
        }

        long expected = 4 + 4L * rank + count * elementSize;
        long recorded = gzip ? expected & 0xFFFFFFFFL : expected;
        if (recorded != contentLength)
        {
            throw new InvalidDataException(
                $"IDX file {path}: dimensions [{string.Join(", ", dimensions)}] of {dataType} need {expected} bytes but the {lengthKind} is {contentLength}; the file is truncated or corrupt.");
        }

        if (count * elementSize > Array.MaxLength)
        {
            throw new InvalidDataException($"IDX file {path}: dimensions [{string.Join(", ", dimensions)}] need more bytes than an array can hold.");
        }

        var payload = new byte[count * elementSize];
        ReadFully(stream, payload, path, "data");

        if (stream.ReadByte() >= 0)
        {
            throw new InvalidDataException($"IDX file {path}: there are bytes after the {count} elements.");
        }

        return new IdxArray(dataType, dimensions, payload, elementSize);
    }

    private static double Decode(IdxDataType type, ReadOnlySpan<byte> bytes) => type switch
    {
        IdxDataType.UnsignedByte => bytes[0],
        IdxDataType.SignedByte => (sbyte)bytes[0],
        IdxDataType.Int16 => BinaryPrimitives.ReadInt16BigEndian(bytes),
        IdxDataType.Int32 => BinaryPrimitives.ReadInt32BigEndian(bytes),
        IdxDataType.Single => BinaryPrimitives.ReadSingleBigEndian(bytes),
        _ => BinaryPrimitives.ReadDoubleBigEndian(bytes),
    };

    private static void ReadFully(Stream stream, Span<byte> destination, string path, string field)
    {
        if (stream.ReadAtLeast(destination, destination.Length, throwOnEndOfStream: false) < destination.Length)
        {
            throw new InvalidDataException($"IDX file {path}: the file ends inside the {field}.");
        }
    }

    /// <summary>
    /// A classification dataset from an images file [N, H, W] (unsigned bytes, scaled to [0, 1]) and a labels file [N],
    /// with samples of shape [1, H, W].
    /// </summary>
    /// <exception cref="InvalidDataException">A file is invalid, or the two disagree on N.</exception>
    public static InMemoryDataset LoadImageClassification(string imagesPath, string labelsPath)
    {
        IdxArray images = Read(imagesPath);
        IdxArray labels = Read(labelsPath);
        if (images.Dimensions.Count != 3)
        {
            throw new InvalidDataException($"IDX file {imagesPath}: images need 3 dimensions [N, H, W] but it has [{string.Join(", ", images.Dimensions)}].");
        }

        if (labels.Dimensions.Count != 1 || labels.Dimensions[0] != images.Dimensions[0])
        {
            throw new InvalidDataException(
                $"IDX file {labelsPath}: labels [{string.Join(", ", labels.Dimensions)}] do not match the {images.Dimensions[0]} images of {imagesPath}.");
        }

        // Bytes become x / 255, as torchvision's ToTensor.
        float divisor = images.DataType == IdxDataType.UnsignedByte ? 255f : 1f;
        float[] features = images.ToSingleArray();
        for (int i = 0; i < features.Length; i++)
        {
            features[i] /= divisor;
        }

        double[] values = labels.ToDoubleArray();
        long[] classes = new long[values.Length];
        for (int i = 0; i < classes.Length; i++)
        {
            double label = values[i];
            if (label < 0 || label != Math.Floor(label))
            {
                throw new InvalidDataException($"IDX file {labelsPath}: label {i} is {label}, not a class number.");
            }

            classes[i] = (long)label;
        }

        return InMemoryDataset.FromLabels(features, [1, images.Dimensions[1], images.Dimensions[2]], classes);
    }
}

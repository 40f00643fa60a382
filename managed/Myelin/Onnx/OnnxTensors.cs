using System.Runtime.InteropServices;
using Google.Protobuf;

namespace Myelin.Onnx;

/// <summary>
/// Reads ONNX <c>TensorProto</c>s (initializers, tensor attributes, and the <c>input_*.pb</c>/<c>output_*.pb</c>
/// files of ONNX backend-test cases) into Myelin tensors.
/// </summary>
public static class OnnxTensors
{
    /// <summary>
    /// Reads a serialized <c>TensorProto</c> file into a new CPU tensor named after the proto's name; like any new
    /// tensor it belongs to the current <see cref="TensorScope"/>, if any, else to the caller.
    /// </summary>
    /// <exception cref="OnnxFormatException">The file is not a valid TensorProto, or its dtype is not supported.</exception>
    public static Tensor Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Parse(File.ReadAllBytes(path), Path.GetFileName(path));
    }

    /// <summary>Parses a serialized <c>TensorProto</c> into a new CPU tensor (owned as in <see cref="Load"/>); <paramref name="source"/> names it in messages.</summary>
    /// <exception cref="OnnxFormatException">The bytes are not a valid TensorProto, or its dtype is not supported.</exception>
    public static Tensor Parse(byte[] bytes, string source = "tensor")
    {
        ArgumentNullException.ThrowIfNull(bytes);
        global::Onnx.TensorProto proto;
        try
        {
            proto = global::Onnx.TensorProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException exception)
        {
            throw new OnnxFormatException($"{source}: not a valid ONNX TensorProto ({exception.Message})", exception);
        }

        Tensor tensor = ToTensor(proto, source);
        tensor.Name = string.IsNullOrEmpty(proto.Name) ? null : proto.Name;
        TensorScope.Current?.Add(tensor);
        return tensor;
    }

    /// <summary>
    /// Converts <paramref name="proto"/> into a new CPU tensor that no <see cref="TensorScope"/> owns. The element
    /// count that the dims declare must match the data the proto holds, so a proto cannot make the loader allocate
    /// more than it carries. Data in an external file is read through <paramref name="external"/>; without one
    /// such a proto is refused.
    /// </summary>
    internal static unsafe Tensor ToTensor(global::Onnx.TensorProto proto, string what, OnnxExternalData? external = null)
    {
        if (proto.Segment is not null)
        {
            throw new OnnxFormatException($"{what}: segmented tensors are not supported.");
        }

        DType dtype = ToDType(proto.DataType, what);
        if (proto.Dims.Count > Shape.MaxRank)
        {
            throw new OnnxFormatException($"{what}: dims has {proto.Dims.Count} entries; Myelin tensors have at most {Shape.MaxRank}.");
        }

        var dims = new long[proto.Dims.Count];
        long count = 1;
        for (int i = 0; i < dims.Length; i++)
        {
            dims[i] = proto.Dims[i];
            if (dims[i] < 0)
            {
                throw new OnnxFormatException($"{what}: dims[{i}] is {dims[i]}; dims must not be negative.");
            }

            try
            {
                count = checked(count * dims[i]);
            }
            catch (OverflowException)
            {
                throw new OnnxFormatException($"{what}: dims [{string.Join(", ", proto.Dims)}] hold more elements than a 64-bit count can.");
            }
        }

        int size = dtype.ElementSize();
        if (proto.HasDataLocation && proto.DataLocation == global::Onnx.TensorProto.Types.DataLocation.External)
        {
            return ReadExternal(proto, what, external, new Shape(dims), dtype);
        }

        long held = proto.HasRawData ? proto.RawData.Length / size : TypedCount(proto, dtype);
        if (proto.HasRawData && proto.RawData.Length % size != 0)
        {
            throw new OnnxFormatException($"{what}: raw_data has {proto.RawData.Length} bytes, not a multiple of the {size}-byte {dtype.ShortName()} element.");
        }

        if (held != count)
        {
            throw new OnnxFormatException($"{what}: dims [{string.Join(", ", proto.Dims)}] declare {count} elements but {(proto.HasRawData ? "raw_data" : FieldOf(dtype))} holds {held}.");
        }

        Tensor tensor = Tensor.Empty(new Shape(dims), dtype, Device.Cpu, ownedByScope: false);
        var bytes = new Span<byte>(tensor.DataPointer, checked((int)(count * size)));
        if (proto.HasRawData)
        {
            // ONNX stores raw_data little-endian, as every platform Myelin runs on is.
            proto.RawData.Span.CopyTo(bytes);
            return tensor;
        }

        switch (dtype)
        {
            case DType.F32:
                MemoryMarshal.AsBytes(proto.FloatData.ToArray().AsSpan()).CopyTo(bytes);
                break;
            case DType.F64:
                MemoryMarshal.AsBytes(proto.DoubleData.ToArray().AsSpan()).CopyTo(bytes);
                break;
            case DType.I64:
                MemoryMarshal.AsBytes(proto.Int64Data.ToArray().AsSpan()).CopyTo(bytes);
                break;
            case DType.I32:
                MemoryMarshal.AsBytes(proto.Int32Data.ToArray().AsSpan()).CopyTo(bytes);
                break;
            case DType.F16 or DType.Bf16:
                // int32_data holds each 16-bit pattern in the low bits of an int32.
                Span<ushort> halves = MemoryMarshal.Cast<byte, ushort>(bytes);
                for (int i = 0; i < halves.Length; i++) halves[i] = (ushort)proto.Int32Data[i];
                break;
            case DType.Bool or DType.U8 or DType.I8:
                for (int i = 0; i < bytes.Length; i++) bytes[i] = dtype == DType.Bool ? (byte)(proto.Int32Data[i] != 0 ? 1 : 0) : (byte)proto.Int32Data[i];
                break;
        }

        return tensor;
    }

    private static unsafe Tensor ReadExternal(global::Onnx.TensorProto proto, string what, OnnxExternalData? external, Shape shape, DType dtype)
    {
        if (external is null) throw new OnnxFormatException(OnnxExternalData.NoDirectoryMessage(what, proto));
        if (proto.HasRawData || TypedCount(proto, dtype) > 0)
        {
            throw new OnnxFormatException($"{what}: data_location is EXTERNAL but the proto also holds data of its own.");
        }

        long bytes = shape.ElementCount <= long.MaxValue / dtype.ElementSize()
            ? shape.ElementCount * dtype.ElementSize()
            : throw new OnnxFormatException($"{what}: dims [{shape}] take more than 2^63 bytes.");
        // The range is checked against the file before the tensor is allocated.
        OnnxExternalData.Range range = external.Locate(proto, what, bytes);
        Tensor tensor = Tensor.Empty(shape, dtype, Device.Cpu, ownedByScope: false);
        try
        {
            OnnxExternalData.Read(range, what, (byte*)tensor.DataPointer);
        }
        catch
        {
            tensor.Dispose();
            throw;
        }

        return tensor;
    }

    /// <summary>A string that equal tensors (dtype, shape and elements) and only they share: the key of a value-bound build.</summary>
    internal static unsafe string ValueKey(Tensor tensor)
    {
        if (tensor.Device.Kind != DeviceKind.Cpu)
        {
            throw new Graphs.FeedException(tensor.Name ?? tensor.DisplayName, $"{tensor.DisplayName} is on {tensor.Device.Name}; a feed whose value the model needs when it is built must be on the CPU.");
        }

        using Tensor contiguous = tensor.Contiguous();
        var bytes = new ReadOnlySpan<byte>(contiguous.DataPointer, checked((int)(contiguous.ElementCount * contiguous.ElementSize)));
        return $"{tensor.DType.ShortName()}[{tensor.Shape}]{Convert.ToHexString(bytes)}";
    }

    /// <summary>The Myelin dtype of an ONNX <c>TensorProto.DataType</c> (the enums share their numbers).</summary>
    internal static DType ToDType(int onnxType, string what) => onnxType switch
    {
        (int)DType.F32 or (int)DType.F64 or (int)DType.F16 or (int)DType.Bf16 or (int)DType.I64 or (int)DType.I32
            or (int)DType.I8 or (int)DType.U8 or (int)DType.Bool => (DType)onnxType,
        _ => throw new OnnxFormatException($"{what}: ONNX data type {onnxType} ({NameOf(onnxType)}) is not supported; Myelin has f32, f64, f16, bf16, i64, i32, i8, u8 and bool."),
    };

    private static string NameOf(int onnxType) =>
        Enum.IsDefined(typeof(global::Onnx.TensorProto.Types.DataType), onnxType) ? ((global::Onnx.TensorProto.Types.DataType)onnxType).ToString() : "unknown";

    private static long TypedCount(global::Onnx.TensorProto proto, DType dtype) => dtype switch
    {
        DType.F32 => proto.FloatData.Count,
        DType.F64 => proto.DoubleData.Count,
        DType.I64 => proto.Int64Data.Count,
        _ => proto.Int32Data.Count,
    };

    private static string FieldOf(DType dtype) => dtype switch
    {
        DType.F32 => "float_data",
        DType.F64 => "double_data",
        DType.I64 => "int64_data",
        _ => "int32_data",
    };
}

/// <summary>An ONNX model or tensor file is malformed or uses a feature Myelin does not read; the message names the field or node.</summary>
public sealed class OnnxFormatException : MyelinException
{
    /// <summary>Creates the exception.</summary>
    public OnnxFormatException(string message, Exception? innerException = null)
        : base(Status.InvalidArgument, message, innerException)
    {
    }
}

/// <summary>
/// A model uses ops the registry does not have (at the model's opset): raised by import before anything runs,
/// with every unsupported op type and the nodes that use it.
/// </summary>
public sealed class OnnxUnsupportedOpsException : MyelinException
{
    /// <summary>Creates the exception from the unsupported op types (such as <c>Loop</c> or <c>com.microsoft:Attention</c>) and their nodes.</summary>
    public OnnxUnsupportedOpsException(IReadOnlyDictionary<string, IReadOnlyList<string>> nodesByOpType)
        : base(Status.NotSupported, Format(nodesByOpType))
    {
        NodesByOpType = nodesByOpType;
    }

    /// <summary>Each unsupported op type with the names of the nodes using it.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> NodesByOpType { get; }

    private static string Format(IReadOnlyDictionary<string, IReadOnlyList<string>> nodesByOpType)
    {
        ArgumentNullException.ThrowIfNull(nodesByOpType);
        return $"The model uses {nodesByOpType.Count} unsupported op type{(nodesByOpType.Count == 1 ? "" : "s")}: "
            + string.Join("; ", nodesByOpType.Select(p => $"{p.Key} (node{(p.Value.Count == 1 ? "" : "s")} {string.Join(", ", p.Value.Select(n => $"'{n}'"))})"));
    }
}

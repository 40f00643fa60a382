using System.Runtime.CompilerServices;
using Myelin.Native;

namespace Myelin;

public sealed unsafe partial class Tensor
{
    /// <summary>
    /// Copies <paramref name="data"/> into a new CPU tensor. With no dimensions given the tensor is 1-d of
    /// <c>data.Length</c>; use <see cref="Scalar{T}"/> for a 0-d tensor.
    /// </summary>
    /// <exception cref="ArgumentException">The shape's element count differs from <c>data.Length</c>.</exception>
    /// <exception cref="NotSupportedException">No dtype stores <typeparamref name="T"/>.</exception>
    public static Tensor FromArray<T>(T[] data, params long[] shape) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(data);
        return FromArray(data, shape.Length == 0 ? new Shape(data.Length) : new Shape(shape));
    }

    /// <summary>Copies <paramref name="data"/> (row-major) into a new tensor of <paramref name="shape"/>.</summary>
    /// <exception cref="ArgumentException">The shape's element count differs from <c>data.Length</c>.</exception>
    /// <exception cref="NotSupportedException">No dtype stores <typeparamref name="T"/>.</exception>
    public static Tensor FromArray<T>(T[] data, Shape shape, Device? device = null) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(shape);
        return FromSpan<T>(data, shape, device);
    }

    /// <summary>Copies <paramref name="data"/> (row-major) into a new tensor of <paramref name="shape"/>.</summary>
    /// <exception cref="ArgumentException">The shape's element count differs from <c>data.Length</c>.</exception>
    public static Tensor FromSpan<T>(ReadOnlySpan<T> data, Shape shape, Device? device = null) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(shape);
        DType dtype = DTypeExtensions.Of<T>();
        if (data.Length != shape.ElementCount)
        {
            throw new ArgumentException($"Shape {shape} holds {shape.ElementCount} elements but the data has {data.Length}.", nameof(data));
        }

        device ??= Device.Cpu;
        Tensor tensor = Empty(shape, dtype, device);
        try
        {
            fixed (T* source = data)
            {
                CopyBytes(device, tensor.DataPointer, Device.Cpu, source, (long)data.Length * sizeof(T));
            }
        }
        catch
        {
            tensor.Dispose();
            throw;
        }

        return tensor;
    }

    /// <summary>A 0-d tensor holding <paramref name="value"/>.</summary>
    public static Tensor Scalar<T>(T value, Device? device = null) where T : unmanaged =>
        FromSpan(new ReadOnlySpan<T>(in value), Shape.Scalar, device);

    /// <summary>A tensor of zeros.</summary>
    public static Tensor Zeros(Shape shape, DType dtype = DType.F32, Device? device = null) => Full(shape, 0, dtype, device);

    /// <summary>A tensor of ones.</summary>
    public static Tensor Ones(Shape shape, DType dtype = DType.F32, Device? device = null) => Full(shape, 1, dtype, device);

    /// <summary>A tensor whose every element is <paramref name="value"/> converted to <paramref name="dtype"/>.</summary>
    public static Tensor Full(Shape shape, double value, DType dtype = DType.F32, Device? device = null) =>
        Full(shape, value, dtype, device ?? Device.Cpu, ownedByScope: true);

    private static Tensor Full(Shape shape, double value, DType dtype, Device device, bool ownedByScope)
    {
        ArgumentNullException.ThrowIfNull(shape);
        Tensor tensor = Empty(shape, dtype, device, ownedByScope);
        try
        {
            tensor.Fill(value);
        }
        catch
        {
            tensor.Dispose();
            throw;
        }

        return tensor;
    }

    /// <summary>
    /// Uniform samples in [0, 1) from <paramref name="generator"/> (default: <see cref="Generator.Default"/>).
    /// Samples are drawn in float32 (float64 for <see cref="DType.F64"/>) and cast to <paramref name="dtype"/>.
    /// </summary>
    public static Tensor Rand(Shape shape, DType dtype = DType.F32, Generator? generator = null, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(shape);
        RequireFloatingPoint(dtype);
        generator ??= Generator.Default;
        if (dtype == DType.F64)
        {
            double[] samples = new double[CheckedLength(shape)];
            generator.FillUniform(samples);
            return FromArray(samples, shape, device);
        }

        float[] values = new float[CheckedLength(shape)];
        generator.FillUniform(values);
        return CastFromHost(values, shape, dtype, device);
    }

    /// <summary>
    /// Normal samples with the given mean and standard deviation from <paramref name="generator"/>
    /// (default: <see cref="Generator.Default"/>), drawn in float32 (float64 for <see cref="DType.F64"/>).
    /// </summary>
    public static Tensor RandN(Shape shape, DType dtype = DType.F32, Generator? generator = null, Device? device = null,
        double mean = 0, double standardDeviation = 1)
    {
        ArgumentNullException.ThrowIfNull(shape);
        RequireFloatingPoint(dtype);
        generator ??= Generator.Default;
        if (dtype == DType.F64)
        {
            double[] samples = new double[CheckedLength(shape)];
            generator.FillNormal(samples, mean, standardDeviation);
            return FromArray(samples, shape, device);
        }

        float[] values = new float[CheckedLength(shape)];
        generator.FillNormal(values, mean, standardDeviation);
        return CastFromHost(values, shape, dtype, device);
    }

    /// <summary>The 1-d tensor 0, 1, ..., <paramref name="count"/> - 1.</summary>
    public static Tensor Arange(long count, DType dtype = DType.F32, Device? device = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        long[] values = new long[CheckedLength(new Shape(count))];
        for (long i = 0; i < values.LongLength; i++)
        {
            values[i] = i;
        }

        return CastFromHost(values, new Shape(count), dtype, device);
    }

    private static Tensor CastFromHost<T>(T[] values, Shape shape, DType dtype, Device? device) where T : unmanaged
    {
        if (DTypeExtensions.Of<T>() == dtype)
        {
            return FromArray(values, shape, device);
        }

        using Tensor source = FromSpan<T>(values, shape, device);
        return source.Cast(dtype);
    }

    private static void RequireFloatingPoint(DType dtype, [CallerMemberName] string factory = "")
    {
        if (!dtype.IsFloatingPoint())
        {
            throw new ArgumentException($"{factory} samples real numbers and needs a floating-point dtype, not {dtype.ShortName()}.", nameof(dtype));
        }
    }

    private static int CheckedLength(Shape shape) => shape.ElementCount <= Array.MaxLength
        ? (int)shape.ElementCount
        : throw new ArgumentException($"Shape {shape} has {shape.ElementCount} elements, more than a host array can hold.", nameof(shape));

    /// <summary>Copies bytes between two devices' memory (either may be the CPU).</summary>
    private static void CopyBytes(Device destinationDevice, void* destination, Device sourceDevice, void* source, long byteCount)
    {
        if (byteCount == 0)
        {
            return;
        }

        NativeMethods.Check(NativeMethods.MemoryCopy(destinationDevice.Handle, destination, sourceDevice.Handle, source, (nuint)byteCount));
    }
}

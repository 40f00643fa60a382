using Myelin.Native;

namespace Myelin;

/// <summary>Helpers over the generated <see cref="DType"/> enum.</summary>
public static class DTypeExtensions
{
    /// <summary>Bytes per element, as the native library reports it (<c>mln_dtype_size</c>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not a known dtype.</exception>
    public static int ElementSize(this DType dtype)
    {
        Runtime.EnsureLoaded();
        nuint size = NativeMethods.DTypeSize(dtype);
        if (size == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Not a dtype the native library knows.");
        }

        return (int)size;
    }

    /// <summary>Whether the dtype holds floating-point values (f16, bf16, f32, f64).</summary>
    public static bool IsFloatingPoint(this DType dtype) => dtype switch
    {
        DType.F16 or DType.Bf16 or DType.F32 or DType.F64 => true,
        _ => false,
    };

    /// <summary>Whether the dtype holds integers (bool excluded).</summary>
    public static bool IsInteger(this DType dtype) => dtype switch
    {
        DType.U8 or DType.I8 or DType.I32 or DType.I64 => true,
        _ => false,
    };

    /// <summary>The short lower-case name used in messages, such as <c>f32</c> or <c>bool</c>.</summary>
    public static string ShortName(this DType dtype) => dtype.ToString().ToLowerInvariant();

    /// <summary>The CLR element type that <see cref="Tensor.ToArray{T}"/> and <see cref="Tensor.FromArray{T}(T[], long[])"/> use for the dtype.</summary>
    public static Type ElementType(this DType dtype) => dtype switch
    {
        DType.F32 => typeof(float),
        DType.F64 => typeof(double),
        DType.F16 => typeof(Half),
        DType.Bf16 => typeof(BFloat16),
        DType.I32 => typeof(int),
        DType.I64 => typeof(long),
        DType.U8 => typeof(byte),
        DType.I8 => typeof(sbyte),
        DType.Bool => typeof(bool),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Not a dtype Myelin knows."),
    };

    /// <summary>The dtype whose elements are <typeparamref name="T"/>.</summary>
    /// <exception cref="NotSupportedException">No dtype stores <typeparamref name="T"/>.</exception>
    internal static DType Of<T>()
    {
        Type type = typeof(T);
        if (type == typeof(float)) return DType.F32;
        if (type == typeof(double)) return DType.F64;
        if (type == typeof(Half)) return DType.F16;
        if (type == typeof(BFloat16)) return DType.Bf16;
        if (type == typeof(int)) return DType.I32;
        if (type == typeof(long)) return DType.I64;
        if (type == typeof(byte)) return DType.U8;
        if (type == typeof(sbyte)) return DType.I8;
        if (type == typeof(bool)) return DType.Bool;
        throw new NotSupportedException($"No Myelin dtype stores elements of type {type.Name}; use float, double, Half, BFloat16, int, long, byte, sbyte or bool.");
    }
}

using System.Globalization;
using System.Text;

namespace Myelin;

public sealed unsafe partial class Tensor
{
    private const int ValuesShownByToString = 8;

    /// <summary>Copies the elements, in row-major order, into a new array; works for any layout and device.</summary>
    /// <exception cref="InvalidCastException"><typeparamref name="T"/> is not the element type of <see cref="DType"/>.</exception>
    public T[] ToArray<T>() where T : unmanaged
    {
        CheckElementType<T>(nameof(ToArray));
        var result = new T[CheckedLength(Shape)];
        if (result.Length == 0)
        {
            return result;
        }

        using Tensor source = IsContiguous ? View(Shape, _strides, Offset) : Contiguous();
        fixed (T* destination = result)
        {
            CopyBytes(Device.Cpu, destination, Device, source.DataPointer, (long)result.Length * sizeof(T));
        }

        GC.KeepAlive(source);
        return result;
    }

    /// <summary>The elements' bytes in row-major order as stored (little-endian), for any layout and device: serialization's raw data.</summary>
    internal byte[] ToBytes()
    {
        var result = new byte[checked(CheckedLength(Shape) * ElementSize)];
        if (result.Length == 0)
        {
            return result;
        }

        using Tensor source = IsContiguous ? View(Shape, _strides, Offset) : Contiguous();
        fixed (byte* destination = result)
        {
            CopyBytes(Device.Cpu, destination, Device, source.DataPointer, result.Length);
        }

        GC.KeepAlive(source);
        return result;
    }

    /// <summary>
    /// The elements of a contiguous CPU tensor, in place (writes change the tensor). The span is valid only
    /// while this tensor is alive.
    /// </summary>
    /// <exception cref="InvalidOperationException">The tensor is not on the CPU or not contiguous.</exception>
    /// <exception cref="InvalidCastException"><typeparamref name="T"/> is not the element type of <see cref="DType"/>.</exception>
    public Span<T> AsSpan<T>() where T : unmanaged
    {
        CheckElementType<T>(nameof(AsSpan));
        if (Device.Kind != DeviceKind.Cpu)
        {
            throw new InvalidOperationException($"AsSpan needs a CPU tensor but {DisplayName} is on {Device.Name}; use ToArray instead.");
        }

        if (!IsContiguous)
        {
            throw new InvalidOperationException($"AsSpan needs a contiguous tensor but {DisplayName} has strides [{string.Join(", ", _strides)}]; call Contiguous() first.");
        }

        return new Span<T>(DataPointer, CheckedLength(Shape));
    }

    /// <summary>The value of a one-element tensor (any rank).</summary>
    /// <exception cref="InvalidOperationException">The tensor does not have exactly one element.</exception>
    public T Item<T>() where T : unmanaged
    {
        if (ElementCount != 1)
        {
            throw new InvalidOperationException($"Item needs a tensor of one element but {DisplayName} has {ElementCount}.");
        }

        return ToArray<T>()[0];
    }

    /// <summary>Dtype, shape, device and the first few values, such as <c>Tensor(f32, 2x3, cpu:0) [1, 2, 3, 4, 5, 6]</c>.</summary>
    public override string ToString()
    {
        if (IsDisposed)
        {
            return $"Tensor({DisplayName}, disposed)";
        }

        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"Tensor({DType.ShortName()}, {Shape}, {Device.Name}) [");
        string[] values = FirstValues(ValuesShownByToString);
        text.AppendJoin(", ", values);
        if (ElementCount > values.Length)
        {
            text.Append(", ...");
        }

        return text.Append(']').ToString();
    }

    private void CheckElementType<T>(string operation) where T : unmanaged
    {
        Type expected = DType.ElementType();
        if (typeof(T) != expected)
        {
            throw new InvalidCastException(
                $"{operation}<{typeof(T).Name}>: {DisplayName} holds {DType.ShortName()} elements, read them as {expected.Name} or Cast(DType.{DTypeExtensions.Of<T>()}) first.");
        }
    }

    /// <summary>The first <paramref name="count"/> values in row-major order, formatted; copies only the leading rows.</summary>
    private string[] FirstValues(int count)
    {
        if (ElementCount == 0)
        {
            return [];
        }

        long rowsNeeded = Rank == 0 ? 1 : Math.Min(Shape[0], (count + ElementCount / Shape[0] - 1) / (ElementCount / Shape[0]));
        using Tensor leading = Rank == 0 ? View(Shape, _strides, Offset) : Narrow(0, 0, rowsNeeded);
        IEnumerable<object> values = DType switch
        {
            DType.F32 => leading.ToArray<float>().Cast<object>(),
            DType.F64 => leading.ToArray<double>().Cast<object>(),
            DType.F16 => leading.ToArray<Half>().Cast<object>(),
            DType.Bf16 => leading.ToArray<BFloat16>().Cast<object>(),
            DType.I32 => leading.ToArray<int>().Cast<object>(),
            DType.I64 => leading.ToArray<long>().Cast<object>(),
            DType.U8 => leading.ToArray<byte>().Cast<object>(),
            DType.I8 => leading.ToArray<sbyte>().Cast<object>(),
            DType.Bool => leading.ToArray<bool>().Cast<object>(),
            _ => throw new InvalidOperationException($"No element type for {DType}."),
        };
        return values.Take(count).Select(value => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "").ToArray();
    }
}

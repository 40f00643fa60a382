using Myelin.Native;

namespace Myelin;

// Eager operations: one wrapper per native kernel family, calling the same Ops.KernelCalls as compiled graphs. Output shapes are computed here so the result
// can be allocated; the native entry point validates everything again and its message surfaces as a
// MyelinException.
public sealed unsafe partial class Tensor
{
    /// <summary>Sets every element to <paramref name="value"/> (converted to the dtype), in place. Returns this tensor.</summary>
    public Tensor Fill(double value)
    {
        TensorDesc y = Describe();
        Ops.KernelCalls.Fill(Device.Handle, &y, value);
        GC.KeepAlive(this);
        return this;
    }

    /// <summary>Copies this tensor's elements into <paramref name="destination"/> (same dtype and shape, any layout).</summary>
    public void CopyTo(Tensor destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        RequireSameDevice(nameof(CopyTo), this, destination);
        TensorDesc x = Describe();
        TensorDesc y = destination.Describe();
        Ops.KernelCalls.Copy(Device.Handle, &x, &y);
        GC.KeepAlive(this);
        GC.KeepAlive(destination);
    }

    /// <summary>A contiguous copy of this tensor.</summary>
    public Tensor Clone()
    {
        Tensor copy = Empty(Shape, DType, Device);
        RunDisposingOnFailure(copy, () => CopyTo(copy));
        return copy;
    }

    /// <summary>
    /// This tensor in row-major layout: a new view of the same storage when it already is contiguous,
    /// otherwise a copy.
    /// </summary>
    public Tensor Contiguous() => IsContiguous ? View(Shape, _strides, Offset) : Clone();

    /// <summary>The elements converted to <paramref name="dtype"/> (floats to integers truncate toward zero).</summary>
    public Tensor Cast(DType dtype)
    {
        Tensor result = Empty(Shape, dtype, Device);
        RunDisposingOnFailure(result, () =>
        {
            TensorDesc x = Describe();
            TensorDesc y = result.Describe();
            Ops.KernelCalls.Cast(Device.Handle, &x, &y);
            GC.KeepAlive(this);
            GC.KeepAlive(result);
        });
        return result;
    }

    /// <summary>
    /// Applies <paramref name="op"/> elementwise. Writes into <paramref name="output"/> when given (same shape
    /// and dtype; it may be this tensor, for in-place) and returns it; otherwise returns a new tensor.
    /// </summary>
    public Tensor Unary(UnaryOp op, Tensor? output = null)
    {
        Tensor result = output ?? Empty(Shape, DType, Device);
        RequireSameDevice(op.ToString(), this, result);
        RunDisposingOnFailure(output is null ? result : null, () =>
        {
            TensorDesc x = Describe();
            TensorDesc y = result.Describe();
            NativeMethods.Check(NativeMethods.Unary(Device.Handle, op, 0.0, 0.0, &x, &y));
            GC.KeepAlive(this);
            GC.KeepAlive(result);
        });
        return result;
    }

    /// <summary>max(x, 0).</summary>
    public Tensor Relu() => Unary(UnaryOp.Relu);

    /// <summary>1 / (1 + exp(-x)).</summary>
    public Tensor Sigmoid() => Unary(UnaryOp.Sigmoid);

    /// <summary>Hyperbolic tangent.</summary>
    public Tensor Tanh() => Unary(UnaryOp.Tanh);

    /// <summary>e to the x.</summary>
    public Tensor Exp() => Unary(UnaryOp.Exp);

    /// <summary>Natural logarithm.</summary>
    public Tensor Log() => Unary(UnaryOp.Log);

    /// <summary>-x.</summary>
    public Tensor Neg() => Unary(UnaryOp.Neg);

    /// <summary>|x|.</summary>
    public Tensor Abs() => Unary(UnaryOp.Abs);

    /// <summary>Square root.</summary>
    public Tensor Sqrt() => Unary(UnaryOp.Sqrt);

    /// <summary>
    /// <c>op(a, b)</c> elementwise with NumPy broadcasting. Writes into <paramref name="output"/> when given
    /// (the broadcast shape; it may be a or b, for in-place) and returns it; otherwise returns a new tensor of
    /// a's dtype.
    /// </summary>
    /// <exception cref="ArgumentException">The shapes do not broadcast.</exception>
    public static Tensor Binary(BinaryOp op, Tensor a, Tensor b, Tensor? output = null)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        RequireSameDevice(op.ToString(), a, b);
        Tensor result = output ?? Empty(Shape.Broadcast(a.Shape, b.Shape), a.DType, a.Device);
        RequireSameDevice(op.ToString(), a, result);
        RunDisposingOnFailure(output is null ? result : null, () =>
        {
            TensorDesc ad = a.Describe();
            TensorDesc bd = b.Describe();
            TensorDesc y = result.Describe();
            Ops.KernelCalls.Binary(a.Device.Handle, op, &ad, &bd, &y);
            GC.KeepAlive(a);
            GC.KeepAlive(b);
            GC.KeepAlive(result);
        });
        return result;
    }

    /// <summary>a + b with broadcasting.</summary>
    public static Tensor Add(Tensor a, Tensor b) => Binary(BinaryOp.Add, a, b);

    /// <summary>a - b with broadcasting.</summary>
    public static Tensor Sub(Tensor a, Tensor b) => Binary(BinaryOp.Sub, a, b);

    /// <summary>a * b elementwise with broadcasting.</summary>
    public static Tensor Mul(Tensor a, Tensor b) => Binary(BinaryOp.Mul, a, b);

    /// <summary>a / b with broadcasting.</summary>
    public static Tensor Div(Tensor a, Tensor b) => Binary(BinaryOp.Div, a, b);

    /// <summary>The larger of a and b elementwise, with broadcasting.</summary>
    public static Tensor Maximum(Tensor a, Tensor b) => Binary(BinaryOp.Max, a, b);

    /// <summary>The smaller of a and b elementwise, with broadcasting.</summary>
    public static Tensor Minimum(Tensor a, Tensor b) => Binary(BinaryOp.Min, a, b);

    /// <summary>a to the power b elementwise, with broadcasting.</summary>
    public static Tensor Pow(Tensor a, Tensor b) => Binary(BinaryOp.Pow, a, b);

    /// <summary>This tensor to the power <paramref name="exponent"/>.</summary>
    public Tensor Pow(double exponent) => WithScalar(BinaryOp.Pow, this, exponent, scalarFirst: false);

    /// <summary>
    /// Reduces over <paramref name="axes"/> (negative count from the end; none or empty means all axes).
    /// With <paramref name="keepDims"/> the reduced axes stay with size 1.
    /// </summary>
    /// <exception cref="ArgumentException">An axis repeats.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An axis is outside the rank.</exception>
    public Tensor Reduce(ReduceOp op, int[]? axes = null, bool keepDims = false)
    {
        ThrowIfDisposed();
        axes ??= [];
        var reduced = new bool[Rank];
        foreach (int axis in axes)
        {
            int normalized = Shape.NormalizeAxis(axis);
            if (reduced[normalized])
            {
                throw new ArgumentException($"{op} of {DisplayName}: axis {axis} appears twice in [{string.Join(", ", axes)}].", nameof(axes));
            }

            reduced[normalized] = true;
        }

        var dims = new List<long>(Rank);
        for (int axis = 0; axis < Rank; axis++)
        {
            bool isReduced = axes.Length == 0 || reduced[axis];
            if (!isReduced)
            {
                dims.Add(Shape[axis]);
            }
            else if (keepDims)
            {
                dims.Add(1);
            }
        }

        Tensor result = Empty(new Shape([.. dims]), DType, Device);
        RunDisposingOnFailure(result, () =>
        {
            TensorDesc x = Describe();
            TensorDesc y = result.Describe();
            fixed (int* axisPointer = axes)
            {
                Ops.KernelCalls.Reduce(Device.Handle, op, &x, axisPointer, axes.Length, keepDims, &y);
            }

            GC.KeepAlive(this);
            GC.KeepAlive(result);
        });
        return result;
    }

    /// <summary>Sum over <paramref name="axes"/> (all axes when none).</summary>
    public Tensor Sum(params int[] axes) => Reduce(ReduceOp.Sum, axes);

    /// <summary>Sum over <paramref name="axes"/>, keeping them with size 1 when <paramref name="keepDims"/>.</summary>
    public Tensor Sum(int[] axes, bool keepDims) => Reduce(ReduceOp.Sum, axes, keepDims);

    /// <summary>Mean over <paramref name="axes"/> (all axes when none).</summary>
    public Tensor Mean(params int[] axes) => Reduce(ReduceOp.Mean, axes);

    /// <summary>Mean over <paramref name="axes"/>, keeping them with size 1 when <paramref name="keepDims"/>.</summary>
    public Tensor Mean(int[] axes, bool keepDims) => Reduce(ReduceOp.Mean, axes, keepDims);

    /// <summary>Maximum over <paramref name="axes"/> (all axes when none).</summary>
    public Tensor Max(params int[] axes) => Reduce(ReduceOp.Max, axes);

    /// <summary>Maximum over <paramref name="axes"/>, keeping them with size 1 when <paramref name="keepDims"/>.</summary>
    public Tensor Max(int[] axes, bool keepDims) => Reduce(ReduceOp.Max, axes, keepDims);

    /// <summary>Minimum over <paramref name="axes"/> (all axes when none).</summary>
    public Tensor Min(params int[] axes) => Reduce(ReduceOp.Min, axes);

    /// <summary>Minimum over <paramref name="axes"/>, keeping them with size 1 when <paramref name="keepDims"/>.</summary>
    public Tensor Min(int[] axes, bool keepDims) => Reduce(ReduceOp.Min, axes, keepDims);

    /// <summary>
    /// The matrix product with NumPy matmul semantics: the last two dimensions multiply, leading (batch) dimensions
    /// broadcast. Operands have rank 2 or more.
    /// </summary>
    public static Tensor MatMul(Tensor a, Tensor b) => Gemm(a, b);

    /// <summary>The matrix product (NumPy matmul semantics) of this tensor and <paramref name="other"/>.</summary>
    public Tensor MatMul(Tensor other) => Gemm(this, other);

    /// <summary>
    /// <c>activation(alpha * op(a) * op(b) + beta * output + bias + residual)</c>, where op transposes when asked.
    /// op acts on the last two dimensions: op(a) is MxK, op(b) is KxN. Leading (batch) dimensions of a and b broadcast
    /// (NumPy matmul), giving the output shape batch x M x N. <paramref name="bias"/> is null or of length N;
    /// <paramref name="residual"/> is null or broadcasts to the output shape (any strides; it may be
    /// <paramref name="output"/> itself but must not otherwise overlap it). Writes into <paramref name="output"/> when
    /// given and returns it; otherwise returns a new tensor, in which case <paramref name="beta"/> must be 0.
    /// </summary>
    /// <exception cref="ArgumentException">a or b has rank below 2, their batch dimensions do not broadcast, or beta is
    /// nonzero without an output.</exception>
    /// <exception cref="MyelinException">The native check failed, such as a k mismatch (the message names both shapes).</exception>
    public static Tensor Gemm(Tensor a, Tensor b, bool transposeA = false, bool transposeB = false, double alpha = 1, double beta = 0,
        Tensor? bias = null, UnaryOp activation = UnaryOp.Identity, Tensor? output = null, Tensor? residual = null)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        RequireSameDevice(nameof(Gemm), a, b);
        // The output shape needs rank >= 2 and broadcastable batch dimensions; every other check (k, dtypes, bias,
        // residual) is the native one.
        if (a.Rank < 2 || b.Rank < 2)
        {
            throw new ArgumentException($"Gemm needs operands of rank 2 or more but a is {a.Shape} and b is {b.Shape}.");
        }

        if (output is null && beta != 0)
        {
            throw new ArgumentException($"Gemm with beta = {beta} accumulates into an output tensor, but none was given.", nameof(beta));
        }

        Tensor result = output ?? Empty(MatMulShape(a.Shape, transposeA, b.Shape, transposeB), a.DType, a.Device);
        RequireSameDevice(nameof(Gemm), a, result);
        if (bias is not null)
        {
            RequireSameDevice(nameof(Gemm), a, bias);
        }

        if (residual is not null)
        {
            RequireSameDevice(nameof(Gemm), a, residual);
        }

        RunDisposingOnFailure(output is null ? result : null, () =>
        {
            TensorDesc ad = a.Describe();
            TensorDesc bd = b.Describe();
            TensorDesc cd = result.Describe();
            TensorDesc biasDesc = bias is null ? default : bias.Describe();
            TensorDesc residualDesc = residual is null ? default : residual.Describe();
            NativeMethods.Check(NativeMethods.Gemm(a.Device.Handle, &ad, transposeA ? 1 : 0, &bd, transposeB ? 1 : 0, &cd,
                alpha, beta, bias is null ? null : &biasDesc, activation, residual is null ? null : &residualDesc));
            GC.KeepAlive(a);
            GC.KeepAlive(b);
            GC.KeepAlive(result);
            GC.KeepAlive(bias);
            GC.KeepAlive(residual);
        });
        return result;
    }

    /// <summary>The NumPy matmul output shape: broadcast batch dimensions, then M (from op(a)) and N (from op(b)).</summary>
    private static Shape MatMulShape(Shape a, bool transposeA, Shape b, bool transposeB)
    {
        int batchRank = Math.Max(a.Rank, b.Rank) - 2;
        var dims = new long[batchRank + 2];
        for (int d = 0; d < batchRank; d++)
        {
            int fromA = d - (batchRank - (a.Rank - 2));
            int fromB = d - (batchRank - (b.Rank - 2));
            long da = fromA >= 0 ? a[fromA] : 1;
            long db = fromB >= 0 ? b[fromB] : 1;
            if (da != db && da != 1 && db != 1)
            {
                throw new ArgumentException($"Gemm: the batch dimensions of a ({a}) and b ({b}) do not broadcast.");
            }

            dims[d] = da == 1 ? db : da;
        }

        dims[batchRank] = transposeA ? a[-1] : a[-2];
        dims[batchRank + 1] = transposeB ? b[-2] : b[-1];
        return new Shape(dims);
    }

    /// <summary>Runs <paramref name="compute"/>; if it throws, disposes the freshly made <paramref name="created"/> (null when the caller owns the output).</summary>
    private static void RunDisposingOnFailure(Tensor? created, Action compute)
    {
        try
        {
            compute();
        }
        catch
        {
            created?.Dispose();
            throw;
        }
    }

    private static void RequireSameDevice(string operation, Tensor first, Tensor second)
    {
        // CPU handles share one allocator, so any two CPU devices can exchange memory.
        if (first.Device.Kind != second.Device.Kind || first.Device.Ordinal != second.Device.Ordinal)
        {
            throw new ArgumentException($"{operation}: {first.DisplayName} is on {first.Device.Name} but {second.DisplayName} is on {second.Device.Name}.");
        }
    }
}

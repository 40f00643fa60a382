namespace Myelin.Tests.TestSupport;

/// <summary>Plain, obviously correct implementations that the native kernels are checked against.</summary>
internal static class Reference
{
    /// <summary>Row-major strides of <paramref name="dims"/>.</summary>
    public static long[] Strides(long[] dims)
    {
        var strides = new long[dims.Length];
        long stride = 1;
        for (int i = dims.Length - 1; i >= 0; i--)
        {
            strides[i] = stride;
            stride *= dims[i];
        }

        return strides;
    }

    public static long Count(long[] dims) => dims.Aggregate(1L, (product, dim) => product * dim);

    /// <summary>The multi-index of flat row-major position <paramref name="flat"/>.</summary>
    public static long[] Unravel(long flat, long[] dims)
    {
        var index = new long[dims.Length];
        for (int i = dims.Length - 1; i >= 0; i--)
        {
            index[i] = flat % dims[i];
            flat /= dims[i];
        }

        return index;
    }

    public static long[] BroadcastShape(long[] a, long[] b)
    {
        int rank = Math.Max(a.Length, b.Length);
        var result = new long[rank];
        for (int i = 1; i <= rank; i++)
        {
            long da = i <= a.Length ? a[^i] : 1;
            long db = i <= b.Length ? b[^i] : 1;
            result[^i] = da == 1 ? db : da;
        }

        return result;
    }

    /// <summary>The flat position in an operand of shape <paramref name="dims"/> that broadcasts to <paramref name="outIndex"/>.</summary>
    public static long BroadcastSource(long[] outIndex, long[] dims)
    {
        long[] strides = Strides(dims);
        long flat = 0;
        int lead = outIndex.Length - dims.Length;
        for (int i = 0; i < dims.Length; i++)
        {
            flat += (dims[i] == 1 ? 0 : outIndex[lead + i]) * strides[i];
        }

        return flat;
    }

    public static double[] Elementwise(double[] a, long[] aDims, double[] b, long[] bDims, Func<double, double, double> op)
    {
        long[] outDims = BroadcastShape(aDims, bDims);
        var result = new double[Count(outDims)];
        for (long i = 0; i < result.Length; i++)
        {
            long[] index = Unravel(i, outDims);
            result[i] = op(a[BroadcastSource(index, aDims)], b[BroadcastSource(index, bDims)]);
        }

        return result;
    }

    /// <summary>op(a) (m x k) times op(b) (k x n), accumulated in double.</summary>
    public static double[] MatMul(double[] a, long[] aDims, bool transposeA, double[] b, long[] bDims, bool transposeB)
    {
        long m = transposeA ? aDims[1] : aDims[0];
        long k = transposeA ? aDims[0] : aDims[1];
        long n = transposeB ? bDims[0] : bDims[1];
        var c = new double[m * n];
        for (long i = 0; i < m; i++)
        {
            for (long j = 0; j < n; j++)
            {
                double sum = 0;
                for (long p = 0; p < k; p++)
                {
                    double av = transposeA ? a[p * aDims[1] + i] : a[i * aDims[1] + p];
                    double bv = transposeB ? b[j * bDims[1] + p] : b[p * bDims[1] + j];
                    sum += av * bv;
                }

                c[i * n + j] = sum;
            }
        }

        return c;
    }

    /// <summary>Reduces <paramref name="x"/> over <paramref name="axes"/> (all when empty) with keepdims; returns values and shape.</summary>
    public static (double[] Values, long[] Dims) Reduce(double[] x, long[] dims, int[] axes, bool keepDims, Func<IReadOnlyList<double>, double> reduce)
    {
        var reduced = new bool[dims.Length];
        foreach (int axis in axes)
        {
            reduced[axis < 0 ? axis + dims.Length : axis] = true;
        }

        if (axes.Length == 0)
        {
            Array.Fill(reduced, true);
        }

        long[] keptDims = dims.Select((dim, i) => reduced[i] ? 1 : dim).ToArray();
        var groups = new List<double>[Count(keptDims)];
        for (int i = 0; i < groups.Length; i++)
        {
            groups[i] = [];
        }

        long[] keptStrides = Strides(keptDims);
        for (long flat = 0; flat < x.Length; flat++)
        {
            long[] index = Unravel(flat, dims);
            long target = 0;
            for (int i = 0; i < dims.Length; i++)
            {
                target += (reduced[i] ? 0 : index[i]) * keptStrides[i];
            }

            groups[target].Add(x[flat]);
        }

        long[] outDims = keepDims ? keptDims : dims.Where((_, i) => !reduced[i]).ToArray();
        return (groups.Select(reduce).ToArray(), outDims);
    }

    public static double[] RandomValues(Random random, long count, double low = -2, double high = 2)
    {
        var values = new double[count];
        for (long i = 0; i < count; i++)
        {
            values[i] = low + (high - low) * random.NextDouble();
        }

        return values;
    }

    public static float[] ToSingle(double[] values) => values.Select(v => (float)v).ToArray();

    public static double[] ToDouble(float[] values) => values.Select(v => (double)v).ToArray();
}

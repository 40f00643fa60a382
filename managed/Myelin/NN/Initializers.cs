namespace Myelin.NN;

/// <summary>
/// Creates a parameter's initial values. Fans follow PyTorch: for a weight shaped [out, in, k...], fan-in is
/// in * prod(k) and fan-out is out * prod(k); a 1-d tensor has fan-in = fan-out = its length.
/// </summary>
public abstract record Initializer
{
    private static readonly string[] s_nonlinearities =
        ["linear", "identity", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"];

    /// <summary>All zeros.</summary>
    public static Initializer Zeros { get; } = new ConstantInitializer(0);

    /// <summary>All ones.</summary>
    public static Initializer Ones { get; } = new ConstantInitializer(1);

    /// <summary>A new tensor of <paramref name="shape"/> drawn from <paramref name="generator"/> (default <see cref="Generator.Default"/>).</summary>
    public abstract Tensor Create(Shape shape, DType dtype = DType.F32, Generator? generator = null);

    /// <summary>PyTorch's fan-in and fan-out of a tensor shaped <paramref name="shape"/>.</summary>
    public static (long FanIn, long FanOut) Fans(Shape shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Rank == 0) throw new ArgumentException("Fans need a tensor of rank 1 or more, not a scalar.", nameof(shape));
        if (shape.Rank == 1) return (shape[0], shape[0]);
        long receptive = 1;
        for (int i = 2; i < shape.Rank; i++) receptive *= shape[i];
        return (shape[1] * receptive, shape[0] * receptive);
    }

    /// <summary>
    /// The recommended gain for <paramref name="nonlinearity"/>, as torch.nn.init.calculate_gain: 1 for linear,
    /// identity, conv and sigmoid; 5/3 for tanh; sqrt(2) for relu; sqrt(2 / (1 + slope^2)) for leaky_relu with
    /// negative slope <paramref name="param"/> (default 0.01); 3/4 for selu.
    /// </summary>
    /// <exception cref="ArgumentException">An unknown nonlinearity; the message lists the known ones.</exception>
    public static double CalculateGain(string nonlinearity, double? param = null)
    {
        ArgumentNullException.ThrowIfNull(nonlinearity);
        switch (nonlinearity)
        {
            case "linear" or "identity" or "conv1d" or "conv2d" or "conv3d" or "conv_transpose1d" or "conv_transpose2d" or "conv_transpose3d" or "sigmoid":
                return 1;
            case "tanh":
                return 5.0 / 3;
            case "relu":
                return Math.Sqrt(2);
            case "leaky_relu":
                double slope = param ?? 0.01;
                if (!double.IsFinite(slope)) throw new ArgumentOutOfRangeException(nameof(param), $"leaky_relu's negative slope must be finite, not {slope}.");
                return Math.Sqrt(2 / (1 + slope * slope));
            case "selu":
                return 0.75;
            default:
                throw new ArgumentException($"Unknown nonlinearity '{nonlinearity}'; known: {string.Join(", ", s_nonlinearities)}.", nameof(nonlinearity));
        }
    }

    /// <summary>Uniform samples in [<paramref name="low"/>, <paramref name="high"/>).</summary>
    protected static Tensor UniformTensor(Shape shape, DType dtype, Generator? generator, double low, double high)
    {
        using var scope = new TensorScope();
        Tensor unit = Tensor.Rand(shape, dtype, generator);
        return (unit * (high - low) + low).MoveToOuterScope();
    }

    /// <summary>Normal samples of mean <paramref name="mean"/> and standard deviation <paramref name="std"/>.</summary>
    protected static Tensor NormalTensor(Shape shape, DType dtype, Generator? generator, double mean, double std) =>
        Tensor.RandN(shape, dtype, generator, mean: mean, standardDeviation: std);

    /// <summary>A tensor of <paramref name="dtype"/> holding <paramref name="values"/> computed in doubles.</summary>
    protected static Tensor FromDoubles(double[] values, Shape shape, DType dtype)
    {
        using var scope = new TensorScope();
        Tensor f64 = Tensor.FromArray(values, shape);
        return (dtype == DType.F64 ? f64 : f64.Cast(dtype)).MoveToOuterScope();
    }

    /// <summary>Throws naming <paramref name="name"/> unless <paramref name="value"/> is finite and not negative.</summary>
    protected static double NonNegative(double value, string name) => double.IsFinite(value) && value >= 0 ? value
        : throw new ArgumentOutOfRangeException(name, value, $"{name} must be finite and not negative, not {value}.");

    /// <summary>Throws naming <paramref name="name"/> unless <paramref name="value"/> is finite.</summary>
    protected static double Finite(double value, string name) => double.IsFinite(value) ? value
        : throw new ArgumentOutOfRangeException(name, value, $"{name} must be finite, not {value}.");

    /// <summary>Returns <paramref name="nonlinearity"/> after checking that <see cref="CalculateGain"/> knows it.</summary>
    protected static string KnownNonlinearity(string nonlinearity, double param)
    {
        CalculateGain(nonlinearity, param);
        return nonlinearity;
    }

    /// <summary>The fan <paramref name="mode"/> selects for <paramref name="shape"/>, which must be positive.</summary>
    protected static long SelectFan(Shape shape, FanMode mode, string initializer)
    {
        (long fanIn, long fanOut) = Fans(shape);
        long fan = mode == FanMode.FanIn ? fanIn : fanOut;
        if (fan <= 0) throw new ArgumentException($"{initializer}: the {mode} of shape {shape} is {fan}; it must be positive.", nameof(shape));
        return fan;
    }
}

/// <summary>Which fan a Kaiming or LeCun initializer scales by: fan-in keeps the forward variance, fan-out the backward's.</summary>
public enum FanMode
{
    /// <summary>Inputs per output (PyTorch's mode="fan_in").</summary>
    FanIn,

    /// <summary>Outputs per input (PyTorch's mode="fan_out").</summary>
    FanOut,
}

/// <summary>Every element equal to <c>Value</c> (torch.nn.init.constant_).</summary>
public sealed record ConstantInitializer(double Value) : Initializer
{
    /// <summary>The value.</summary>
    public double Value { get; init; } = Finite(Value, nameof(Value));

    /// <inheritdoc/>
    public override Tensor Create(Shape shape, DType dtype = DType.F32, Generator? generator = null) => Tensor.Full(shape, Value, dtype);
}

/// <summary>Uniform in [Low, High) (torch.nn.init.uniform_).</summary>
public sealed record UniformInitializer(double Low = 0, double High = 1) : Initializer
{
    /// <summary>The lower bound.</summary>
    public double Low { get; init; } = Finite(Low, nameof(Low));

    /// <summary>The upper bound, at least <see cref="Low"/>.</summary>
    public double High { get; init; } = Finite(High, nameof(High)) >= Low ? High
        : throw new ArgumentOutOfRangeException(nameof(High), High, $"High ({High}) must not be below Low ({Low}).");

    /// <inheritdoc/>
    public override Tensor Create(Shape shape, DType dtype = DType.F32, Generator? generator = null) => UniformTensor(shape, dtype, generator, Low, High);
}

/// <summary>Normal with mean <c>Mean</c> and standard deviation <c>Std</c> (torch.nn.init.normal_).</summary>
public sealed record NormalInitializer(double Mean = 0, double Std = 1) : Initializer
{
    /// <summary>The mean.</summary>
    public double Mean { get; init; } = Finite(Mean, nameof(Mean));

    /// <summary>The standard deviation.</summary>
    public double Std { get; init; } = NonNegative(Std, nameof(Std));

    /// <inheritdoc/>
    public override Tensor Create(Shape shape, DType dtype = DType.F32, Generator? generator = null) => NormalTensor(shape, dtype, generator, Mean, Std);
}

/// <summary>
/// A normal of mean <c>Mean</c> and standard deviation <c>Std</c> restricted to [A, B] (torch.nn.init.trunc_normal_,
/// whose bounds are absolute values, not multiples of Std). Sampled as PyTorch does, by the inverse CDF of a uniform
/// in [CDF(A), CDF(B)], in doubles.
/// </summary>
public sealed record TruncatedNormalInitializer(double Mean = 0, double Std = 1, double A = -2, double B = 2) : Initializer
{
    /// <summary>The mean of the untruncated normal.</summary>
    public double Mean { get; init; } = Finite(Mean, nameof(Mean));

    /// <summary>The standard deviation of the untruncated normal, positive.</summary>
    public double Std { get; init; } = NonNegative(Std, nameof(Std)) > 0 ? Std
        : throw new ArgumentOutOfRangeException(nameof(Std), Std, "Std must be positive.");

    /// <summary>The lower bound.</summary>
    public double A { get; init; } = Finite(A, nameof(A));

    /// <summary>The upper bound, above <see cref="A"/>.</summary>
    public double B { get; init; } = Finite(B, nameof(B)) > A ? B
        : throw new ArgumentOutOfRangeException(nameof(B), B, $"B ({B}) must be above A ({A}).");

    /// <inheritdoc/>
    public override Tensor Create(Shape shape, DType dtype = DType.F32, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(shape);
        generator ??= Generator.Default;
        double low = StandardNormal.Cdf((A - Mean) / Std), high = StandardNormal.Cdf((B - Mean) / Std);
        var values = new double[shape.ElementCount];
        for (long i = 0; i < values.Length; i++)
        {
            double p = low + (high - low) * generator.NextDouble();
            values[i] = Math.Clamp(Mean + Std * StandardNormal.Quantile(p), A, B);
        }

        return FromDoubles(values, shape, dtype);
    }
}

/// <summary>
/// Xavier/Glorot uniform (torch.nn.init.xavier_uniform_): uniform in ±Gain * sqrt(6 / (fan_in + fan_out)), keeping
/// activations' and gradients' variances alike for tanh-like units.
/// </summary>
public sealed record XavierUniformInitializer(double Gain = 1) : Initializer
{
    /// <summary>The gain (see <see cref="Initializer.CalculateGain"/>).</summary>
    public double Gain { get; init; } = NonNegative(Gain, nameof(Gain));

    /// <inheritdoc/>
    public override Tensor Create(Shape shape, DType dtype = DType.F32, Generator? generator = null)
    {
        double bound = Math.Sqrt(3) * XavierNormalInitializer.Std(shape, Gain);
        return UniformTensor(shape, dtype, generator, -bound, bound);
    }
}

/// <summary>Xavier/Glorot normal (torch.nn.init.xavier_normal_): N(0, std²) with std = Gain * sqrt(2 / (fan_in + fan_out)).</summary>
public sealed record XavierNormalInitializer(double Gain = 1) : Initializer
{
    /// <summary>The gain (see <see cref="Initializer.CalculateGain"/>).</summary>
    public double Gain { get; init; } = NonNegative(Gain, nameof(Gain));

    /// <inheritdoc/>
    public override Tensor Create(Shape shape, DType dtype = DType.F32, Generator? generator = null) => NormalTensor(shape, dtype, generator, 0, Std(shape, Gain));

    internal static double Std(Shape shape, double gain)
    {
        (long fanIn, long fanOut) = Fans(shape);
        if (fanIn + fanOut <= 0) throw new ArgumentException($"Xavier: shape {shape} has no fans.", nameof(shape));
        return gain * Math.Sqrt(2.0 / (fanIn + fanOut));
    }
}

/// <summary>
/// He/Kaiming uniform (torch.nn.init.kaiming_uniform_): uniform in ±sqrt(3) * gain / sqrt(fan), gain =
/// <see cref="Initializer.CalculateGain"/>(Nonlinearity, A), fan chosen by Mode. PyTorch's defaults: A = 0, fan-in, leaky_relu.
/// </summary>
public sealed record KaimingUniformInitializer(double A = 0, FanMode Mode = FanMode.FanIn, string Nonlinearity = "leaky_relu") : Initializer
{
    /// <summary>The negative slope of the rectifier after this layer (leaky_relu only).</summary>
    public double A { get; init; } = Finite(A, nameof(A));

    /// <summary>The nonlinearity after this layer, checked when the initializer is made.</summary>
    public string Nonlinearity { get; init; } = KnownNonlinearity(Nonlinearity, A);

    /// <inheritdoc/>
    public override Tensor Create(Shape shape, DType dtype = DType.F32, Generator? generator = null)
    {
        double bound = Math.Sqrt(3) * KaimingNormalInitializer.Std(shape, A, Mode, Nonlinearity);
        return UniformTensor(shape, dtype, generator, -bound, bound);
    }
}

/// <summary>He/Kaiming normal (torch.nn.init.kaiming_normal_): N(0, std²) with std = gain / sqrt(fan).</summary>
public sealed record KaimingNormalInitializer(double A = 0, FanMode Mode = FanMode.FanIn, string Nonlinearity = "leaky_relu") : Initializer
{
    /// <summary>The negative slope of the rectifier after this layer (leaky_relu only).</summary>
    public double A { get; init; } = Finite(A, nameof(A));

    /// <summary>The nonlinearity after this layer, checked when the initializer is made.</summary>
    public string Nonlinearity { get; init; } = KnownNonlinearity(Nonlinearity, A);

    /// <inheritdoc/>
    public override Tensor Create(Shape shape, DType dtype = DType.F32, Generator? generator = null) =>
        NormalTensor(shape, dtype, generator, 0, Std(shape, A, Mode, Nonlinearity));

    internal static double Std(Shape shape, double a, FanMode mode, string nonlinearity) =>
        CalculateGain(nonlinearity, a) / Math.Sqrt(SelectFan(shape, mode, "Kaiming"));
}

/// <summary>LeCun uniform: uniform in ±sqrt(3 / fan_in), Kaiming uniform with the linear gain (for SELU networks).</summary>
public sealed record LeCunUniformInitializer : Initializer
{
    /// <inheritdoc/>
    public override Tensor Create(Shape shape, DType dtype = DType.F32, Generator? generator = null)
    {
        double bound = Math.Sqrt(3.0 / SelectFan(shape, FanMode.FanIn, "LeCun"));
        return UniformTensor(shape, dtype, generator, -bound, bound);
    }
}

/// <summary>LeCun normal: N(0, 1 / fan_in), Kaiming normal with the linear gain.</summary>
public sealed record LeCunNormalInitializer : Initializer
{
    /// <inheritdoc/>
    public override Tensor Create(Shape shape, DType dtype = DType.F32, Generator? generator = null) =>
        NormalTensor(shape, dtype, generator, 0, Math.Sqrt(1.0 / SelectFan(shape, FanMode.FanIn, "LeCun")));
}

/// <summary>
/// A (semi-)orthogonal matrix times <c>Gain</c> (torch.nn.init.orthogonal_): the tensor is viewed as rows = shape[0]
/// by columns = the rest; Q of the QR decomposition of a standard normal matrix (transposed when rows &lt; columns),
/// with each column's sign made that of R's diagonal, so Q is uniformly (Haar) distributed. QR runs in doubles
/// (Householder), at init time only.
/// </summary>
public sealed record OrthogonalInitializer(double Gain = 1) : Initializer
{
    /// <summary>The scale.</summary>
    public double Gain { get; init; } = Finite(Gain, nameof(Gain));

    /// <inheritdoc/>
    public override Tensor Create(Shape shape, DType dtype = DType.F32, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Rank < 2) throw new ArgumentException($"Orthogonal: needs a tensor of rank 2 or more, not {shape}.", nameof(shape));
        generator ??= Generator.Default;
        int rows = checked((int)shape[0]), columns = checked((int)(shape.ElementCount / Math.Max(rows, 1)));
        // Q of a tall (m >= n) normal matrix has orthonormal columns; a wide result is the transpose of a tall one.
        bool wide = rows < columns;
        int m = wide ? columns : rows, n = wide ? rows : columns;
        var a = new double[m, n];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++) a[i, j] = generator.NextNormal();
        }

        double[,] q = OrthonormalColumns(a);
        var values = new double[shape.ElementCount];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < columns; c++) values[r * columns + c] = Gain * (wide ? q[c, r] : q[r, c]);
        }

        return FromDoubles(values, shape, dtype);
    }

    // Householder QR of a (m x n, m >= n); returns the thin Q (m x n) with column j multiplied by sign(R[j, j]).
    private static double[,] OrthonormalColumns(double[,] a)
    {
        int m = a.GetLength(0), n = a.GetLength(1);
        var r = (double[,])a.Clone();
        var reflectors = new List<double[]>();
        for (int k = 0; k < n; k++)
        {
            var v = new double[m];
            double norm = 0;
            for (int i = k; i < m; i++) norm += r[i, k] * r[i, k];
            norm = Math.Sqrt(norm);
            double alpha = r[k, k] >= 0 ? -norm : norm;
            for (int i = k; i < m; i++) v[i] = r[i, k];
            v[k] -= alpha;
            double vv = 0;
            for (int i = k; i < m; i++) vv += v[i] * v[i];
            if (vv > 0)
            {
                for (int j = k; j < n; j++)
                {
                    double dot = 0;
                    for (int i = k; i < m; i++) dot += v[i] * r[i, j];
                    double f = 2 * dot / vv;
                    for (int i = k; i < m; i++) r[i, j] -= f * v[i];
                }
            }

            reflectors.Add(vv > 0 ? v : new double[m]);
        }

        // Q = H_0 H_1 ... H_{n-1} applied to the first n columns of the identity, last reflector first.
        var q = new double[m, n];
        for (int j = 0; j < n; j++) q[j, j] = 1;
        for (int k = n - 1; k >= 0; k--)
        {
            double[] v = reflectors[k];
            double vv = 0;
            for (int i = k; i < m; i++) vv += v[i] * v[i];
            if (vv == 0) continue;
            for (int j = 0; j < n; j++)
            {
                double dot = 0;
                for (int i = k; i < m; i++) dot += v[i] * q[i, j];
                double f = 2 * dot / vv;
                for (int i = k; i < m; i++) q[i, j] -= f * v[i];
            }
        }

        for (int j = 0; j < n; j++)
        {
            if (r[j, j] < 0)
            {
                for (int i = 0; i < m; i++) q[i, j] = -q[i, j];
            }
        }

        return q;
    }
}

/// <summary>
/// PyTorch's default for Linear and Conv weights and biases: uniform in ±1/sqrt(fan-in) of <c>FanShape</c>
/// (kaiming_uniform with a = sqrt(5) reduces to this bound). A bias passes its layer's weight shape as <c>FanShape</c>.
/// </summary>
public sealed record FanInUniformInitializer(Shape? FanShape = null) : Initializer
{
    /// <inheritdoc/>
    public override Tensor Create(Shape shape, DType dtype = DType.F32, Generator? generator = null)
    {
        long fanIn = Fans(FanShape ?? shape).FanIn;
        double bound = fanIn > 0 ? 1 / Math.Sqrt(fanIn) : 0;
        return UniformTensor(shape, dtype, generator, -bound, bound);
    }
}

/// <summary>The standard normal's CDF and quantile in doubles, for truncated-normal sampling.</summary>
internal static class StandardNormal
{
    /// <summary>P(Z &lt;= x), via erfc (Numerical Recipes' Chebyshev fit, relative error below 1.2e-7).</summary>
    public static double Cdf(double x) => 0.5 * Erfc(-x / Math.Sqrt(2));

    /// <summary>The x with P(Z &lt;= x) = p: Acklam's rational approximation (relative error below 1.2e-9).</summary>
    public static double Quantile(double p)
    {
        if (p <= 0) return double.NegativeInfinity;
        if (p >= 1) return double.PositiveInfinity;
        double[] a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00];
        double[] b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01];
        double[] c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00];
        double[] d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00];
        const double low = 0.02425;
        double x;
        if (p < low)
        {
            double q = Math.Sqrt(-2 * Math.Log(p));
            x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
        }
        else if (p <= 1 - low)
        {
            double q = p - 0.5, r = q * q;
            x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
        }
        else
        {
            double q = Math.Sqrt(-2 * Math.Log(1 - p));
            x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
        }

        return x;
    }

    private static double Erfc(double x)
    {
        double z = Math.Abs(x), t = 1 / (1 + 0.5 * z);
        double r = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807
            + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? r : 2 - r;
    }
}

/// <summary>PyTorch's default parameters of Linear and the convolution layers.</summary>
internal static class LayerParameters
{
    /// <summary>
    /// Registers the weight of <paramref name="weightShape"/> and, when <paramref name="bias"/>, a bias of
    /// <paramref name="biasLength"/> (the output features or channels) through <paramref name="addParameter"/>; both uniform in ±1/sqrt(fan-in of the weight) unless overridden.
    /// </summary>
    public static (Tensor Weight, Tensor? Bias) WeightAndBias(Func<string, Tensor, Tensor> addParameter, Shape weightShape, long biasLength, bool bias,
        Initializer? weightInit, Initializer? biasInit, DType dtype, Generator? generator)
    {
        Tensor weight = addParameter("weight", (weightInit ?? new FanInUniformInitializer()).Create(weightShape, dtype, generator));
        Tensor? b = bias ? addParameter("bias", (biasInit ?? new FanInUniformInitializer(weightShape)).Create([biasLength], dtype, generator)) : null;
        return (weight, b);
    }
}

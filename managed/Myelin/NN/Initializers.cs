namespace Myelin.NN;

/// <summary>
/// Creates a parameter's initial values. Fans follow PyTorch: for a weight shaped [out, in, k...], fan-in is
/// in * prod(k) and fan-out is out * prod(k); a 1-d tensor has fan-in = fan-out = its length.
/// </summary>
public abstract record Initializer
{
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

    /// <summary>Uniform samples in [<paramref name="low"/>, <paramref name="high"/>).</summary>
    protected static Tensor UniformTensor(Shape shape, DType dtype, Generator? generator, double low, double high)
    {
        using var scope = new TensorScope();
        Tensor unit = Tensor.Rand(shape, dtype, generator);
        return (unit * (high - low) + low).MoveToOuterScope();
    }
}

/// <summary>Uniform in [Low, High).</summary>
public sealed record UniformInitializer(double Low = 0, double High = 1) : Initializer
{
    /// <inheritdoc/>
    public override Tensor Create(Shape shape, DType dtype = DType.F32, Generator? generator = null) => UniformTensor(shape, dtype, generator, Low, High);
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

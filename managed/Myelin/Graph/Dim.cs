using System.Globalization;

namespace Myelin.Graphs;

/// <summary>
/// One dimension of a value's shape: a known size, or a symbol such as <c>N</c> (batch) or <c>T</c>
/// (sequence) that is bound when the graph is run. Symbols compare by name.
/// </summary>
public readonly struct Dim : IEquatable<Dim>
{
    private Dim(long value, string? symbol)
    {
        Value = value;
        Symbol = symbol;
    }

    /// <summary>The size when known; -1 for a symbol.</summary>
    public long Value { get; }

    /// <summary>The symbol's name, or null for a known size.</summary>
    public string? Symbol { get; }

    /// <summary>Whether the size is a number.</summary>
    public bool IsKnown => Symbol is null;

    /// <summary>A known size.</summary>
    public static Dim Of(long value)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(value);
        return new Dim(value, null);
    }

    /// <summary>A symbolic size.</summary>
    public static Dim Sym(string symbol)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(symbol);
        return new Dim(-1, symbol);
    }

    /// <summary>A known size.</summary>
    public static implicit operator Dim(long value) => Of(value);

    /// <summary>A symbolic size.</summary>
    public static implicit operator Dim(string symbol) => Sym(symbol);

    /// <summary>The product; symbolic when either factor is (a derived symbol such as <c>N*784</c>).</summary>
    public static Dim operator *(Dim a, Dim b)
    {
        if (a.IsKnown && b.IsKnown) return Of(checked(a.Value * b.Value));
        if (a.IsKnown && a.Value == 1) return b;
        if (b.IsKnown && b.Value == 1) return a;
        return Sym($"{a}*{b}");
    }

    /// <summary>
    /// The factors of the size: itself for a number or a plain symbol; for a derived symbol such as <c>N*5</c> (see
    /// <see cref="op_Multiply"/>), its symbols and numbers, so that shape inference can divide it again.
    /// </summary>
    public IEnumerable<Dim> Factors()
    {
        if (IsKnown || !Symbol!.Contains('*', StringComparison.Ordinal)) return [this];
        return Symbol.Split('*').Select(part => long.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out long value) ? Of(value) : Sym(part));
    }

    /// <inheritdoc/>
    public bool Equals(Dim other) => Value == other.Value && Symbol == other.Symbol;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is Dim other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Value, Symbol);

    /// <summary>Equality.</summary>
    public static bool operator ==(Dim a, Dim b) => a.Equals(b);

    /// <summary>Inequality.</summary>
    public static bool operator !=(Dim a, Dim b) => !a.Equals(b);

    /// <summary>The number or the symbol.</summary>
    public override string ToString() => Symbol ?? Value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>The dtype and (possibly symbolic) shape of a graph value.</summary>
public sealed class TensorType : IEquatable<TensorType>
{
    private readonly Dim[] _dims;

    /// <summary>Creates the type.</summary>
    public TensorType(DType dtype, params Dim[] dims)
    {
        if (dims.Length > Shape.MaxRank)
        {
            throw new ArgumentException($"A shape has at most {Shape.MaxRank} dimensions; got {dims.Length}.", nameof(dims));
        }

        DType = dtype;
        _dims = (Dim[])dims.Clone();
    }

    /// <summary>The type of a concrete shape.</summary>
    public TensorType(DType dtype, Shape shape)
        : this(dtype, shape.Dimensions.ToArray().Select(Dim.Of).ToArray())
    {
    }

    /// <summary>Element type.</summary>
    public DType DType { get; }

    /// <summary>Rank.</summary>
    public int Rank => _dims.Length;

    /// <summary>The dimensions.</summary>
    public ReadOnlySpan<Dim> Dims => _dims;

    /// <summary>Dimension <paramref name="axis"/> (negative counts from the end).</summary>
    public Dim this[int axis] => _dims[axis < 0 ? axis + Rank : axis];

    /// <summary>Whether every dimension is known.</summary>
    public bool IsConcrete => _dims.All(d => d.IsKnown);

    /// <summary>The concrete shape.</summary>
    /// <exception cref="InvalidOperationException">A dimension is symbolic.</exception>
    public Shape ToShape()
    {
        var dims = new long[Rank];
        for (int i = 0; i < Rank; i++)
        {
            if (!_dims[i].IsKnown)
            {
                throw new InvalidOperationException($"Shape {this} has the unbound symbol '{_dims[i].Symbol}'.");
            }

            dims[i] = _dims[i].Value;
        }

        return new Shape(dims);
    }

    /// <summary>This type with another dtype.</summary>
    public TensorType WithDType(DType dtype) => new(dtype, _dims);

    /// <summary>The dimensions as an array (a copy).</summary>
    public Dim[] ToArray() => (Dim[])_dims.Clone();

    /// <inheritdoc/>
    public bool Equals(TensorType? other) => other is not null && DType == other.DType && _dims.AsSpan().SequenceEqual(other._dims);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as TensorType);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(DType, _dims.Length, _dims.Length > 0 ? _dims[0] : default);

    /// <summary>Shape text such as <c>Nx784</c>, or <c>scalar</c>.</summary>
    public string ShapeText => Rank == 0 ? "scalar" : string.Join("x", _dims.Select(d => d.ToString()));

    /// <summary>Such as <c>f32 Nx784</c>.</summary>
    public override string ToString() => $"{DType.ShortName()} {ShapeText}";
}

using Myelin.Native;

namespace Myelin;

// Operator overloads. A scalar operand becomes a temporary 0-d tensor of the other operand's dtype that
// broadcasts; it is disposed before the operator returns and never joins a scope.
public sealed partial class Tensor
{
    /// <summary>Elementwise sum with broadcasting.</summary>
    public static Tensor operator +(Tensor a, Tensor b) => Add(a, b);

    /// <summary>Elementwise difference with broadcasting.</summary>
    public static Tensor operator -(Tensor a, Tensor b) => Sub(a, b);

    /// <summary>Elementwise product with broadcasting (not the matrix product; see <see cref="MatMul(Tensor, Tensor)"/>).</summary>
    public static Tensor operator *(Tensor a, Tensor b) => Mul(a, b);

    /// <summary>Elementwise quotient with broadcasting.</summary>
    public static Tensor operator /(Tensor a, Tensor b) => Div(a, b);

    /// <summary>Elementwise negation.</summary>
    public static Tensor operator -(Tensor a)
    {
        ArgumentNullException.ThrowIfNull(a);
        return a.Neg();
    }

    /// <summary>Adds a scalar to every element.</summary>
    public static Tensor operator +(Tensor a, double b) => WithScalar(BinaryOp.Add, a, b, scalarFirst: false);

    /// <summary>Adds a scalar to every element.</summary>
    public static Tensor operator +(double a, Tensor b) => WithScalar(BinaryOp.Add, b, a, scalarFirst: true);

    /// <summary>Subtracts a scalar from every element.</summary>
    public static Tensor operator -(Tensor a, double b) => WithScalar(BinaryOp.Sub, a, b, scalarFirst: false);

    /// <summary>Subtracts every element from a scalar.</summary>
    public static Tensor operator -(double a, Tensor b) => WithScalar(BinaryOp.Sub, b, a, scalarFirst: true);

    /// <summary>Multiplies every element by a scalar.</summary>
    public static Tensor operator *(Tensor a, double b) => WithScalar(BinaryOp.Mul, a, b, scalarFirst: false);

    /// <summary>Multiplies every element by a scalar.</summary>
    public static Tensor operator *(double a, Tensor b) => WithScalar(BinaryOp.Mul, b, a, scalarFirst: true);

    /// <summary>Divides every element by a scalar.</summary>
    public static Tensor operator /(Tensor a, double b) => WithScalar(BinaryOp.Div, a, b, scalarFirst: false);

    /// <summary>Divides a scalar by every element.</summary>
    public static Tensor operator /(double a, Tensor b) => WithScalar(BinaryOp.Div, b, a, scalarFirst: true);

    /// <summary><c>op(tensor, scalar)</c>, or <c>op(scalar, tensor)</c> when <paramref name="scalarFirst"/>.</summary>
    private static Tensor WithScalar(BinaryOp op, Tensor tensor, double scalar, bool scalarFirst)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        tensor.ThrowIfDisposed();
        using Tensor scalarTensor = Full(Shape.Scalar, scalar, tensor.DType, tensor.Device, ownedByScope: false);
        return scalarFirst ? Binary(op, scalarTensor, tensor) : Binary(op, tensor, scalarTensor);
    }
}

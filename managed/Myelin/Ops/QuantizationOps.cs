using Myelin.Graphs;

namespace Myelin.Ops;

/// <summary>
/// Arithmetic shared by the ONNX quantization ops: per-tensor or per-axis parameters, the integer products of
/// MatMulInteger and ConvInteger, and requantization (round halves to even, add the zero point, saturate).
/// </summary>
internal static class Quantization
{
    /// <summary>
    /// Integer products run as f64 MatMul/Conv over the zero-point-shifted operands: every shifted operand is an
    /// integer of at most 2^9 in magnitude (u8/i8 minus a u8/i8 zero point), so each product is below 2^18 and every
    /// partial sum of fewer than 2^35 products is an integer below 2^53, which f64 holds exactly whatever the order.
    /// </summary>
    public const DType IntegerCompute = DType.F64;

    /// <summary>The input at <paramref name="index"/>, or null when absent or omitted.</summary>
    public static Value? Optional(Value[] inputs, int index) =>
        index < inputs.Length && !OpDef.IsOmitted(inputs[index]) ? inputs[index] : null;

    /// <summary><paramref name="value"/> as <paramref name="dtype"/>, without a cast when it already is.</summary>
    public static Value To(Value value, DType dtype) => value.DType == dtype ? value : value.Cast(dtype);

    /// <summary>The smallest and largest values of a quantized dtype, failing for dtypes the ops do not produce.</summary>
    public static (double Min, double Max) Range(InferContext context, DType dtype, string what) => dtype switch
    {
        DType.U8 => (byte.MinValue, byte.MaxValue),
        DType.I8 => (sbyte.MinValue, sbyte.MaxValue),
        _ => throw Fail(context, $"{what} is {dtype.ShortName()}; quantized values are u8 or i8"),
    };

    /// <summary>Calls <see cref="InferContext.Fail"/>, which throws; the return lets callers write <c>throw Fail(...)</c>.</summary>
    public static Exception Fail(InferContext context, string problem)
    {
        context.Fail(problem);
        return new InvalidOperationException(problem);
    }

    /// <summary>
    /// A scale or zero point that is a scalar or one-element tensor (per tensor, returned as a 0-d value) or a 1-d
    /// tensor of <paramref name="x"/>'s size along <paramref name="axis"/> (per axis, reshaped to broadcast along it).
    /// </summary>
    public static Value AlongAxis(InferContext context, Value parameter, string what, int index, Value x, long axis)
    {
        if (parameter.Rank == 0) return parameter;
        Graph graph = parameter.Graph;
        if (BuildTimeValues.IsOneElement(parameter.Type)) return graph.Apply("Squeeze", [parameter])[0];
        if (parameter.Rank != 1) context.Fail($"{what} (input {index}) {parameter.Type.ShapeText} must be a scalar or 1-d");
        int normalized = context.Axis(axis, x.Rank);
        if (parameter.Type[0] != x.Type[normalized])
        {
            context.Fail($"{what} (input {index}) has {parameter.Type[0]} values but x {x.Type.ShapeText} has {x.Type[normalized]} along axis {axis}");
        }

        long[] shape = Enumerable.Repeat(1L, x.Rank).ToArray();
        shape[normalized] = -1;
        return graph.Apply("Reshape", [parameter, graph.Constant(Tensor.FromArray(shape).MoveToOuterScope())])[0];
    }

    /// <summary>saturate(round_half_even(<paramref name="real"/> / scale) + zero point) as <paramref name="output"/>; scale and zero point already broadcast.</summary>
    public static Value Quantize(InferContext context, Value real, Value scale, Value? zeroPoint, DType output)
    {
        (double min, double max) = Range(context, output, "the output");
        Graph graph = real.Graph;
        Value q = real.Apply("Div", To(scale, real.DType)).Apply("Round");
        if (zeroPoint is not null) q += To(zeroPoint, real.DType);
        return ClipOp.Clamp(q, graph.Scalar(min, real.DType), graph.Scalar(max, real.DType)).Cast(output);
    }

    /// <summary>Fails unless <paramref name="value"/> is u8 or i8.</summary>
    public static void RequireQuantized(InferContext context, Value value, string what, int index) =>
        Range(context, value.DType, $"{what} (input {index})");

    /// <summary>Fails unless a zero point has its tensor's dtype.</summary>
    public static void RequireSameDType(InferContext context, Value? zeroPoint, Value of, string what, int index)
    {
        if (zeroPoint is not null && zeroPoint.DType != of.DType)
        {
            context.Fail($"{what} (input {index}) is {zeroPoint.DType.ShortName()} but its tensor is {of.DType.ShortName()}");
        }
    }

    /// <summary><paramref name="value"/> minus <paramref name="zeroPoint"/> (if any), exactly, in <see cref="IntegerCompute"/>.</summary>
    public static Value Shifted(Value value, Value? zeroPoint)
    {
        Value shifted = To(value, IntegerCompute);
        return zeroPoint is null ? shifted : shifted - To(zeroPoint, IntegerCompute);
    }

    /// <summary>
    /// (a - a_zero_point) @ (b - b_zero_point) in <see cref="IntegerCompute"/>: a's zero point is a scalar or one
    /// per row of a (a 1-d [M] becomes [M, 1]), b's a scalar or one per column (1-d [N] broadcasts as is).
    /// </summary>
    public static Value IntegerMatMul(InferContext context, Value a, Value b, Value? aZero, int aZeroIndex, Value? bZero, int bZeroIndex)
    {
        RequireQuantized(context, a, "A", 0);
        RequireQuantized(context, b, "B", bZeroIndex - 2);
        RequireSameDType(context, aZero, a, "a_zero_point", aZeroIndex);
        RequireSameDType(context, bZero, b, "b_zero_point", bZeroIndex);
        if (aZero is not null && aZero.Rank == 1) aZero = AlongAxis(context, aZero, "a_zero_point", aZeroIndex, a, -2);
        return Shifted(a, aZero).Apply("MatMul", Shifted(b, bZero));
    }

    /// <summary>
    /// conv(x - x_zero_point, w - w_zero_point) in <see cref="IntegerCompute"/> with Conv's attributes: x's zero
    /// point is per tensor, w's per tensor or one per output channel. Padding adds zeros to the shifted x, which is
    /// what ONNX's integer convolutions pad with.
    /// </summary>
    public static Value IntegerConv(InferContext context, Value x, int xIndex, Value w, int wIndex, Value? xZero, int xZeroIndex, Value? wZero, int wZeroIndex,
        IReadOnlyDictionary<string, object> attributes)
    {
        RequireQuantized(context, x, "x", xIndex);
        RequireQuantized(context, w, "w", wIndex);
        RequireSameDType(context, xZero, x, "x_zero_point", xZeroIndex);
        RequireSameDType(context, wZero, w, "w_zero_point", wZeroIndex);
        if (xZero is not null && !BuildTimeValues.IsOneElement(xZero.Type)) context.Fail($"x_zero_point (input {xZeroIndex}) {xZero.Type.ShapeText} must be a scalar");
        if (xZero is not null) xZero = AlongAxis(context, xZero, "x_zero_point", xZeroIndex, x, 1);
        if (wZero is not null) wZero = AlongAxis(context, wZero, "w_zero_point", wZeroIndex, w, 0);
        return x.Graph.Apply("Conv", [Shifted(x, xZero), Shifted(w, wZero)], attributes)[0];
    }
}

/// <summary>
/// ONNX QuantizeLinear (opsets 10 and 13): y = saturate(round_half_even(x / y_scale) + y_zero_point), per tensor or,
/// with a 1-d scale, per slice along <c>axis</c>. The output dtype is the zero point's (u8 or i8), u8 without one.
/// Computed in f32 for f32 x and scale (as the reference divides), f64 otherwise (an i32 x, exactly).
/// </summary>
public sealed class QuantizeLinearOp() : SimpleCompositeOp("QuantizeLinear", 10, 2, 3, differentiable: false, takesOmittedInputs: true)
{
    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("axis", AttrKind.Int, 1L)];

    /// <inheritdoc/>
    protected override Value[] Build(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        Value x = inputs[0], scale = inputs[1];
        Value? zeroPoint = Quantization.Optional(inputs, 2);
        if (!x.DType.IsFloatingPoint() && x.DType != DType.I32) context.Fail($"x is {x.DType.ShortName()}; QuantizeLinear takes floating point or i32");
        if (!scale.DType.IsFloatingPoint()) context.Fail($"y_scale (input 1) is {scale.DType.ShortName()}; it must be floating point");
        DType output = zeroPoint?.DType ?? DType.U8;
        Quantization.Range(context, output, "y_zero_point (input 2)");
        long axis = (long)attributes["axis"];
        scale = Quantization.AlongAxis(context, scale, "y_scale", 1, x, axis);
        if (zeroPoint is not null) zeroPoint = Quantization.AlongAxis(context, zeroPoint, "y_zero_point", 2, x, axis);
        DType compute = x.DType == DType.F32 && scale.DType == DType.F32 ? DType.F32 : DType.F64;
        return [Quantization.Quantize(context, Quantization.To(x, compute), scale, zeroPoint, output)];
    }
}

/// <summary>
/// ONNX DequantizeLinear (opsets 10 and 13): y = (x - x_zero_point) * x_scale in the scale's dtype, per tensor or
/// per slice along <c>axis</c>. x is u8, i8 or i32; the difference is formed in f64, where it is exact.
/// </summary>
public sealed class DequantizeLinearOp() : SimpleCompositeOp("DequantizeLinear", 10, 2, 3, differentiable: false, takesOmittedInputs: true)
{
    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("axis", AttrKind.Int, 1L)];

    /// <inheritdoc/>
    protected override Value[] Build(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        Value x = inputs[0], scale = inputs[1];
        Value? zeroPoint = Quantization.Optional(inputs, 2);
        if (x.DType is not (DType.U8 or DType.I8 or DType.I32)) context.Fail($"x is {x.DType.ShortName()}; DequantizeLinear takes u8, i8 or i32");
        if (!scale.DType.IsFloatingPoint()) context.Fail($"x_scale (input 1) is {scale.DType.ShortName()}; it must be floating point");
        Quantization.RequireSameDType(context, zeroPoint, x, "x_zero_point", 2);
        long axis = (long)attributes["axis"];
        DType output = scale.DType;
        scale = Quantization.AlongAxis(context, scale, "x_scale", 1, x, axis);
        if (zeroPoint is not null) zeroPoint = Quantization.AlongAxis(context, zeroPoint, "x_zero_point", 2, x, axis);
        return [Quantization.To(Quantization.Shifted(x, zeroPoint) * Quantization.To(scale, Quantization.IntegerCompute), output)];
    }
}

/// <summary>
/// ONNX DynamicQuantizeLinear (opset 11): u8 quantization of f32 x over the range [min(x, 0), max(x, 0)], in the
/// order of the ONNX function body: scale = range / 255, zero point = round(clip(-min / scale, 0, 255)); outputs y,
/// y_scale and y_zero_point.
/// </summary>
public sealed class DynamicQuantizeLinearOp() : SimpleCompositeOp("DynamicQuantizeLinear", 11, 1, differentiable: false)
{
    /// <inheritdoc/>
    protected override Value[] Build(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        Value x = inputs[0];
        if (x.DType != DType.F32) context.Fail($"x is {x.DType.ShortName()}; DynamicQuantizeLinear takes f32");
        var all = new Dictionary<string, object> { ["keepdims"] = 0L };
        Value zero = graph.Scalar(0, DType.F32);
        Value min = ClipOp.Clamp(graph.Apply("ReduceMin", [x], all)[0], null, zero);
        Value max = ClipOp.Clamp(graph.Apply("ReduceMax", [x], all)[0], zero, null);
        Value scale = (max - min) / byte.MaxValue;
        Value zeroPoint = ClipOp.Clamp(zero - (min / scale), zero, graph.Scalar(byte.MaxValue, DType.F32)).Apply("Round").Cast(DType.U8);
        return [Quantization.Quantize(context, x, scale, zeroPoint, DType.U8), scale, zeroPoint];
    }
}

/// <summary>
/// ONNX MatMulInteger (opset 10): (A - a_zero_point) @ (B - b_zero_point) as i32 for u8/i8 operands, zero points
/// per tensor or per row of A / per column of B. Computed exactly in f64 (see <see cref="Quantization.IntegerCompute"/>).
/// </summary>
public sealed class MatMulIntegerOp() : SimpleCompositeOp("MatMulInteger", 10, 2, 4, differentiable: false, takesOmittedInputs: true)
{
    /// <inheritdoc/>
    protected override Value[] Build(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        Value product = Quantization.IntegerMatMul(context, inputs[0], inputs[1], Quantization.Optional(inputs, 2), 2, Quantization.Optional(inputs, 3), 3);
        return [product.Cast(DType.I32)];
    }
}

/// <summary>
/// ONNX ConvInteger (opset 10): Conv of (x - x_zero_point) by (w - w_zero_point) as i32 for u8/i8 operands, with
/// Conv's attributes; w's zero point per tensor or per output channel. Computed exactly in f64.
/// </summary>
public sealed class ConvIntegerOp() : SimpleCompositeOp("ConvInteger", 10, 2, 4, differentiable: false, takesOmittedInputs: true)
{
    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes => ConvFamilyOp.ConvAttributes;

    /// <inheritdoc/>
    protected override Value[] Build(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        Value accumulator = Quantization.IntegerConv(context, inputs[0], 0, inputs[1], 1, Quantization.Optional(inputs, 2), 2, Quantization.Optional(inputs, 3), 3, attributes);
        return [accumulator.Cast(DType.I32)];
    }
}

/// <summary>
/// ONNX QLinearMatMul (opset 10): the integer product of a and b (each minus its zero point), scaled by
/// a_scale * b_scale and requantized to y_scale and y_zero_point (rounding halves to even, saturating). a's scale and
/// zero point are per tensor or per row, b's per tensor or per column. The product is exact in f64; the scaling runs in f64.
/// </summary>
public sealed class QLinearMatMulOp() : SimpleCompositeOp("QLinearMatMul", 10, 8, differentiable: false)
{
    /// <inheritdoc/>
    protected override Value[] Build(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        Value a = inputs[0], aScale = inputs[1], b = inputs[3], bScale = inputs[4], yScale = inputs[6], yZero = inputs[7];
        Value product = Quantization.IntegerMatMul(context, a, b, inputs[2], 2, inputs[5], 5);
        if (aScale.Rank == 1 && !BuildTimeValues.IsOneElement(aScale.Type)) aScale = Quantization.AlongAxis(context, aScale, "a_scale", 1, a, -2);
        Value real = product * Quantization.To(aScale, Quantization.IntegerCompute) * Quantization.To(bScale, Quantization.IntegerCompute);
        return [Quantization.Quantize(context, real, Quantization.AlongAxis(context, yScale, "y_scale", 6, product, -2), Quantization.AlongAxis(context, yZero, "y_zero_point", 7, product, -2), yZero.DType)];
    }
}

/// <summary>
/// ONNX QLinearConv (opset 10): the integer convolution of x and w (each minus its zero point) plus the optional i32
/// bias B, scaled by x_scale * w_scale (w's per tensor or per output channel) and requantized to y_scale and
/// y_zero_point (rounding halves to even, saturating), with Conv's attributes. Computed in f64, the sums exactly.
/// </summary>
public sealed class QLinearConvOp() : SimpleCompositeOp("QLinearConv", 10, 8, 9, differentiable: false, takesOmittedInputs: true)
{
    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes => ConvFamilyOp.ConvAttributes;

    /// <inheritdoc/>
    protected override Value[] Build(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        Value x = inputs[0], w = inputs[3], yZero = inputs[7];
        Value accumulator = Quantization.IntegerConv(context, x, 0, w, 3, inputs[2], 2, inputs[5], 5, attributes);
        Value? bias = Quantization.Optional(inputs, 8);
        if (bias is not null)
        {
            if (bias.DType != DType.I32) context.Fail($"B (input 8) is {bias.DType.ShortName()}; the bias is i32");
            accumulator += Quantization.To(Quantization.AlongAxis(context, bias, "B", 8, accumulator, 1), Quantization.IntegerCompute);
        }

        Value scale = Quantization.To(inputs[1], Quantization.IntegerCompute) * Quantization.To(Quantization.AlongAxis(context, inputs[4], "w_scale", 4, accumulator, 1), Quantization.IntegerCompute);
        Value real = accumulator * scale;
        if (!BuildTimeValues.IsOneElement(inputs[6].Type)) context.Fail($"y_scale (input 6) {inputs[6].Type.ShapeText} must be a scalar");
        if (!BuildTimeValues.IsOneElement(yZero.Type)) context.Fail($"y_zero_point (input 7) {yZero.Type.ShapeText} must be a scalar");
        return [Quantization.Quantize(context, real, Quantization.AlongAxis(context, inputs[6], "y_scale", 6, real, 1), Quantization.AlongAxis(context, yZero, "y_zero_point", 7, real, 1), yZero.DType)];
    }
}

using Myelin.Graphs;

namespace Myelin.Ops;

/// <summary>Shared pieces of the spatial composites: known dims and shape constants.</summary>
internal static class SpatialComposite
{
    /// <summary>The dims of <paramref name="x"/> from <paramref name="first"/> on, which must be known.</summary>
    public static long[] KnownDims(InferContext context, TensorType x, int first)
    {
        var dims = new long[x.Rank - first];
        for (int i = first; i < x.Rank; i++)
        {
            if (!x[i].IsKnown) context.Fail($"axis {i} of x ({x.ShapeText}) must have a known size");
            dims[i - first] = x[i].Value;
        }

        return dims;
    }

    /// <summary>x reshaped to <paramref name="shape"/> (0 copies x's dim, as in ONNX Reshape).</summary>
    public static Value Reshape(Graph graph, Value x, params long[] shape) =>
        graph.Apply("Reshape", [x, graph.Constant(Tensor.FromArray(shape, shape.Length).MoveToOuterScope())])[0];
}

/// <summary>
/// ONNX DepthToSpace and SpaceToDepth on N x C x H x W: a reshape to 6-d, a transpose and a reshape back. DepthToSpace's
/// DCR mode reads the channel as (block row, block column, out channel), CRD as (out channel, block row, block column).
/// </summary>
public abstract class BlockRearrangeOp(string name, bool toSpace) : CompositeOp
{
    /// <inheritdoc/>
    public override string Name => name;

    /// <inheritdoc/>
    public override int SinceVersion => 13;

    /// <inheritdoc/>
    public override int MinInputs => 1;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = toSpace
        ? [new("blocksize", AttrKind.Int), new("mode", AttrKind.String, "DCR")]
        : [new("blocksize", AttrKind.Int)];

    /// <inheritdoc/>
    public override Value[] Expand(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        TensorType x = inputs[0].Type;
        if (x.Rank != 4) context.Fail($"x is {x.ShapeText}; {name} needs N x C x H x W");
        long b = (long)attributes["blocksize"];
        if (b < 1) context.Fail($"blocksize is {b} but must be at least 1");
        long[] chw = SpatialComposite.KnownDims(context, x, 1);
        (long c, long h, long w) = (chw[0], chw[1], chw[2]);
        if (!toSpace)
        {
            if (h % b != 0 || w % b != 0) context.Fail($"blocksize {b} does not divide H = {h} and W = {w}");
            Value blocks = SpatialComposite.Reshape(graph, inputs[0], 0, c, h / b, b, w / b, b);
            return [SpatialComposite.Reshape(graph, blocks.Transpose(0, 3, 5, 1, 2, 4), 0, c * b * b, h / b, w / b)];
        }

        if (c % (b * b) != 0) context.Fail($"blocksize² = {b * b} does not divide the {c} channels");
        string mode = (string)attributes["mode"];
        if (mode is not ("DCR" or "CRD")) context.Fail($"mode '{mode}' is not DCR or CRD");
        long[] split = mode == "DCR" ? [0, b, b, c / (b * b), h, w] : [0, c / (b * b), b, b, h, w];
        long[] perm = mode == "DCR" ? [0, 3, 4, 1, 5, 2] : [0, 1, 4, 2, 5, 3];
        Value channels = SpatialComposite.Reshape(graph, inputs[0], split);
        return [SpatialComposite.Reshape(graph, channels.Transpose(perm), 0, c / (b * b), h * b, w * b)];
    }

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => toSpace
        ? new([[1, 8, 2, 3]], Attributes: new() { ["blocksize"] = 2L, ["mode"] = "CRD" })
        : new([[1, 2, 4, 6]], Attributes: new() { ["blocksize"] = 2L });
}

#pragma warning disable CS1591
public sealed class DepthToSpaceOp() : BlockRearrangeOp("DepthToSpace", true);
public sealed class SpaceToDepthOp() : BlockRearrangeOp("SpaceToDepth", false);
#pragma warning restore CS1591

/// <summary>
/// ONNX Tile: x repeated repeats[i] times along each axis i (repeats a constant i64 input). Expanded as x reshaped
/// to (1, d0, 1, d1, ...), broadcast to (r0, d0, r1, d1, ...) and reshaped to (r0 d0, r1 d1, ...), so the gradient is
/// the broadcast's: the sum of the tiles.
/// </summary>
public sealed class TileOp : CompositeOp
{
    /// <inheritdoc/>
    public override string Name => "Tile";

    /// <inheritdoc/>
    public override int SinceVersion => 13;

    /// <inheritdoc/>
    public override int MinInputs => 2;

    /// <inheritdoc/>
    public override Value[] Expand(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        TensorType x = inputs[0].Type;
        if (inputs[1] is not { Kind: ValueKind.Constant, DType: DType.I64, Rank: 1 }) context.Fail("repeats must be a constant 1-d i64 tensor");
        long[] repeats = inputs[1].Data!.ToArray<long>();
        if (repeats.Length != x.Rank) context.Fail($"repeats has {repeats.Length} values but x ({x.ShapeText}) has rank {x.Rank}");
        if (repeats.Any(r => r < 0)) context.Fail($"repeats [{string.Join(", ", repeats)}] must not be negative");
        if (repeats.All(r => r == 1)) return [graph.Apply("Identity", [inputs[0]])[0]];
        long[] dims = SpatialComposite.KnownDims(context, x, 0);
        Value interleaved = SpatialComposite.Reshape(graph, inputs[0], [.. dims.SelectMany(d => new[] { 1L, d })]);
        long[] expanded = [.. dims.SelectMany((d, i) => new[] { repeats[i], d })];
        Value tiled = graph.Apply("Expand", [interleaved, graph.Constant(Tensor.FromArray(expanded, expanded.Length).MoveToOuterScope())])[0];
        return [SpatialComposite.Reshape(graph, tiled, [.. dims.Select((d, i) => d * repeats[i])])];
    }

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 3]], Build: (g, x) =>
        [g.Apply("Tile", [x[0], g.Constant(Tensor.FromArray(new long[] { 2, 3 }, 2).MoveToOuterScope())])[0]]);
}

/// <summary>ONNX InstanceNormalization: group normalization with one group per channel (C must be known).</summary>
public sealed class InstanceNormalizationOp : CompositeOp
{
    /// <inheritdoc/>
    public override string Name => "InstanceNormalization";

    /// <inheritdoc/>
    public override int SinceVersion => 6;

    /// <inheritdoc/>
    public override int MinInputs => 3;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("epsilon", AttrKind.Float, 1e-5)];

    /// <inheritdoc/>
    public override Value[] Expand(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        TensorType x = inputs[0].Type;
        if (x.Rank < 3) context.Fail($"x is {x.ShapeText}; it needs N x C and at least one spatial axis");
        if (!x[1].IsKnown) context.Fail($"the channel count ({x[1]}) must be known");
        return [graph.Apply("GroupNormalization", inputs, new Dictionary<string, object> { ["num_groups"] = x[1].Value, ["epsilon"] = attributes["epsilon"] })[0]];
    }

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 3, 4], [3], [3]], -2, 2);
}

/// <summary>
/// ONNX LRN: y = x / (bias + alpha / size * sum of x² over the channels c - floor((size-1)/2) .. c + ceil((size-1)/2))^beta.
/// The window sum is an average pool (padding counted) over the channel axis of x² seen as N x 1 x C x rest.
/// </summary>
public sealed class LrnOp : CompositeOp
{
    /// <inheritdoc/>
    public override string Name => "LRN";

    /// <inheritdoc/>
    public override int SinceVersion => 13;

    /// <inheritdoc/>
    public override int MinInputs => 1;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } =
        [new("size", AttrKind.Int), new("alpha", AttrKind.Float, 1e-4), new("beta", AttrKind.Float, 0.75), new("bias", AttrKind.Float, 1.0)];

    /// <inheritdoc/>
    public override Value[] Expand(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        context.RequireSameFloat();
        Value x = inputs[0];
        if (x.Rank < 3) context.Fail($"x is {x.Type.ShapeText}; it needs N x C and at least one spatial axis");
        long size = (long)attributes["size"];
        if (size < 1) context.Fail($"size is {size} but must be at least 1");
        long[] dims = SpatialComposite.KnownDims(context, x.Type, 1);
        long rest = dims.Skip(1).Aggregate(1L, (a, d) => a * d);
        Value squares = SpatialComposite.Reshape(graph, x * x, 0, 1, dims[0], rest);
        Value mean = graph.Apply("AveragePool", [squares], new Dictionary<string, object>
        {
            ["kernel_shape"] = new[] { size, 1L }, ["pads"] = new[] { (size - 1) / 2, 0L, size / 2, 0L }, ["count_include_pad"] = 1L,
        })[0];
        Value scale = SpatialComposite.Reshape(graph, mean, [0, .. dims]) * (double)attributes["alpha"] + (double)attributes["bias"];
        return [x / scale.Apply("Pow", graph.Scalar((double)attributes["beta"], x.DType))];
    }

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 5, 3]], Attributes: new() { ["size"] = 3L, ["alpha"] = 0.5, ["beta"] = 0.75, ["bias"] = 2.0 });
}

/// <summary>ONNX MeanVarianceNormalization: (x - mean) / (sqrt(mean(x²) - mean²) + 1e-9) over <c>axes</c> (default N, H, W), as ONNX's function body.</summary>
public sealed class MeanVarianceNormalizationOp : CompositeOp
{
    /// <inheritdoc/>
    public override string Name => "MeanVarianceNormalization";

    /// <inheritdoc/>
    public override int SinceVersion => 13;

    /// <inheritdoc/>
    public override int MinInputs => 1;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("axes", AttrKind.Ints, new long[] { 0, 2, 3 })];

    /// <inheritdoc/>
    public override Value[] Expand(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        context.RequireSameFloat();
        Value x = inputs[0];
        long[] axes = (long[])attributes["axes"];
        foreach (long axis in axes) context.Axis(axis, x.Rank);
        Value mean = x.Mean(axes, keepDims: true);
        Value variance = (x * x).Mean(axes, keepDims: true) - mean * mean;
        return [(x - mean) / (variance.Sqrt() + 1e-9)];
    }

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 3, 2, 2]]);
}

/// <summary>
/// ONNX Upsample (opsets 7 to 10) and Resize 10: nearest or linear interpolation by the scales input (opset 7's scales
/// attribute becomes one), with the asymmetric coordinate mapping and nearest rounding down, as the ops defined it;
/// expanded into <see cref="ResizeOp"/>.
/// </summary>
public abstract class LegacyResizeOp(string name, string opType, int since, int? until) : CompositeOp
{
    /// <inheritdoc/>
    public override string Name => name;

    /// <inheritdoc/>
    public override string OpType => opType;

    /// <inheritdoc/>
    public override int SinceVersion => since;

    /// <inheritdoc/>
    public override int? UntilVersion => until;

    /// <inheritdoc/>
    public override int MinInputs => 2;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("mode", AttrKind.String, "nearest")];

    /// <inheritdoc/>
    public override Value[] Expand(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        string mode = (string)attributes["mode"];
        if (mode is not ("nearest" or "linear")) context.Fail($"mode '{mode}' is not nearest or linear");
        Value roi = graph.Constant(Tensor.FromArray(Array.Empty<float>()).MoveToOuterScope());
        return graph.Apply("Resize", [inputs[0], roi, inputs[1]], new Dictionary<string, object>
        {
            ["mode"] = mode, ["coordinate_transformation_mode"] = "asymmetric", ["nearest_mode"] = "floor",
        });
    }

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[1, 1, 2, 3]], Build: (g, x) =>
        [g.Apply(Name, [x[0], g.Constant(Tensor.FromArray(new float[] { 1, 1, 2, 1.5f }).MoveToOuterScope())], new Dictionary<string, object> { ["mode"] = "linear" })[0]]);
}

#pragma warning disable CS1591
public sealed class UpsampleOp() : LegacyResizeOp("Upsample", "Upsample", 9, null);
public sealed class Resize10Op() : LegacyResizeOp("Resize10", "Resize", 10, 10);
#pragma warning restore CS1591

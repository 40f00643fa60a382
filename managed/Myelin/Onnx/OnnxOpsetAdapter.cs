using Myelin.Graphs;
using Myelin.Ops;

namespace Myelin.Onnx;

/// <summary>
/// Maps nodes of older ai.onnx opsets onto the registry's definitions. Where an op's versions between an old opset
/// and the registry's first version changed only the types they accept, or moved attributes to inputs, the
/// registry's definition serves the old version too, and <see cref="Adapt"/> rewrites the attributes that moved
/// (Squeeze/Unsqueeze axes and Split's split before 13, Pad's pads and value before 11, Slice's starts/ends/axes
/// before 10, TopK's k before 10, Dropout's ratio before 12, Upsample's scales before 9; PRelu's per-channel 1-d slope
/// before 7 becomes [C, 1, ...]) and drops the legacy ones that only restate the newer default
/// (consumed_inputs, is_test, spatial = 1, broadcast without an axis). Softmax, LogSoftmax and Hardmax before 13 map
/// only when their axis is the last, where the old 2-d coercion and the new per-axis semantics agree. At every opset,
/// auto_pad becomes explicit pads for the definitions that take only pads.
/// </summary>
internal static class OnnxOpsetAdapter
{
    /// <summary>For each ai.onnx op: the oldest opset whose semantics, after <see cref="Adapt"/>, the registry's first version keeps.</summary>
    private static readonly Dictionary<string, int> s_compatibleSince = new(StringComparer.Ordinal)
    {
        // Unary math: versions 6 and 13 added types; opset 1 had consumed_inputs, which Adapt drops.
        ["Abs"] = 1, ["Neg"] = 1, ["Sqrt"] = 1, ["Exp"] = 1, ["Log"] = 1, ["Relu"] = 1, ["Sigmoid"] = 1, ["Tanh"] = 1,
        ["Reciprocal"] = 1, ["Floor"] = 1, ["Ceil"] = 1, ["Elu"] = 1, ["LeakyRelu"] = 1, ["Selu"] = 1, ["HardSigmoid"] = 1,
        ["Identity"] = 1, ["Erf"] = 9, ["Sin"] = 7, ["Cos"] = 7, ["Softplus"] = 1, ["Softsign"] = 1, ["Round"] = 11,

        // Binary: before 7 the second input broadcast only when broadcast = 1 (suffix-aligned without axis), which
        // NumPy broadcasting covers; 7 onwards added types. Max, Min, Sum and Mean before 8 took inputs of one shape.
        ["Add"] = 1, ["Sub"] = 1, ["Mul"] = 1, ["Div"] = 1, ["Pow"] = 1,
        ["Max"] = 6, ["Min"] = 6, ["Sum"] = 6, ["Mean"] = 6, ["Equal"] = 1, ["Less"] = 1, ["Greater"] = 1, ["And"] = 1, ["Or"] = 1, ["Xor"] = 1,

        // Where: version 16 only added types.
        ["Where"] = 9,

        // Convolution and pooling: later versions added attributes (storage_order, ceil_mode, dilations) whose defaults reproduce the old behaviour.
        ["Conv"] = 1, ["ConvTranspose"] = 1, ["MaxPool"] = 1, ["AveragePool"] = 1, ["GlobalAveragePool"] = 1, ["GlobalMaxPool"] = 1,

        // Linear algebra and normalization: Gemm's broadcast (before 7) and BatchNormalization's is_test (before 7) and spatial (before 9) are adapted.
        ["MatMul"] = 1, ["Gemm"] = 6, ["BatchNormalization"] = 6,

        // Before 13 the softmaxes and Hardmax flatten the input to 2-d at axis (default 1); Adapt accepts only the last axis, where the two agree.
        ["Softmax"] = 1, ["LogSoftmax"] = 1, ["Hardmax"] = 1,

        // TopK's k was an attribute before 10; Adapt moves it to the input. 11 added largest and sorted, whose defaults are the old behaviour.
        ["TopK"] = 1,

        // Shape ops.
        ["Concat"] = 4, ["Transpose"] = 1, ["Flatten"] = 1, ["Reshape"] = 5, ["Gather"] = 1, ["Shape"] = 1, ["Cast"] = 6,
        ["Squeeze"] = 1, ["Unsqueeze"] = 1, ["Split"] = 2, ["Pad"] = 2, ["Slice"] = 1, ["Expand"] = 8, ["Dropout"] = 6,

        // Before 7 a 1-d slope holds one value per channel (axis 1), which Adapt reshapes for unidirectional broadcasting.
        ["PRelu"] = 1,

        // Indexing: GatherElements 13 and GatherND 12/13 added types or batch_dims (default 0 reproduces 11).
        ["GatherElements"] = 11, ["GatherND"] = 11,

        // Spatial ops: later versions added types or attributes (DepthToSpace's mode) whose defaults reproduce the old
        // behaviour; Upsample's scales attribute (before 9) is adapted.
        ["Tile"] = 6, ["DepthToSpace"] = 1, ["SpaceToDepth"] = 1, ["InstanceNormalization"] = 1, ["LRN"] = 1,
        ["MeanVarianceNormalization"] = 9, ["Upsample"] = 7,
    };

    /// <summary>The registry definition serving (domain, opType) at <paramref name="opset"/>, directly or through an older-opset mapping; null when none.</summary>
    public static OpDef? Resolve(string domain, string opType, long opset)
    {
        if (opset > int.MaxValue) return null;
        OpDef? direct = OpRegistry.FindOnnx(domain, opType, (int)opset);
        if (direct is not null || domain.Length != 0 || !s_compatibleSince.TryGetValue(opType, out int since) || opset < since) return direct;

        // The registry's oldest definition of the op, if it starts after the model's opset.
        OpDef? oldest = OpRegistry.All.Values.Where(o => o.Domain.Length == 0 && o.OpType == opType).MinBy(o => o.SinceVersion);
        return oldest is not null && oldest.SinceVersion > opset ? oldest : null;
    }

    /// <summary>
    /// Rewrites a node's attributes and inputs from <paramref name="opset"/>'s form to the form of the registry's
    /// definition <paramref name="op"/>; <paramref name="constant"/> makes a constant input from a tensor.
    /// </summary>
    public static void Adapt(string where, string opType, long opset, OpDef op, int outputCount, List<Value> inputs,
        Dictionary<string, object> attributes, Func<Tensor, Value> constant)
    {
        if (op.Domain.Length != 0) return;
        attributes.Remove("consumed_inputs");
        Func<long[], Value> ints = values => constant(Tensor.FromArray(values));
        if (attributes.ContainsKey("auto_pad") && !op.Attributes.Any(a => a.Name == "auto_pad"))
        {
            // QLinearConv's weight follows x and its scale and zero point.
            ExplicitPads(where, attributes, inputs, weight: opType == "QLinearConv" ? 3 : 1);
        }

        switch (opType)
        {
            case "Add" or "Sub" or "Mul" or "Div" or "Pow" or "Equal" or "Less" or "Greater" or "And" or "Or" or "Xor" or "Gemm" when opset < 7:
                if (attributes.Remove("axis", out object? axis) && inputs.Count >= 2 && Convert.ToInt64(axis) != inputs[0].Rank - inputs[1].Rank)
                {
                    throw new OnnxFormatException($"{where}: broadcast along axis {axis} (opset {opset}) is not supported; only suffix-aligned broadcasting is.");
                }

                attributes.Remove("broadcast");
                break;
            case "Softmax" or "LogSoftmax" or "Hardmax" when opset < 13:
                long softmaxAxis = attributes.TryGetValue("axis", out object? given) ? Convert.ToInt64(given) : 1;
                int rank = inputs[0].Rank;
                if ((softmaxAxis < 0 ? softmaxAxis + rank : softmaxAxis) != rank - 1)
                {
                    throw new OnnxFormatException($"{where}: axis {softmaxAxis} of a rank-{rank} input (opset {opset}, which flattens the axes from it on) is not supported; only the last axis is.");
                }

                attributes["axis"] = -1L;
                break;
            case "BatchNormalization" when opset < 9:
                Require(where, attributes, "spatial", 1, opset);
                if (opset < 7) Require(where, attributes, "is_test", 1, opset);
                break;
            case "Dropout" when opset < 12:
                if (opset < 7) Require(where, attributes, "is_test", 1, opset);
                if (attributes.Remove("ratio", out object? ratio)) inputs.Add(constant(Tensor.Scalar((float)Convert.ToDouble(ratio))));
                break;
            case "PRelu" when opset < 7:
                if (inputs.Count == 2 && inputs[1].Rank == 1 && inputs[0].Rank > 2)
                {
                    long[] perChannel = [-1, .. Enumerable.Repeat(1L, inputs[0].Rank - 2)];
                    inputs[1] = inputs[1].Graph.Apply("Reshape", [inputs[1], ints(perChannel)])[0];
                }

                break;
            case "TopK" when opset < 10:
                if (attributes.Remove("k", out object? k)) inputs.Add(ints([Convert.ToInt64(k)]));
                break;
            case "Squeeze" or "Unsqueeze" when opset < 13:
                if (attributes.Remove("axes", out object? axes)) inputs.Add(ints((long[])axes));
                break;
            case "Split" when opset < 18:
                if (opset < 13 && attributes.Remove("split", out object? split)) inputs.Add(ints((long[])split));
                else if (inputs.Count < 2 && !attributes.ContainsKey("num_outputs") && op.Attributes.Any(a => a.Name == "num_outputs")) attributes["num_outputs"] = (long)outputCount;
                break;
            case "Pad" when opset < 11:
                if (attributes.Remove("pads", out object? pads)) inputs.Add(ints((long[])pads));
                if (attributes.Remove("value", out object? value) && inputs.Count == 2)
                {
                    using Tensor f64 = Tensor.Scalar(Convert.ToDouble(value));
                    inputs.Add(constant(f64.Cast(inputs[0].DType)));
                }

                break;
            case "Upsample" when opset < 9:
                if (attributes.Remove("scales", out object? scales)) inputs.Add(constant(Tensor.FromArray(((double[])scales).Select(v => (float)v).ToArray())));
                break;
            case "Slice" when opset < 10:
                long[] starts = attributes.Remove("starts", out object? s) ? (long[])s : [];
                long[] ends = attributes.Remove("ends", out object? e) ? (long[])e : [];
                inputs.Add(ints(starts));
                inputs.Add(ints(ends));
                if (attributes.Remove("axes", out object? sliceAxes)) inputs.Add(ints((long[])sliceAxes));
                break;
        }
    }

    /// <summary>
    /// Replaces a convolution's or pooling's auto_pad with the explicit pads it stands for, for a definition without
    /// the attribute: VALID pads nothing; SAME_UPPER and SAME_LOWER pad so that each output dim is ceil(input /
    /// stride), the odd element at the end (UPPER) or the start (LOWER), which needs the input's spatial dims.
    /// </summary>
    private static void ExplicitPads(string where, Dictionary<string, object> attributes, List<Value> inputs, int weight)
    {
        attributes.Remove("auto_pad", out object? mode);
        if (mode is "NOTSET") return;
        Dim[] dims = inputs[0].Type.ToArray();
        int spatial = dims.Length - 2;
        if (mode is "VALID")
        {
            attributes["pads"] = new long[2 * spatial];
            return;
        }

        if (mode is not ("SAME_UPPER" or "SAME_LOWER"))
        {
            throw new OnnxFormatException($"{where}: auto_pad '{mode}' is not one of NOTSET, VALID, SAME_UPPER and SAME_LOWER.");
        }

        long[] kernel = attributes.TryGetValue("kernel_shape", out object? k) ? (long[])k
            : inputs.Count > weight && inputs[weight].Rank == spatial + 2 && inputs[weight].Type.Dims[2..].ToArray().All(d => d.IsKnown) ? inputs[weight].Type.Dims[2..].ToArray().Select(d => d.Value).ToArray()
            : throw new OnnxFormatException($"{where}: auto_pad {mode} needs kernel_shape or a weight of known shape.");
        long[] strides = attributes.TryGetValue("strides", out object? st) ? (long[])st : Enumerable.Repeat(1L, spatial).ToArray();
        long[] dilations = attributes.TryGetValue("dilations", out object? dl) ? (long[])dl : Enumerable.Repeat(1L, spatial).ToArray();
        if (kernel.Length != spatial || strides.Length != spatial || dilations.Length != spatial)
        {
            throw new OnnxFormatException($"{where}: kernel_shape, strides and dilations must each have {spatial} values for a rank-{dims.Length} input.");
        }

        var pads = new long[2 * spatial];
        for (int axis = 0; axis < spatial; axis++)
        {
            Dim size = dims[axis + 2];
            if (!size.IsKnown)
            {
                throw new OnnxFormatException($"{where}: auto_pad {mode} needs the input's spatial dims, but dim {axis + 2} is {size}.");
            }

            long output = (size.Value + strides[axis] - 1) / strides[axis];
            long total = Math.Max(0, (output - 1) * strides[axis] + (kernel[axis] - 1) * dilations[axis] + 1 - size.Value);
            long small = total / 2;
            pads[axis] = mode is "SAME_UPPER" ? small : total - small;
            pads[axis + spatial] = total - pads[axis];
        }

        attributes["pads"] = pads;
    }

    /// <summary>Drops a legacy attribute that must have the value the registry's version assumes.</summary>
    private static void Require(string where, Dictionary<string, object> attributes, string name, long expected, long opset)
    {
        if (attributes.Remove(name, out object? value) && Convert.ToInt64(value) != expected)
        {
            throw new OnnxFormatException($"{where}: {name} = {value} (opset {opset}) is not supported; only {expected} is.");
        }
    }
}

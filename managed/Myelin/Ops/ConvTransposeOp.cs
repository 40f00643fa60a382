using Myelin.Graphs;
using Myelin.Native;

namespace Myelin.Ops;

/// <summary>
/// ONNX ConvTranspose (opset 11): x [N, C_in, in...] by w [C_in, C_out/group, k...] plus an optional bias [C_out],
/// 1 to 3 spatial axes. Output size per axis: stride (in - 1) + output_padding + dilation (k - 1) + 1 - pads;
/// given <c>output_shape</c> (or auto_pad SAME_UPPER/SAME_LOWER, which ask for in x stride), the pads are derived
/// from it as the spec says (the larger half at the start, except for SAME_UPPER); a target beyond the unpadded size
/// extends the end like output_padding. output_padding must stay smaller than the stride (the native kernel's range). The forward is <c>mln_conv_backward_data</c>, which is exactly this op, then the bias by broadcasting.
/// </summary>
public sealed unsafe class ConvTransposeOp : ConvFamilyOp
{
    /// <inheritdoc/>
    public override string Name => "ConvTranspose";

    /// <inheritdoc/>
    public override int SinceVersion => 11;

    /// <inheritdoc/>
    public override int MinInputs => 2;

    /// <inheritdoc/>
    public override int MaxInputs => 3;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } =
    [
        new("strides", AttrKind.Ints, Optional: true), new("pads", AttrKind.Ints, Optional: true), new("dilations", AttrKind.Ints, Optional: true),
        new("group", AttrKind.Int, 1L), new("kernel_shape", AttrKind.Ints, Optional: true), new("output_padding", AttrKind.Ints, Optional: true),
        new("output_shape", AttrKind.Ints, Optional: true), new("auto_pad", AttrKind.String, "NOTSET"),
    ];

    /// <summary>The native parameters (pads derived from output_shape when given) and the output's spatial size.</summary>
    internal static (ConvParams Params, long[] Output) Resolve(Node node, long[] input, long[] kernel)
    {
        int r = input.Length;
        GraphValidationException Error(string problem) => new($"{node}: {problem}.", node.Name);
        string autoPad = (string)node.Attributes["auto_pad"];
        if (autoPad is not ("NOTSET" or "VALID" or "SAME_UPPER" or "SAME_LOWER")) throw Error($"auto_pad '{autoPad}' is not one of NOTSET, VALID, SAME_UPPER and SAME_LOWER");
        if (node.GetInts("kernel_shape") is { } kernelShape && !kernelShape.SequenceEqual(kernel))
        {
            throw Error($"kernel_shape [{string.Join(", ", kernelShape)}] differs from w's spatial dims [{string.Join(", ", kernel)}]");
        }

        ConvParams p = Parameters(node, r);
        long[] outputPadding = (long[])(node.GetInts("output_padding") ?? new long[r]).Clone();
        if (outputPadding.Length != r) throw Error($"output_padding must have {r} entries");
        long[]? outputShape = node.GetInts("output_shape");
        if (outputShape is not null && outputShape.Length == r + 2) outputShape = outputShape[2..];
        if (outputShape is not null && outputShape.Length != r) throw Error($"output_shape must have {r} (spatial) or {r + 2} entries");

        var output = new long[r];
        for (int i = 0; i < r; i++)
        {
            if (p.Strides[i] < 1 || p.Dilations[i] < 1) throw Error($"strides and dilations must be at least 1 (axis {i})");
            if (outputPadding[i] < 0 || outputPadding[i] >= p.Strides[i])
            {
                throw Error($"output_padding {outputPadding[i]} on spatial axis {i} must be at least 0 and smaller than the stride {p.Strides[i]}");
            }

            long full = p.Strides[i] * (input[i] - 1) + outputPadding[i] + p.Dilations[i] * (kernel[i] - 1) + 1;
            long? target = outputShape?[i] ?? (autoPad is "SAME_UPPER" or "SAME_LOWER" ? input[i] * p.Strides[i] : null);
            if (autoPad == "VALID") p.PadsBegin[i] = p.PadsEnd[i] = 0;
            if (target is long wanted)
            {
                // The spec's total padding; SAME_UPPER puts the smaller half first. A target beyond the unpadded size
                // extends the end as output padding does (as ONNX Runtime does), within the kernel's range.
                long total = full - wanted;
                if (total < 0)
                {
                    if (outputPadding[i] - total >= p.Strides[i])
                    {
                        throw Error($"output_shape {wanted} on spatial axis {i} exceeds the unpadded size {full} by {-total}; with output_padding {outputPadding[i]} that must stay below the stride {p.Strides[i]}");
                    }

                    outputPadding[i] -= total;
                    full = wanted;
                    total = 0;
                }

                p.PadsBegin[i] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
                p.PadsEnd[i] = total - p.PadsBegin[i];
            }

            if (p.PadsBegin[i] < 0 || p.PadsEnd[i] < 0) throw Error($"pads on spatial axis {i} are negative");
            output[i] = full - p.PadsBegin[i] - p.PadsEnd[i];
            if (output[i] < 1) throw Error($"spatial axis {i}: pads {p.PadsBegin[i]} + {p.PadsEnd[i]} leave no output of the size {full}");
        }

        return (p, output);
    }

    private static (ConvParams Params, long[] Output) Resolve(Node node, TensorType x, TensorType w)
    {
        for (int a = 2; a < x.Rank; a++)
        {
            if (!x[a].IsKnown || !w[a].IsKnown)
            {
                throw new GraphValidationException($"{node}: spatial axis {a - 2} must have a known size ({x.ShapeText}, {w.ShapeText}).", node.Name);
            }
        }

        return Resolve(node, x.ToArray()[2..].Select(d => d.Value).ToArray(), w.ToArray()[2..].Select(d => d.Value).ToArray());
    }

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        context.RequireSameFloat();
        TensorType x = context.Input(0), w = context.Input(1);
        if (x.Rank < 3 || w.Rank != x.Rank) context.Fail($"x is {x.ShapeText} and w is {w.ShapeText}; they need one rank of 3 to 5");
        long group = context.Node.GetInt("group");
        if (group < 1) context.Fail($"group is {group}; it must be at least 1");
        if (x[1].IsKnown && w[0].IsKnown && x[1].Value != w[0].Value) context.Fail($"x has {x[1]} channels but w (C_in x C_out/group x k...) has {w[0]}");
        if (x[1].IsKnown && x[1].Value % group != 0) context.Fail($"x's {x[1]} channels are not a multiple of group {group}");
        long[] output = Resolve(context.Node, x, w).Output;
        Dim channels = w[1] * Dim.Of(group);
        if (context.Inputs.Length == 3 && (context.Input(2).Rank != 1 || context.Input(2)[0] != channels))
        {
            context.Fail($"bias must have shape [{channels}] but has {context.Input(2).ShapeText}");
        }

        return [new TensorType(x.DType, [x[0], channels, .. output.Select(Dim.Of)])];
    }

    /// <inheritdoc/>
    /// <remarks>
    /// The op is Conv's data gradient, so its own gradients are Conv's algebra read backwards (as in
    /// <see cref="ConvGradDataOp"/>): dx = Conv(dy; w), dw = ConvGradFilter(dy, x), db = dy summed over all but the channels,
    /// with the resolved pads (output_shape already turned into pads) as explicit Conv attributes.
    /// </remarks>
    public override Value?[] Gradient(GradientContext c)
    {
        Value dy = c.Dy()!, x = c.X(0), w = c.X(1);
        ConvParams p = Resolve(c.Node, x.Type, w.Type).Params;
        int r = x.Rank - 2;
        long[] strides = new long[r], dilations = new long[r], pads = new long[2 * r];
        for (int i = 0; i < r; i++)
        {
            strides[i] = p.Strides[i];
            dilations[i] = p.Dilations[i];
            pads[i] = p.PadsBegin[i];
            pads[r + i] = p.PadsEnd[i];
        }

        var attributes = new Dictionary<string, object> { ["strides"] = strides, ["dilations"] = dilations, ["pads"] = pads, ["group"] = p.Groups };
        Value dx = c.Op("Conv", [dy, w], attributes);
        Value dw = c.Op("ConvGradFilter", [dy, x, w], attributes);
        if (c.Node.Inputs.Length < 3) return [dx, dw];
        long[] axes = Enumerable.Range(0, dy.Rank).Where(a => a != 1).Select(a => (long)a).ToArray();
        return [dx, dw, dy.Sum(axes)];
    }

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context)
    {
        long[] x = context.InputShape(0), w = context.InputShape(1), y = context.OutputShape(0);
        ConvParams[] pinned = GC.AllocateArray<ConvParams>(1, pinned: true);
        pinned[0] = Resolve(context.Node, x[2..], w[2..]).Params;
        KernelLaunch data = new DataLaunch(pinned, context.Input(0), context.Input(1), context.Output(0));
        if (context.InputCount < 3) return data;

        // The bias [C_out] seen as [C_out, 1, ...] so it broadcasts over the spatial axes.
        TensorDesc bias = *context.Input(2);
        bias.Rank = y.Length - 1;
        for (int a = 1; a < bias.Rank; a++)
        {
            bias.Shape[a] = 1;
            bias.Strides[a] = 1;
        }

        return new SequenceLaunch(data, new BinaryLaunch(BinaryOp.Add, context.Output(0), context.NewDesc(bias), context.Output(0)));
    }

    /// <inheritdoc/>
    /// <remarks>2-d, groups 2, stride 2 with output_padding 1 on one axis, dilation 2 on the other, asymmetric pads, and a bias.</remarks>
    public override GradCheckCase? GradCheckCase => new([[2, 2, 3, 4], [2, 2, 2, 3], [4]], Attributes: new()
    {
        ["strides"] = new long[] { 2, 1 }, ["dilations"] = new long[] { 1, 2 }, ["pads"] = new long[] { 1, 0, 0, 1 },
        ["output_padding"] = new long[] { 1, 0 }, ["group"] = 2L,
    });

    private sealed class DataLaunch(ConvParams[] p, TensorDesc* x, TensorDesc* w, TensorDesc* y) : KernelLaunch
    {
        public override void Launch(DeviceHandle device)
        {
            fixed (ConvParams* parameters = p) NativeMethods.Check(NativeMethods.ConvBackwardData(device, parameters, x, w, y));
        }
    }
}

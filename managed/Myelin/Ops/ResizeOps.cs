using Myelin.Graphs;
using Myelin.Native;

namespace Myelin.Ops;

/// <summary>
/// What a Resize node computes, from its attributes and constant roi, scales and sizes: the scale of every
/// dimension (what the coordinate transformation divides by), the crop region (tf_crop_and_resize) and the output
/// dimensions.
/// </summary>
internal sealed class ResizeGeometry
{
    private static readonly Dictionary<string, ResizeMode> s_modes = new(StringComparer.Ordinal)
    {
        ["nearest"] = ResizeMode.Nearest, ["linear"] = ResizeMode.Linear, ["cubic"] = ResizeMode.Cubic,
    };

    private static readonly Dictionary<string, ResizeCoordinateMode> s_coordinateModes = new(StringComparer.Ordinal)
    {
        ["half_pixel"] = ResizeCoordinateMode.HalfPixel, ["pytorch_half_pixel"] = ResizeCoordinateMode.PytorchHalfPixel,
        ["align_corners"] = ResizeCoordinateMode.AlignCorners, ["asymmetric"] = ResizeCoordinateMode.Asymmetric,
        ["tf_half_pixel_for_nn"] = ResizeCoordinateMode.TfHalfPixelForNn, ["tf_crop_and_resize"] = ResizeCoordinateMode.TfCropAndResize,
        ["half_pixel_symmetric"] = ResizeCoordinateMode.HalfPixelSymmetric,
    };

    private static readonly Dictionary<string, ResizeNearestMode> s_nearestModes = new(StringComparer.Ordinal)
    {
        ["round_prefer_floor"] = ResizeNearestMode.RoundPreferFloor, ["round_prefer_ceil"] = ResizeNearestMode.RoundPreferCeil,
        ["floor"] = ResizeNearestMode.Floor, ["ceil"] = ResizeNearestMode.Ceil,
    };

    private ResizeGeometry(double[] scales, double[] roiStart, double[] roiEnd, Dim[] output)
    {
        Scales = scales;
        RoiStart = roiStart;
        RoiEnd = roiEnd;
        Output = output;
    }

    /// <summary>Per dimension of x: the scale the coordinate transformation uses.</summary>
    public double[] Scales { get; }

    /// <summary>Per dimension of x: the normalized crop start (tf_crop_and_resize; else 0).</summary>
    public double[] RoiStart { get; }

    /// <summary>Per dimension of x: the normalized crop end (tf_crop_and_resize; else 1).</summary>
    public double[] RoiEnd { get; }

    /// <summary>The output dimensions.</summary>
    public Dim[] Output { get; }

    /// <summary>The geometry of Resize node <paramref name="node"/> on an input of type <paramref name="x"/>.</summary>
    public static ResizeGeometry Of(Node node, TensorType x)
    {
        int rank = x.Rank;
        long[] axes = Axes(node, rank);
        var scales = Enumerable.Repeat(1.0, rank).ToArray();
        var roiStart = new double[rank];
        var roiEnd = Enumerable.Repeat(1.0, rank).ToArray();
        bool crop = CoordinateMode(node) == ResizeCoordinateMode.TfCropAndResize;
        if (crop)
        {
            double[] roi = FloatInput(node, 1, "roi") ?? Fail<double[]>(node, "tf_crop_and_resize needs a constant roi input");
            if (roi.Length != 2 * axes.Length) Fail<int>(node, $"roi has {roi.Length} values but needs 2 x {axes.Length} (start and end per resized axis)");
            for (int i = 0; i < axes.Length; i++)
            {
                roiStart[axes[i]] = roi[i];
                roiEnd[axes[i]] = roi[axes.Length + i];
            }
        }

        double[]? given = FloatInput(node, 2, "scales");
        long[]? sizes = node.Inputs.Length > 3 && !OpDef.IsOmitted(node.Inputs[3]) ? node.ConstantInt64Input(3, "sizes") : null;
        if ((given is null) == (sizes is null)) Fail<int>(node, "exactly one of the scales and sizes inputs must be given (non-empty)");
        Dim[] output = x.ToArray();
        long[] known = axes.Select(a => x[(int)a].IsKnown ? x[(int)a].Value : -1).ToArray();
        if (given is not null)
        {
            if (given.Length != axes.Length) Fail<int>(node, $"scales has {given.Length} values but x has {axes.Length} axes to resize");
            for (int i = 0; i < axes.Length; i++)
            {
                int axis = (int)axes[i];
                if (!(given[i] > 0) || double.IsInfinity(given[i])) Fail<int>(node, $"scales[{i}] is {given[i]} but must be positive and finite");
                scales[axis] = given[i];
                if (given[i] == 1 && !crop) continue;
                if (known[i] < 0) Fail<int>(node, $"axis {axis} ({x[axis]}) must have a known size to be resized");
                output[axis] = (long)Math.Floor(known[i] * (roiEnd[axis] - roiStart[axis]) * given[i]);
            }
        }
        else
        {
            if (sizes!.Length != axes.Length) Fail<int>(node, $"sizes has {sizes.Length} values but x has {axes.Length} axes to resize");
            for (int i = 0; i < axes.Length; i++)
            {
                if (sizes[i] < 0) Fail<int>(node, $"sizes[{i}] is {sizes[i]}; sizes must not be negative");
                if (known[i] <= 0) Fail<int>(node, $"axis {axes[i]} ({x[(int)axes[i]]}) must have a known positive size to be resized to a given size");
            }

            string policy = (string)node.Attributes["keep_aspect_ratio_policy"];
            double[] ratios = sizes.Select((s, i) => (double)s / known[i]).ToArray();
            double? common = policy switch
            {
                "stretch" => null,
                "not_larger" => ratios.Min(),
                "not_smaller" => ratios.Max(),
                _ => Fail<double?>(node, $"keep_aspect_ratio_policy '{policy}' is not stretch, not_larger or not_smaller"),
            };
            for (int i = 0; i < axes.Length; i++)
            {
                int axis = (int)axes[i];
                scales[axis] = common ?? ratios[i];
                output[axis] = common is double s ? (long)Math.Round(s * known[i], MidpointRounding.AwayFromZero) : sizes[i];
            }
        }

        return new ResizeGeometry(scales, roiStart, roiEnd, output);
    }

    /// <summary>A geometry already resolved (a ResizeMap node's attributes); its output is not needed.</summary>
    public static ResizeGeometry Resolved(double[] scales, double[] roiStart, double[] roiEnd) => new(scales, roiStart, roiEnd, []);

    /// <summary>The native parameters: this geometry and the attributes of <paramref name="node"/> (a Resize or ResizeMap node).</summary>
    public unsafe ResizeParams Parameters(Node node)
    {
        var p = new ResizeParams
        {
            Mode = (int)Mode(node),
            CoordinateMode = (int)CoordinateMode(node),
            NearestMode = (int)Lookup(node, "nearest_mode", s_nearestModes),
            ExcludeOutside = (int)node.GetInt("exclude_outside"),
            CubicCoeffA = node.GetFloat("cubic_coeff_a"),
            ExtrapolationValue = node.GetFloat("extrapolation_value"),
        };
        for (int d = 0; d < Scales.Length; d++)
        {
            p.Scales[d] = Scales[d];
            p.RoiStart[d] = RoiStart[d];
            p.RoiEnd[d] = RoiEnd[d];
        }

        return p;
    }

    /// <summary>Checks the attributes that the kernel takes, failing with the node's name.</summary>
    public static void CheckAttributes(Node node)
    {
        Mode(node);
        CoordinateMode(node);
        Lookup(node, "nearest_mode", s_nearestModes);
        if (node.GetInt("exclude_outside") is not (0 or 1)) Fail<int>(node, $"exclude_outside is {node.GetInt("exclude_outside")} but must be 0 or 1");
        if (node.Attributes.TryGetValue("antialias", out object? antialias) && Convert.ToInt64(antialias) != 0)
        {
            Fail<int>(node, "antialias = 1 is not supported; only antialias = 0 is");
        }
    }

    private static ResizeMode Mode(Node node) => Lookup(node, "mode", s_modes);

    private static ResizeCoordinateMode CoordinateMode(Node node) => Lookup(node, "coordinate_transformation_mode", s_coordinateModes);

    private static T Lookup<T>(Node node, string attribute, Dictionary<string, T> values)
    {
        string given = (string)node.Attributes[attribute];
        return values.TryGetValue(given, out T? value) ? value : Fail<T>(node, $"{attribute} '{given}' is not one of {string.Join(", ", values.Keys)}");
    }

    private static long[] Axes(Node node, int rank)
    {
        long[]? given = node.GetInts("axes");
        if (given is null) return Enumerable.Range(0, rank).Select(a => (long)a).ToArray();
        long[] axes = given.Select(a => a < 0 ? a + rank : a).ToArray();
        if (axes.Any(a => a < 0 || a >= rank) || axes.Distinct().Count() != axes.Length)
        {
            Fail<int>(node, $"axes [{string.Join(", ", given)}] must be distinct axes of a rank-{rank} input");
        }

        return axes;
    }

    // A constant float input's values as doubles, or null when the input is omitted (empty).
    private static double[]? FloatInput(Node node, int index, string what)
    {
        if (index >= node.Inputs.Length || OpDef.IsOmitted(node.Inputs[index])) return null;
        Value input = node.Inputs[index];
        if (input is not { Kind: ValueKind.Constant, Rank: 1 } || !input.DType.IsFloatingPoint())
        {
            return Fail<double[]>(node, $"the {what} input must be a constant 1-d float tensor");
        }

        using Tensor f64 = input.Data!.Cast(DType.F64);
        return f64.ToArray<double>();
    }

    private static T Fail<T>(Node node, string problem) => throw new GraphValidationException($"{node}: {problem}.", node.Name);
}

/// <summary>
/// ONNX Resize (opsets 11 to 19): inputs X, roi, scales, sizes (roi and one of scales and sizes may be empty or
/// omitted), modes nearest, linear and cubic with every coordinate transformation, opset 18's axes and
/// keep_aspect_ratio_policy; bound to <c>mln_resize_forward</c>. roi, scales and sizes must be constants.
/// </summary>
public sealed unsafe class ResizeOp : OpDef
{
    /// <inheritdoc/>
    public override string Name => "Resize";

    /// <inheritdoc/>
    public override int SinceVersion => 11;

    /// <inheritdoc/>
    public override int MinInputs => 1;

    /// <inheritdoc/>
    public override int MaxInputs => 4;

    /// <inheritdoc/>
    public override bool TakesOmittedInputs => true;

    /// <inheritdoc/>
    public override bool RequiresContiguousInput(int index) => true;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } =
    [
        new("mode", AttrKind.String, "nearest"), new("coordinate_transformation_mode", AttrKind.String, "half_pixel"),
        new("nearest_mode", AttrKind.String, "round_prefer_floor"), new("cubic_coeff_a", AttrKind.Float, -0.75),
        new("exclude_outside", AttrKind.Int, 0L), new("extrapolation_value", AttrKind.Float, 0.0), new("antialias", AttrKind.Int, 0L),
        new("axes", AttrKind.Ints, Optional: true), new("keep_aspect_ratio_policy", AttrKind.String, "stretch"),
    ];

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        TensorType x = context.Input(0);
        if (!x.DType.IsFloatingPoint()) context.Fail($"x is {x.DType.ShortName()}; Resize needs floating point");
        ResizeGeometry.CheckAttributes(context.Node);
        return [new TensorType(x.DType, ResizeGeometry.Of(context.Node, x).Output)];
    }

    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c)
    {
        ResizeGeometry geometry = ResizeGeometry.Of(c.Node, c.X(0).Type);
        var attributes = c.Node.Attributes.Where(a => a.Key is not ("axes" or "keep_aspect_ratio_policy" or "antialias")).ToDictionary();
        attributes["scales"] = geometry.Scales;
        attributes["roi"] = geometry.RoiStart.Concat(geometry.RoiEnd).ToArray();
        attributes["adjoint"] = 1L;
        Value dx = c.Graph.Apply("ResizeMap", [c.Dy()!, c.X(0)], attributes)[0];
        return [dx, .. new Value?[c.Node.Inputs.Length - 1]];
    }

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context)
    {
        ResizeParams[] p = GC.AllocateArray<ResizeParams>(1, pinned: true);
        p[0] = ResizeGeometry.Of(context.Node, context.Node.Inputs[0].Type).Parameters(context.Node);
        return new ResizeLaunch(p, context.Input(0), context.Output(0));
    }

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[1, 2, 3, 4]], Build: (g, x) =>
    [
        g.Apply("Resize", [x[0], g.Constant(Tensor.FromArray(Array.Empty<float>()).MoveToOuterScope()), g.Constant(Tensor.FromArray(new float[] { 1, 1, 1.5f, 0.75f }).MoveToOuterScope())],
            new Dictionary<string, object> { ["mode"] = "cubic" })[0],
    ]);

    private sealed class ResizeLaunch(ResizeParams[] p, TensorDesc* x, TensorDesc* y) : KernelLaunch
    {
        public override void Launch(DeviceHandle device)
        {
            fixed (ResizeParams* parameters = p) NativeMethods.Check(NativeMethods.ResizeForward(device, parameters, x, y));
        }
    }
}

/// <summary>
/// Myelin's ResizeMap(a, like): a Resize with resolved per-dimension scales and roi (starts then ends) as attributes,
/// applied forward (adjoint 0, <c>mln_resize_forward</c>) or as its adjoint (adjoint 1, <c>mln_resize_backward</c>),
/// giving <c>like</c>'s shape. The adjoint is Resize's gradient; each direction's gradient is the other.
/// </summary>
public sealed unsafe class ResizeMapOp : OpDef
{
    /// <inheritdoc/>
    public override string Name => "ResizeMap";

    /// <inheritdoc/>
    public override string Domain => "ai.myelin";

    /// <inheritdoc/>
    public override int SinceVersion => 1;

    /// <inheritdoc/>
    public override int MinInputs => 2;

    /// <inheritdoc/>
    public override bool RequiresContiguousInput(int index) => true;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } =
    [
        new("mode", AttrKind.String), new("coordinate_transformation_mode", AttrKind.String), new("nearest_mode", AttrKind.String),
        new("cubic_coeff_a", AttrKind.Float), new("exclude_outside", AttrKind.Int), new("extrapolation_value", AttrKind.Float),
        new("scales", AttrKind.Floats), new("roi", AttrKind.Floats), new("adjoint", AttrKind.Int),
    ];

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        TensorType a = context.Input(0), like = context.Input(1);
        if (!a.DType.IsFloatingPoint()) context.Fail($"input 0 is {a.DType.ShortName()}; the op needs floating point");
        ResizeGeometry.CheckAttributes(context.Node);
        var scales = (double[])context.Node.Attributes["scales"];
        var roi = (double[])context.Node.Attributes["roi"];
        if (a.Rank != like.Rank || scales.Length != a.Rank || roi.Length != 2 * a.Rank)
        {
            context.Fail($"input 0 is {a.ShapeText} and like is {like.ShapeText}, with {scales.Length} scales and {roi.Length} roi values; the ranks must agree");
        }

        return [new TensorType(a.DType, like.ToArray())];
    }

    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c)
    {
        var attributes = new Dictionary<string, object>(c.Node.Attributes) { ["adjoint"] = 1 - c.Node.GetInt("adjoint") };
        return [c.Graph.Apply("ResizeMap", [c.Dy()!, c.X(0)], attributes)[0], null];
    }

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context)
    {
        var scales = (double[])context.Node.Attributes["scales"];
        var roi = (double[])context.Node.Attributes["roi"];
        int rank = scales.Length;
        ResizeParams[] p = GC.AllocateArray<ResizeParams>(1, pinned: true);
        p[0] = ResizeGeometry.Resolved(scales, roi[..rank], roi[rank..]).Parameters(context.Node);
        return new MapLaunch(p, context.Node.GetInt("adjoint") != 0, context.Input(0), context.Output(0));
    }

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[1, 2, 4, 3]], Build: (g, x) =>
    [
        g.Apply("ResizeMap", [x[0], g.Constant(Tensor.FromArray(new float[6], 1, 2, 1, 3).MoveToOuterScope())], new Dictionary<string, object>
        {
            ["mode"] = "linear", ["coordinate_transformation_mode"] = "half_pixel", ["nearest_mode"] = "floor", ["cubic_coeff_a"] = -0.75,
            ["exclude_outside"] = 0L, ["extrapolation_value"] = 0.0, ["scales"] = new double[] { 1, 1, 0.4, 1 }, ["roi"] = new double[] { 0, 0, 0, 0, 1, 1, 1, 1 },
            ["adjoint"] = 1L,
        })[0],
    ]);

    private sealed class MapLaunch(ResizeParams[] p, bool adjoint, TensorDesc* a, TensorDesc* b) : KernelLaunch
    {
        public override void Launch(DeviceHandle device)
        {
            fixed (ResizeParams* parameters = p)
            {
                NativeMethods.Check(adjoint ? NativeMethods.ResizeBackward(device, parameters, a, b) : NativeMethods.ResizeForward(device, parameters, a, b));
            }
        }
    }
}

using Myelin.Graphs;
using Myelin.Native;

namespace Myelin.Ops;

/// <summary>ONNX LayerNormalization (opset 17): outputs Y, Mean and InvStdDev; the statistics feed the backward.</summary>
public sealed unsafe class LayerNormalizationOp : OpDef
{
    /// <inheritdoc/>
    public override string Name => "LayerNormalization";

    /// <inheritdoc/>
    public override int SinceVersion => 17;

    /// <inheritdoc/>
    public override int MinInputs => 3;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("axis", AttrKind.Int, -1L), new("epsilon", AttrKind.Float, 1e-5), new("stash_type", AttrKind.Int, 1L)];

    internal static int NormalizedRank(Node node, int rank)
    {
        long axis = node.GetInt("axis");
        long normalized = axis < 0 ? axis + rank : axis;
        if (normalized < 0 || normalized >= rank) throw new GraphValidationException($"{node}: axis {axis} is out of range for rank {rank}.", node.Name);
        return rank - (int)normalized;
    }

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        DType dtype = context.RequireSameFloat();
        TensorType x = context.Input(0);
        int r = NormalizedRank(context.Node, x.Rank);
        Dim[] trailing = x.Dims[^r..].ToArray();
        for (int i = 1; i < 3; i++)
        {
            if (!context.Input(i).Dims.SequenceEqual(trailing)) context.Fail($"input {i} is {context.Input(i).ShapeText} but the normalized dims are {new TensorType(dtype, trailing).ShapeText}");
        }

        var stats = new TensorType(dtype, [.. x.Dims[..^r].ToArray(), .. Enumerable.Repeat(Dim.Of(1), r)]);
        return [x, stats, stats];
    }

    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c)
    {
        Value[] grads = c.Graph.Apply("NormGrad", [c.X(0), c.Dy()!, c.X(1), c.Y(1), c.Y(2)], new Dictionary<string, object>
        {
            ["kind"] = 0L, ["normalized_rank"] = (long)NormalizedRank(c.Node, c.X(0).Rank),
        });
        return [grads[0], grads[1], grads[2]];
    }

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context) => new NormLaunch(NormalizedRank(context.Node, context.InputShape(0).Length), context.Node.GetFloat("epsilon"),
        context.Input(0), context.Input(1), context.Input(2), context.Output(0), context.Output(1), context.Output(2));

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[3, 2, 4], [2, 4], [2, 4]], -2, 2, Attributes: new() { ["axis"] = 1L },
        Build: (g, x) => [g.Apply("LayerNormalization", x, new Dictionary<string, object> { ["axis"] = 1L })[0]]);

    private sealed class NormLaunch(int normalizedRank, double epsilon, TensorDesc* x, TensorDesc* scale, TensorDesc* bias, TensorDesc* y, TensorDesc* mean, TensorDesc* invstd) : KernelLaunch
    {
        public override void Launch(DeviceHandle device) =>
            NativeMethods.Check(NativeMethods.LayerNormForward(device, x, normalizedRank, scale, bias, epsilon, y, mean, invstd));
    }
}

/// <summary>ONNX GroupNormalization (opset 21, per-channel scale and bias); extra outputs hold the N x groups statistics.</summary>
public sealed unsafe class GroupNormalizationOp : OpDef
{
    /// <inheritdoc/>
    public override string Name => "GroupNormalization";

    /// <inheritdoc/>
    public override int SinceVersion => 21;

    /// <inheritdoc/>
    public override int MinInputs => 3;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("num_groups", AttrKind.Int), new("epsilon", AttrKind.Float, 1e-5)];

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        DType dtype = context.RequireSameFloat();
        TensorType x = context.Input(0);
        long groups = context.Node.GetInt("num_groups");
        if (x.Rank < 2) context.Fail($"x is {x.ShapeText}; it needs N x C");
        if (groups < 1 || (x[1].IsKnown && x[1].Value % groups != 0)) context.Fail($"num_groups {groups} does not divide the {x[1]} channels");
        for (int i = 1; i < 3; i++)
        {
            if (context.Input(i).Rank != 1 || context.Input(i)[0] != x[1]) context.Fail($"input {i} is {context.Input(i).ShapeText}; it must be {x[1]}");
        }

        var stats = new TensorType(dtype, x[0], groups);
        return [x, stats, stats];
    }

    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c)
    {
        Value[] grads = c.Graph.Apply("NormGrad", [c.X(0), c.Dy()!, c.X(1), c.Y(1), c.Y(2)], new Dictionary<string, object>
        {
            ["kind"] = 1L, ["groups"] = c.Node.GetInt("num_groups"),
        });
        return [grads[0], grads[1], grads[2]];
    }

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context) => new NormLaunch(context.Node.GetInt("num_groups"), context.Node.GetFloat("epsilon"),
        context.Input(0), context.Input(1), context.Input(2), context.Output(0), context.Output(1), context.Output(2));

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 4, 3], [4], [4]], -2, 2, Attributes: new() { ["num_groups"] = 2L },
        Build: (g, x) => [g.Apply("GroupNormalization", x, new Dictionary<string, object> { ["num_groups"] = 2L })[0]]);

    private sealed class NormLaunch(long groups, double epsilon, TensorDesc* x, TensorDesc* scale, TensorDesc* bias, TensorDesc* y, TensorDesc* mean, TensorDesc* invstd) : KernelLaunch
    {
        public override void Launch(DeviceHandle device) =>
            NativeMethods.Check(NativeMethods.GroupNormForward(device, x, groups, scale, bias, epsilon, y, mean, invstd));
    }
}

/// <summary>Myelin's NormGrad(x, dy, scale, mean, invstd) → (dx, dscale, dbias) for layer norm (kind 0) or group norm (kind 1).</summary>
public sealed unsafe class NormGradOp : OpDef
{
    /// <inheritdoc/>
    public override string Name => "NormGrad";

    /// <inheritdoc/>
    public override string Domain => "ai.myelin";

    /// <inheritdoc/>
    public override int SinceVersion => 1;

    /// <inheritdoc/>
    public override int MinInputs => 5;

    /// <inheritdoc/>
    public override bool HasGradient => false;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("kind", AttrKind.Int), new("normalized_rank", AttrKind.Int, 0L), new("groups", AttrKind.Int, 1L)];

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context) => [context.Input(0), context.Input(2), context.Input(2)];

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext c) => new NormLaunch(c.Node.GetInt("kind") == 0, (int)c.Node.GetInt("normalized_rank"), c.Node.GetInt("groups"),
        c.Input(0), c.Input(1), c.Input(2), c.Input(3), c.Input(4), c.Output(0), c.Output(1), c.Output(2));

    private sealed class NormLaunch(bool layer, int normalizedRank, long groups, TensorDesc* x, TensorDesc* dy, TensorDesc* scale, TensorDesc* mean, TensorDesc* invstd,
        TensorDesc* dx, TensorDesc* dscale, TensorDesc* dbias) : KernelLaunch
    {
        public override void Launch(DeviceHandle device) => NativeMethods.Check(layer
            ? NativeMethods.LayerNormBackward(device, x, dy, normalizedRank, scale, mean, invstd, dx, dscale, dbias)
            : NativeMethods.GroupNormBackward(device, x, dy, groups, scale, mean, invstd, dx, dscale, dbias));
    }
}

/// <summary>
/// ONNX BatchNormalization (opset 15) over N and space. With training_mode = 1 it normalizes by the batch statistics and
/// updates input_mean and input_var (parameters) in place, running = momentum * running + (1 - momentum) * batch; its
/// outputs are then Y and the saved mean and inverse standard deviation the backward reads (ONNX lists the running
/// statistics as outputs instead: an exporter maps them to the updated parameters).
/// </summary>
public sealed unsafe class BatchNormalizationOp : OpDef
{
    /// <inheritdoc/>
    public override string Name => "BatchNormalization";

    /// <inheritdoc/>
    public override int SinceVersion => 15;

    /// <inheritdoc/>
    public override int MinInputs => 5;

    /// <inheritdoc/>
    public override bool IsDeterministic => false;

    /// <inheritdoc/>
    public override IReadOnlyList<int> MutatedInputs { get; } = [3, 4];

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } =
        [new("epsilon", AttrKind.Float, 1e-5), new("momentum", AttrKind.Float, 0.9), new("training_mode", AttrKind.Int, 0L)];

    private static bool Training(Node node) => node.GetInt("training_mode") != 0;

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 3, 2, 1], [3], [3]], -2, 2, Build: (g, x) =>
    [
        g.Apply("BatchNormalization", [x[0], x[1], x[2],
            g.Parameter(g.Fresh("mean"), Tensor.Zeros([3], x[0].DType).MoveToOuterScope()), g.Parameter(g.Fresh("var"), Tensor.Ones([3], x[0].DType).MoveToOuterScope())],
            new Dictionary<string, object> { ["training_mode"] = 1L })[0],
    ]);

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        DType dtype = context.RequireSameFloat();
        TensorType x = context.Input(0);
        if (x.Rank < 2) context.Fail($"x is {x.ShapeText}; it needs N x C");
        for (int i = 1; i < 5; i++)
        {
            if (context.Input(i).Rank != 1 || context.Input(i)[0] != x[1]) context.Fail($"input {i} is {context.Input(i).ShapeText}; it must be {x[1]}");
        }

        if (!Training(context.Node)) return [x];
        for (int i = 3; i < 5; i++)
        {
            if (Scheduling.Scheduler.Root(context.Node.Inputs[i]).Kind != ValueKind.Parameter) context.Fail($"in training mode input {i} ('{context.Node.Inputs[i].Name}') must be a parameter: it is updated in place");
        }

        var stats = new TensorType(dtype, x[1]);
        return [x, stats, stats];
    }

    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c)
    {
        if (!Training(c.Node)) throw new GraphValidationException($"{c.Node}: the gradient of inference-mode batch norm is not defined yet; use training_mode = 1.", c.Node.Name);
        Value[] grads = c.Graph.Apply("BatchNormGrad", [c.X(0), c.Dy()!, c.X(1), c.Y(1), c.Y(2)])[0..3];
        return [grads[0], grads[1], grads[2], null, null];
    }

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext c) => Training(c.Node)
        ? new TrainingLaunch(c.Node.GetFloat("epsilon"), c.Node.GetFloat("momentum"), c.Input(0), c.Input(1), c.Input(2), c.Input(3), c.Input(4), c.Output(0), c.Output(1), c.Output(2))
        : new InferenceLaunch(c.Node.GetFloat("epsilon"), c.Input(0), c.Input(1), c.Input(2), c.Input(3), c.Input(4), c.Output(0));

    private sealed class TrainingLaunch(double epsilon, double momentum, TensorDesc* x, TensorDesc* scale, TensorDesc* bias, TensorDesc* mean, TensorDesc* variance,
        TensorDesc* y, TensorDesc* savedMean, TensorDesc* savedInvstd) : KernelLaunch
    {
        public override void Launch(DeviceHandle device) => NativeMethods.Check(
            NativeMethods.BatchNormForwardTraining(device, x, scale, bias, epsilon, momentum, mean, variance, y, savedMean, savedInvstd));
    }

    private sealed class InferenceLaunch(double epsilon, TensorDesc* x, TensorDesc* scale, TensorDesc* bias, TensorDesc* mean, TensorDesc* variance, TensorDesc* y) : KernelLaunch
    {
        public override void Launch(DeviceHandle device) => NativeMethods.Check(NativeMethods.BatchNormForwardInference(device, x, scale, bias, mean, variance, epsilon, y));
    }
}

/// <summary>Myelin's BatchNormGrad(x, dy, scale, saved_mean, saved_invstd) → (dx, dscale, dbias).</summary>
public sealed unsafe class BatchNormGradOp : OpDef
{
    /// <inheritdoc/>
    public override string Name => "BatchNormGrad";

    /// <inheritdoc/>
    public override string Domain => "ai.myelin";

    /// <inheritdoc/>
    public override int SinceVersion => 1;

    /// <inheritdoc/>
    public override int MinInputs => 5;

    /// <inheritdoc/>
    public override bool HasGradient => false;

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context) => [context.Input(0), context.Input(2), context.Input(2)];

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext c) => new GradLaunch(c.Input(0), c.Input(1), c.Input(2), c.Input(3), c.Input(4), c.Output(0), c.Output(1), c.Output(2));

    private sealed class GradLaunch(TensorDesc* x, TensorDesc* dy, TensorDesc* scale, TensorDesc* mean, TensorDesc* invstd, TensorDesc* dx, TensorDesc* dscale, TensorDesc* dbias) : KernelLaunch
    {
        public override void Launch(DeviceHandle device) => NativeMethods.Check(NativeMethods.BatchNormBackward(device, x, dy, scale, mean, invstd, dx, dscale, dbias));
    }
}

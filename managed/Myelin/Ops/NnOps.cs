using System.Runtime.CompilerServices;
using Myelin.Graphs;
using Myelin.Native;

namespace Myelin.Ops;

/// <summary>ONNX Softmax / LogSoftmax (opset 13: along one axis, default -1), bound to <c>mln_softmax</c>.</summary>
public abstract unsafe class SoftmaxKernelOp(string name, SoftmaxOp kernel) : OpDef
{
    /// <inheritdoc/>
    public override string Name => name;

    /// <inheritdoc/>
    public override int MinInputs => 1;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("axis", AttrKind.Int, -1L)];

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        context.RequireSameFloat();
        context.Axis(context.Node.GetInt("axis"), context.Input(0).Rank);
        return [context.Input(0)];
    }

    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c) => [c.Graph.Apply("SoftmaxGrad", [c.Y(), c.Dy()!], new Dictionary<string, object>
    {
        ["axis"] = c.Node.GetInt("axis"), ["log"] = kernel == SoftmaxOp.LogSoftmax ? 1L : 0L,
    })[0]];

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context) => new SoftmaxLaunch(kernel, (int)context.Node.GetInt("axis"), context.Input(0), context.Output(0));

    /// <inheritdoc/>
    public override GradCheckCase? GradCheckCase => new([[2, 3, 4]], -2, 2, Attributes: new() { ["axis"] = 1L });
}

/// <summary>ONNX Softmax.</summary>
public sealed class SoftmaxOpDef() : SoftmaxKernelOp("Softmax", SoftmaxOp.Softmax);

/// <summary>ONNX LogSoftmax.</summary>
public sealed class LogSoftmaxOpDef() : SoftmaxKernelOp("LogSoftmax", SoftmaxOp.LogSoftmax);

/// <summary>Myelin's SoftmaxGrad(y, dy): the (log-)softmax backward from the forward output, <c>mln_softmax_backward</c>.</summary>
public sealed unsafe class SoftmaxGradOp : OpDef
{
    /// <inheritdoc/>
    public override string Name => "SoftmaxGrad";

    /// <inheritdoc/>
    public override string Domain => "ai.myelin";

    /// <inheritdoc/>
    public override int SinceVersion => 1;

    /// <inheritdoc/>
    public override int MinInputs => 2;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("axis", AttrKind.Int, -1L), new("log", AttrKind.Int, 0L)];

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        context.RequireSameFloat();
        if (!context.Input(0).Equals(context.Input(1))) context.Fail($"y is {context.Input(0)} but dy is {context.Input(1)}");
        return [context.Input(0)];
    }

    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c)
    {
        // Softmax: dx = y (dy - sum(dy y)). LogSoftmax: dx = dy - exp(y) sum(dy). Sums run over the axis, kept for broadcasting.
        Value y = c.X(0), dy = c.X(1), g = c.Dy()!;
        long[] axis = [c.Axis(c.Node.GetInt("axis"), y.Rank)];
        if (c.Node.GetInt("log") == 0)
        {
            Value t = (g * y).Sum(axis, keepDims: true), s = (dy * y).Sum(axis, keepDims: true);
            return [g * (dy - s) - dy * t, c.Graph.Apply("SoftmaxGrad", [y, g], new Dictionary<string, object>(c.Node.Attributes))[0]];
        }

        Value e = y.Exp();
        return [-(g * e * dy.Sum(axis, keepDims: true)), g - (g * e).Sum(axis, keepDims: true)];
    }

    /// <inheritdoc/>
    /// <remarks>y and dy are free inputs; one output per form (softmax and log-softmax), along a middle axis.</remarks>
    public override GradCheckCase? GradCheckCase => new([[2, 3, 4], [2, 3, 4]], Build: (g, x) =>
    [
        g.Apply("SoftmaxGrad", [x[0], x[1]], new Dictionary<string, object> { ["axis"] = 1L, ["log"] = 0L })[0],
        g.Apply("SoftmaxGrad", [x[0], x[1]], new Dictionary<string, object> { ["axis"] = -2L, ["log"] = 1L })[0],
    ]);

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context) => new SoftmaxBackwardLaunch(
        context.Node.GetInt("log") != 0 ? SoftmaxOp.LogSoftmax : SoftmaxOp.Softmax, (int)context.Node.GetInt("axis"), context.Input(0), context.Input(1), context.Output(0));
}

/// <summary>
/// Myelin's OptimizerStep(param, grad[, state0[, state1]]): one fused <c>mln_optimizer_step</c> updating param and the
/// states in place (PyTorch semantics). The step count lives with the node, so re-planning keeps it. A node given live
/// settings (<see cref="UseLiveSettings"/>) reads them at every launch, so they change between runs without recompiling;
/// otherwise its attributes hold. Adagrad's lr_decay scales the rate by 1 / (1 + (step - 1) * lr_decay) at launch.
/// </summary>
public sealed unsafe class OptimizerStepOp : OpDef
{
    private static readonly ConditionalWeakTable<Node, StrongBox<long>> s_steps = [];
    private static readonly ConditionalWeakTable<Node, Optim.ParameterGroup> s_liveSettings = [];

    /// <inheritdoc/>
    public override string Name => "OptimizerStep";

    /// <inheritdoc/>
    public override string Domain => "ai.myelin";

    /// <inheritdoc/>
    public override int SinceVersion => 1;

    /// <inheritdoc/>
    public override int MinInputs => 2;

    /// <inheritdoc/>
    public override int MaxInputs => 4;

    /// <inheritdoc/>
    public override bool HasSideEffects => true;

    /// <inheritdoc/>
    public override IReadOnlyList<int> MutatedInputs { get; } = [0, 2, 3];

    /// <inheritdoc/>
    public override bool IsDifferentiable => false;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } =
    [
        new("kind", AttrKind.Int), new("lr", AttrKind.Float), new("momentum", AttrKind.Float, 0.0), new("dampening", AttrKind.Float, 0.0),
        new("weight_decay", AttrKind.Float, 0.0), new("alpha", AttrKind.Float, 0.99), new("beta1", AttrKind.Float, 0.9),
        new("beta2", AttrKind.Float, 0.999), new("eps", AttrKind.Float, 1e-8), new("centered", AttrKind.Int, 0L),
        new("lr_decay", AttrKind.Float, 0.0),
    ];

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        context.RequireSameFloat();
        for (int i = 0; i < context.Inputs.Length; i++)
        {
            if (i != 1 && Scheduling.Scheduler.Root(context.Node.Inputs[i]).Kind != ValueKind.Parameter)
            {
                context.Fail($"input {i} ('{context.Node.Inputs[i].Name}') must be a parameter or a view of one, updated in place");
            }
            if (!context.Input(i).Equals(context.Input(0))) context.Fail($"input {i} is {context.Input(i)} but the parameter is {context.Input(0)}");
        }

        return [];
    }

    /// <summary>How many updates this node has made.</summary>
    public static long StepCount(Node node) => s_steps.GetOrCreateValue(node).Value;

    /// <summary>Sets how many updates this node has made (restoring an optimizer's state); the next launch is step <paramref name="count"/> + 1.</summary>
    public static void SetStepCount(Node node, long count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        s_steps.GetOrCreateValue(node).Value = count;
    }

    /// <summary>Makes every launch of <paramref name="node"/> read the learning rate and other live settings from <paramref name="settings"/>.</summary>
    public static void UseLiveSettings(Node node, Optim.ParameterGroup settings) => s_liveSettings.AddOrUpdate(node, settings);

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context)
    {
        Node n = context.Node;
        OptimizerParams[] parameters = GC.AllocateArray<OptimizerParams>(1, pinned: true);
        parameters[0] = new OptimizerParams
        {
            Kind = (OptimizerKind)n.GetInt("kind"), Centered = (int)n.GetInt("centered"), Lr = n.GetFloat("lr"), Momentum = n.GetFloat("momentum"),
            Dampening = n.GetFloat("dampening"), WeightDecay = n.GetFloat("weight_decay"), Alpha = n.GetFloat("alpha"),
            Beta1 = n.GetFloat("beta1"), Beta2 = n.GetFloat("beta2"), Eps = n.GetFloat("eps"),
        };
        return new OptimizerLaunch(parameters, n.GetFloat("lr_decay"), s_liveSettings.TryGetValue(n, out Optim.ParameterGroup? live) ? live : null,
            s_steps.GetOrCreateValue(n), context.Input(0), context.Input(1), context.InputCount > 2 ? context.Input(2) : null, context.InputCount > 3 ? context.Input(3) : null);
    }

    private sealed class OptimizerLaunch(OptimizerParams[] parameters, double lrDecay, Optim.ParameterGroup? live, StrongBox<long> step,
        TensorDesc* param, TensorDesc* grad, TensorDesc* state0, TensorDesc* state1) : KernelLaunch
    {
        private readonly double _learningRate = parameters[0].Lr;

        public override void Launch(DeviceHandle device)
        {
            ref OptimizerParams p = ref parameters[0];
            p.Step = ++step.Value;
            double learningRate = _learningRate, decay = lrDecay;
            if (live is not null)
            {
                (learningRate, decay) = (live.LearningRate, live.LearningRateDecay);
                (p.Momentum, p.Dampening, p.WeightDecay, p.Alpha, p.Beta1, p.Beta2, p.Eps) =
                    (live.Momentum, live.Dampening, live.WeightDecay, live.Alpha, live.Beta1, live.Beta2, live.Epsilon);
            }

            p.Lr = learningRate / (1 + (p.Step - 1) * decay);
            fixed (OptimizerParams* pinned = parameters)
            {
                KernelCalls.OptimizerStep(device, pinned, param, grad, state0, state1);
            }
        }
    }
}

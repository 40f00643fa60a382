using System.Runtime.CompilerServices;
using Myelin.Graphs;
using Myelin.Native;

namespace Myelin.Ops;

/// <summary>
/// ONNX Dropout (opset 13): inputs data, optional constant ratio (default 0.5) and training_mode (default false, the
/// identity); outputs the result and the bool mask. In training, <c>mln_dropout</c> (Philox) draws a new mask each run:
/// the counter offset advances by the element count per launch and lives with the node, so re-planning keeps it.
/// The node's stream (seed and offset) can be read and set (<see cref="StreamOf"/>, <see cref="SetStream"/>), so a
/// checkpoint resumes the same masks.
/// </summary>
public sealed unsafe class DropoutOp : OpDef
{
    private static readonly ConditionalWeakTable<Node, MaskStream> s_streams = [];

    // Nodes whose counter offset stays put, so every run draws the same mask (finite differences need a fixed function).
    private static readonly ConditionalWeakTable<Node, object> s_fixedMasks = [];

    /// <summary>Makes <paramref name="node"/> draw the same mask on every run (for gradient checks).</summary>
    internal static void FixMask(Node node) => s_fixedMasks.AddOrUpdate(node, node);

    /// <summary>The mask stream of <paramref name="node"/>: its seed (the "seed" attribute unless set) and the Philox counter offset of its next launch.</summary>
    internal static (ulong Seed, ulong Offset) StreamOf(Node node)
    {
        MaskStream stream = Stream(node);
        return (stream.Seed, stream.Offset);
    }

    /// <summary>Makes the next launch of <paramref name="node"/> draw from <paramref name="seed"/> at counter <paramref name="offset"/>.</summary>
    internal static void SetStream(Node node, ulong seed, ulong offset)
    {
        MaskStream stream = Stream(node);
        (stream.Seed, stream.Offset) = (seed, offset);
    }

    private static MaskStream Stream(Node node) => s_streams.GetValue(node, n => new MaskStream { Seed = (ulong)n.GetInt("seed") });

    /// <inheritdoc/>
    public override string Name => "Dropout";

    /// <inheritdoc/>
    public override int MinInputs => 1;

    /// <inheritdoc/>
    public override bool IsDeterministic => false;

    /// <inheritdoc/>
    public override int MaxInputs => 3;

    /// <inheritdoc/>
    public override IReadOnlyList<AttrSpec> Attributes { get; } = [new("seed", AttrKind.Int, 0L)];

    private static (double Ratio, bool Training) Mode(Node node)
    {
        double ratio = 0.5;
        bool training = false;
        if (node.Inputs.Length > 1)
        {
            Value r = node.Inputs[1];
            if (r.Kind != ValueKind.Constant || r.Data!.ElementCount != 1) throw new GraphValidationException($"{node}: ratio must be a constant scalar.", node.Name);
            using Tensor f64 = r.Data.Cast(DType.F64);
            ratio = f64.Item<double>();
        }

        if (node.Inputs.Length > 2)
        {
            Value t = node.Inputs[2];
            if (t.Kind != ValueKind.Constant || t.DType != DType.Bool || t.Data!.ElementCount != 1) throw new GraphValidationException($"{node}: training_mode must be a constant bool scalar.", node.Name);
            training = t.Data.Item<bool>();
        }

        if (ratio is < 0 or >= 1) throw new GraphValidationException($"{node}: ratio {ratio} is outside [0, 1).", node.Name);
        return (ratio, training);
    }

    /// <inheritdoc/>
    /// <remarks>An exported model is for inference, where dropout is the identity: the node is left out (its input passes on).</remarks>
    public override void ExportOnnx(OnnxExportContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Node.Outputs.Length > 1 && context.IsOutputUsed(1))
        {
            throw context.Unsupported("its mask is read, and an inference model has no dropout mask");
        }

        context.Alias(0, context.Input(0));
    }

    /// <inheritdoc/>
    protected override TensorType[] Infer(InferContext context)
    {
        if (!context.Input(0).DType.IsFloatingPoint()) context.Fail($"data is {context.Input(0).DType.ShortName()}; it must be floating point");
        Mode(context.Node);
        return [context.Input(0), context.Input(0).WithDType(DType.Bool)];
    }

    /// <inheritdoc/>
    public override Value?[] Gradient(GradientContext c)
    {
        (double ratio, bool training) = Mode(c.Node);
        Value?[] rest = new Value?[c.Node.Inputs.Length - 1];
        if (!training || ratio == 0) return [c.Dy(), .. rest];
        return [c.Dy()! * c.Y(1).Cast(c.X(0).DType) * (1 / (1 - ratio)), .. rest];
    }

    /// <inheritdoc/>
    public override KernelLaunch Bind(BindContext context)
    {
        (double ratio, bool training) = Mode(context.Node);
        long count = context.InputShape(0).Aggregate(1L, (p, d) => p * d);
        return new DropoutLaunch(training ? ratio : 0, s_fixedMasks.TryGetValue(context.Node, out _) ? 0 : (ulong)count, Stream(context.Node),
            context.Input(0), context.Output(0), context.Output(1));
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Training mode, ratio 0.3, seed 7 and a fixed mask: the finite differences then see y = x mask / 0.7, so they check
    /// that the gradient is mask / (1 - p) elementwise. The mask output is bool and not checked.
    /// </remarks>
    public override GradCheckCase? GradCheckCase => new([[4, 8]], Build: (g, x) =>
    {
        Value[] outputs = g.Apply("Dropout", [x[0], g.Scalar(0.3, DType.F64), g.Constant(Tensor.FromArray(new[] { true }, new long[0]).MoveToOuterScope())],
            new Dictionary<string, object> { ["seed"] = 7L });
        FixMask(outputs[0].Producer!);
        return [outputs[0]];
    });

    private sealed class MaskStream
    {
        public ulong Seed;
        public ulong Offset;
    }

    private sealed class DropoutLaunch(double p, ulong count, MaskStream stream, TensorDesc* x, TensorDesc* y, TensorDesc* mask) : KernelLaunch
    {
        public override void Launch(DeviceHandle device)
        {
            NativeMethods.Check(NativeMethods.Dropout(device, p, stream.Seed, stream.Offset, x, y, mask));
            stream.Offset += count;
        }
    }
}

using Myelin.Graphs;

namespace Myelin.Ops;

/// <summary>
/// The cell updates shared by the ONNX recurrent ops and the PyTorch-style layers of <c>Myelin.NN</c>, which differ
/// only in how the gate pre-activations are laid out and computed.
/// </summary>
internal static class RecurrentCells
{
    /// <summary>LSTM: c' = f c + i g, h' = o act(c'), from the activated gates; <paramref name="output"/> maps c' to o (the peephole reads c').</summary>
    public static (Value Hidden, Value Cell) Lstm(Value input, Value forget, Value candidate, Func<Value, Value> output, Value cell, Func<Value, Value> cellActivation)
    {
        Value c = (forget * cell) + (input * candidate);
        return (output(c) * cellActivation(c), c);
    }

    /// <summary>GRU: h' = (1 - z) n + z h, written n + z (h - n).</summary>
    public static Value Gru(Value update, Value candidate, Value hidden) => candidate + (update * (hidden - candidate));
}

/// <summary>
/// One activation an ONNX recurrent op may name in its <c>activations</c> attribute, with the defaults of the
/// alpha and beta it reads (null where it reads none).
/// </summary>
internal sealed record RecurrentActivation(double? Alpha, double? Beta, Func<Value, double, double, Value> Apply)
{
    private static Dictionary<string, object> Attrs(double alpha) => new() { ["alpha"] = alpha };

    /// <summary>The activations the ONNX spec lists, by lower-case name.</summary>
    public static IReadOnlyDictionary<string, RecurrentActivation> Known { get; } = new Dictionary<string, RecurrentActivation>(StringComparer.OrdinalIgnoreCase)
    {
        ["Relu"] = new(null, null, (x, _, _) => x.Relu()),
        ["Tanh"] = new(null, null, (x, _, _) => x.Tanh()),
        ["Sigmoid"] = new(null, null, (x, _, _) => x.Sigmoid()),
        ["Softsign"] = new(null, null, (x, _, _) => x.Apply("Softsign")),
        ["Softplus"] = new(null, null, (x, _, _) => x.Apply("Softplus")),
        ["Affine"] = new(1.0, 0.0, (x, a, b) => (x * a) + b),
        ["LeakyRelu"] = new(0.01, null, (x, a, _) => x.Graph.Apply("LeakyRelu", [x], Attrs(a))[0]),
        ["Elu"] = new(1.0, null, (x, a, _) => x.Graph.Apply("Elu", [x], Attrs(a))[0]),
        ["ThresholdedRelu"] = new(1.0, null, (x, a, _) => x.Graph.Apply("Where", [x.Apply("Greater", x.Graph.Scalar(a, x.DType)), x, x.Graph.Scalar(0, x.DType)])[0]),
        ["ScaledTanh"] = new(1.0, 1.0, (x, a, b) => (x * b).Tanh() * a),
        ["HardSigmoid"] = new(0.2, 0.5, (x, a, b) => x.Graph.Apply("HardSigmoid", [x], new Dictionary<string, object> { ["alpha"] = a, ["beta"] = b })[0]),
    };
}

/// <summary>
/// The ONNX recurrent ops RNN, GRU and LSTM (opset 7 to 14 semantics), as composites unrolled over the time axis,
/// which must therefore be known. Inputs X [T, N, in] ([N, T, in] with layout 1), W [D, gates * hidden, in],
/// R [D, gates * hidden, hidden], and the optional B [D, 2 * gates * hidden] (W's bias, then R's), sequence_lens [N]
/// (i32 or i64), initial_h [D, N, hidden] ([N, D, hidden] with layout 1) and, for LSTM, initial_c and P; an omitted
/// optional input may be an empty name. Outputs Y [T, D, N, hidden] ([N, T, D, hidden]), Y_h [D, N, hidden]
/// ([N, D, hidden]) and, for LSTM, Y_c. D is 2 for direction "bidirectional" (the forward pass first), else 1.
/// With sequence_lens, steps at or past a sequence's length leave its state unchanged and give zeros in Y, so Y_h
/// is the state after the last valid step (after step 0, for the reverse direction). <c>clip</c> bounds every
/// activation's input to ±clip. Activations default to the spec's and may be any the spec lists, case-insensitive.
/// </summary>
public abstract class OnnxRecurrentOp(string name, int gates, string[] defaultActivations) : CompositeOp
{
    private IReadOnlyList<AttrSpec>? _attributes;

    /// <inheritdoc/>
    public override string Name => name;

    /// <inheritdoc/>
    public override int SinceVersion => 7;

    /// <inheritdoc/>
    public override int MinInputs => 3;

    /// <inheritdoc/>
    public override int MaxInputs => 6;

    /// <inheritdoc/>
    public override bool TakesOmittedInputs => true;

    /// <inheritdoc/>
    public sealed override IReadOnlyList<AttrSpec> Attributes => _attributes ??=
    [
        new("activation_alpha", AttrKind.Floats, Optional: true), new("activation_beta", AttrKind.Floats, Optional: true),
        new("activations", AttrKind.Strings, Optional: true), new("clip", AttrKind.Float, Optional: true),
        new("direction", AttrKind.String, "forward"), new("hidden_size", AttrKind.Int, Optional: true), new("layout", AttrKind.Int, 0L),
        .. CellAttributes,
    ];

    /// <summary>Attributes of one cell kind (GRU's linear_before_reset, LSTM's input_forget).</summary>
    protected virtual IReadOnlyList<AttrSpec> CellAttributes => [];

    /// <summary>Whether the cell carries a cell state (LSTM).</summary>
    protected virtual bool HasCellState => false;

    /// <summary>What one direction's steps read: its weights, biases and activations.</summary>
    /// <param name="Recurrent">R of the direction, [gates * hidden, hidden].</param>
    /// <param name="RecurrentBias">R's bias [gates * hidden], or null.</param>
    /// <param name="Peepholes">LSTM's P of the direction [3 * hidden], or null.</param>
    /// <param name="Activations">The direction's activations, in the spec's order (f, g, h).</param>
    /// <param name="HiddenSize">Features of the state.</param>
    /// <param name="Attributes">The node's attributes.</param>
    protected sealed record Direction(Value Recurrent, Value? RecurrentBias, Value? Peepholes, Func<Value, Value>[] Activations, long HiddenSize,
        IReadOnlyDictionary<string, object> Attributes)
    {
        /// <summary>Block <paramref name="index"/> of stacked gates along the last axis.</summary>
        public Value Gate(Value stacked, int index) => SliceOp.Slice(stacked, index * HiddenSize, (index + 1) * HiddenSize, axis: stacked.Rank - 1);
    }

    /// <summary>
    /// One time step: <paramref name="inputGates"/> is x_t W^T + Wb, [N, gates * hidden] in ONNX's gate order;
    /// <paramref name="hidden"/> and <paramref name="cell"/> are the previous states [N, hidden]. Returns the new states.
    /// </summary>
    protected abstract (Value Hidden, Value? Cell) Step(Value inputGates, Value hidden, Value? cell, Direction direction);

    /// <summary>Inputs the cell kind reads beyond the six shared ones (LSTM's initial_c and P), validated against [D, N, hidden] and [D, 3 hidden].</summary>
    protected virtual void CheckCellInputs(Value[] inputs, long directions, Dim batch, long hidden, int layout, InferContext context)
    {
    }

    /// <inheritdoc/>
    public override Value[] Expand(Graph graph, Value[] inputs, IReadOnlyDictionary<string, object> attributes, InferContext context)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(attributes);
        ArgumentNullException.ThrowIfNull(context);
        Value x = inputs[0], w = inputs[1], r = inputs[2];
        Value? bias = OptionalInput(inputs, 3), lengths = OptionalInput(inputs, 4), initialHidden = OptionalInput(inputs, 5);

        string direction = (string)attributes["direction"];
        int directions = direction switch
        {
            "forward" or "reverse" => 1,
            "bidirectional" => 2,
            _ => throw new GraphValidationException($"{context.Node}: direction \"{direction}\" is not forward, reverse or bidirectional.", context.Node.Name),
        };
        long layout = (long)attributes["layout"];
        if (layout is not (0 or 1)) context.Fail($"layout {layout} is not 0 or 1");
        int timeAxis = (int)layout, batchAxis = 1 - (int)layout;

        if (!x.DType.IsFloatingPoint()) context.Fail($"X is {x.DType.ShortName()}; the op needs floating point");
        if (x.Rank != 3) context.Fail($"X must be 3-d [{(layout == 0 ? "seq_length, batch_size" : "batch_size, seq_length")}, input_size] but is {x.Type.ShapeText}");
        Dim time = x.Type[timeAxis], batch = x.Type[batchAxis], features = x.Type[2];
        if (!time.IsKnown) context.Fail($"needs a known sequence length to unroll over time, but X {x.Type.ShapeText} has a symbolic one ({time})");
        if (time.Value == 0) context.Fail($"X {x.Type.ShapeText} is an empty sequence");
        if (r.Rank != 3 || !r.Type[2].IsKnown) context.Fail($"R must be 3-d [num_directions, {gates} * hidden_size, hidden_size] of known hidden_size but is {r.Type.ShapeText}");
        long hidden = attributes.TryGetValue("hidden_size", out object? given) ? (long)given : r.Type[2].Value;
        if (hidden <= 0) context.Fail($"hidden_size {hidden} must be positive");

        void Require(Value? value, string what, params Dim[] dims)
        {
            if (value is null) return;
            if (value.DType != x.DType || !value.Type.Dims.SequenceEqual(dims))
            {
                context.Fail($"{what} must be {x.DType.ShortName()} [{string.Join(", ", dims)}] but is {value.Type}");
            }
        }

        Require(w, "W", directions, gates * hidden, features);
        Require(r, "R", directions, gates * hidden, hidden);
        Require(bias, "B", directions, 2 * gates * hidden);
        Require(initialHidden, "initial_h", layout == 0 ? [directions, batch, hidden] : [batch, directions, hidden]);
        if (lengths is not null && (lengths.DType is not (DType.I32 or DType.I64) || lengths.Rank != 1 || lengths.Type[0] != batch))
        {
            context.Fail($"sequence_lens must be i32 or i64 [{batch}] but is {lengths.Type}");
        }

        CheckCellInputs(inputs, directions, batch, hidden, (int)layout, context);
        Func<Value, Value>[] activations = Activations(attributes, directions, context);
        int perDirection = defaultActivations.Length;

        // Time-major from here on: each step reads a slice of one input projection.
        Value timeMajor = layout == 0 ? x : x.Transpose(1, 0, 2);
        var outputs = new List<Value>[directions];
        var finalHidden = new Value[directions];
        var finalCell = new Value?[directions];
        for (int d = 0; d < directions; d++)
        {
            Value? recurrentBias = bias is null ? null : SliceOp.Slice(Take(bias, d, 0), gates * hidden, 2 * gates * hidden, axis: 0);
            var cell = new Direction(Take(r, d, 0), recurrentBias, PeepholesOf(inputs, d), activations[(d * perDirection)..((d + 1) * perDirection)], hidden, attributes);
            Value inputGates = timeMajor.MatMul(Take(w, d, 0).Transpose(1, 0));
            if (bias is not null) inputGates += SliceOp.Slice(Take(bias, d, 0), 0, gates * hidden, axis: 0);
            bool reverse = direction == "reverse" || d == 1;
            (outputs[d], finalHidden[d], finalCell[d]) = Unroll(graph, inputGates, time.Value, reverse, cell,
                initialHidden is null ? null : Take(initialHidden, d, (int)layout), InitialCellOf(inputs, d, (int)layout), lengths);
        }

        // Y [T, D, N, hidden]: per direction the steps stacked on a new axis 0, then the directions on axis 1.
        Value y = Concat([.. outputs.Select(steps => Unsqueeze(Concat([.. steps.Select(s => Unsqueeze(s, 0))], 0), 1))], 1);
        Value yH = Concat([.. finalHidden.Select(h => Unsqueeze(h, 0))], 0);
        Value? yC = HasCellState ? Concat([.. finalCell.Select(c => Unsqueeze(c!, 0))], 0) : null;
        if (layout == 1)
        {
            y = y.Transpose(2, 0, 1, 3);
            yH = yH.Transpose(1, 0, 2);
            yC = yC?.Transpose(1, 0, 2);
        }

        return yC is null ? [y, yH] : [y, yH, yC];
    }

    /// <summary>LSTM's initial cell state of direction <paramref name="direction"/> [N, hidden], or null.</summary>
    protected virtual Value? InitialCellOf(Value[] inputs, int direction, int layout) => null;

    /// <summary>LSTM's peepholes of direction <paramref name="direction"/> [3 * hidden], or null.</summary>
    protected virtual Value? PeepholesOf(Value[] inputs, int direction) => null;

    /// <summary>Entry <paramref name="index"/> of <paramref name="x"/> along <paramref name="axis"/>, the axis dropped.</summary>
    protected static Value Take(Value x, int index, int axis)
    {
        ArgumentNullException.ThrowIfNull(x);
        return x.Graph.Apply("Squeeze", [SliceOp.Slice(x, index, index + 1, axis: axis), Axes(x.Graph, axis)])[0];
    }

    /// <summary>The input at <paramref name="index"/> unless it is missing or the omitted stand-in.</summary>
    protected static Value? OptionalInput(Value[] inputs, int index)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        return index < inputs.Length && !IsOmitted(inputs[index]) ? inputs[index] : null;
    }

    private (List<Value> Outputs, Value Hidden, Value? Cell) Unroll(Graph graph, Value inputGates, long steps, bool reverse, Direction cell,
        Value? hidden, Value? state, Value? lengths)
    {
        Value[] stepGates = graph.Apply("Split", [inputGates], new Dictionary<string, object> { ["axis"] = 0L, ["num_outputs"] = steps });
        var outputs = new Value[steps];
        for (long s = 0; s < steps; s++)
        {
            long t = reverse ? steps - 1 - s : s;
            Value gatesAtT = Take(stepGates[t], 0, 0);
            hidden ??= Zeros(graph, cell.Gate(gatesAtT, 0));
            if (HasCellState) state ??= Zeros(graph, cell.Gate(gatesAtT, 0));
            (Value newHidden, Value? newState) = Step(gatesAtT, hidden, state, cell);
            if (lengths is null)
            {
                (hidden, state) = (newHidden, newState);
                outputs[t] = newHidden;
                continue;
            }

            // Steps at or past a sequence's length keep its state and output zeros.
            Value valid = Unsqueeze(graph.Scalar(t, lengths.DType).Apply("Less", lengths), 1);
            hidden = graph.Apply("Where", [valid, newHidden, hidden])[0];
            if (newState is not null) state = graph.Apply("Where", [valid, newState, state!])[0];
            outputs[t] = graph.Apply("Where", [valid, newHidden, graph.Scalar(0, newHidden.DType)])[0];
        }

        return ([.. outputs], hidden!, state);
    }

    private Func<Value, Value>[] Activations(IReadOnlyDictionary<string, object> attributes, int directions, InferContext context)
    {
        string[] names = attributes.TryGetValue("activations", out object? given) ? (string[])given
            : [.. Enumerable.Repeat(defaultActivations, directions).SelectMany(a => a)];
        if (names.Length != defaultActivations.Length * directions)
        {
            context.Fail($"activations lists {names.Length} functions but {Name} with {directions} direction(s) needs {defaultActivations.Length * directions} ({string.Join(", ", defaultActivations)} per direction)");
        }

        double[] alphas = attributes.TryGetValue("activation_alpha", out object? a) ? (double[])a : [];
        double[] betas = attributes.TryGetValue("activation_beta", out object? b) ? (double[])b : [];
        int nextAlpha = 0, nextBeta = 0;
        double? clip = attributes.TryGetValue("clip", out object? c) ? (double)c : null;
        if (clip is <= 0) context.Fail($"clip {clip} must be positive");
        var result = new Func<Value, Value>[names.Length];
        for (int i = 0; i < names.Length; i++)
        {
            if (!RecurrentActivation.Known.TryGetValue(names[i], out RecurrentActivation? activation))
            {
                context.Fail($"activation '{names[i]}' is not supported; use one of {string.Join(", ", RecurrentActivation.Known.Keys)}");
            }

            // The alphas and betas are consumed in order by the activations that take them.
            double alpha = activation!.Alpha is { } defaultAlpha ? (nextAlpha < alphas.Length ? alphas[nextAlpha++] : defaultAlpha) : 0;
            double beta = activation.Beta is { } defaultBeta ? (nextBeta < betas.Length ? betas[nextBeta++] : defaultBeta) : 0;
            result[i] = clip is { } bound
                ? v => activation.Apply(ClipOp.Clamp(v, v.Graph.Scalar(-bound, v.DType), v.Graph.Scalar(bound, v.DType)), alpha, beta)
                : v => activation.Apply(v, alpha, beta);
        }

        return result;
    }

    private static Value Zeros(Graph graph, Value like) => graph.Apply("ExpandLike", [graph.Scalar(0, like.DType), like])[0];

    private static Value Axes(Graph graph, long axis) => graph.Constant(Tensor.FromArray(new[] { axis }).MoveToOuterScope());

    private static Value Unsqueeze(Value x, long axis) => x.Graph.Apply("Unsqueeze", [x, Axes(x.Graph, axis)])[0];

    private static Value Concat(Value[] parts, long axis) => parts.Length == 1 ? parts[0]
        : parts[0].Graph.Apply("Concat", parts, new Dictionary<string, object> { ["axis"] = axis })[0];

    /// <summary>h R^T + Rb for the gate blocks [first, first + count) of <paramref name="direction"/>, one Gemm.</summary>
    protected static Value HiddenProjection(Value hidden, Direction direction, int first, int count)
    {
        ArgumentNullException.ThrowIfNull(hidden);
        ArgumentNullException.ThrowIfNull(direction);
        long h = direction.HiddenSize;
        bool all = first == 0 && count * h == direction.Recurrent.Type[0].Value;
        Value weight = all ? direction.Recurrent : SliceOp.Slice(direction.Recurrent, first * h, (first + count) * h, axis: 0);
        Value? bias = direction.RecurrentBias is null ? null : all ? direction.RecurrentBias : SliceOp.Slice(direction.RecurrentBias, first * h, (first + count) * h, axis: 0);
        return hidden.Graph.Apply("Gemm", bias is null ? [hidden, weight] : [hidden, weight, bias], new Dictionary<string, object> { ["transB"] = 1L })[0];
    }

    /// <inheritdoc/>
    /// <remarks>A bidirectional case with biases, initial state and sequence lengths 3 and 1 of 3 steps.</remarks>
    public override GradCheckCase? GradCheckCase => new(
        [[3, 2, 2], [2, gates * 2, 2], [2, gates * 2, 2], [2, 4 * gates], [2, 2, 2]],
        Build: (g, x) => g.Apply(Name, [x[0], x[1], x[2], x[3], g.Constant(Tensor.FromArray(new[] { 3, 1 }).MoveToOuterScope()), x[4], .. GradCheckCellInputs(g, x)],
            new Dictionary<string, object> { ["direction"] = "bidirectional", ["hidden_size"] = 2L }));

    /// <summary>Extra gradient-check inputs of the cell kind (LSTM's initial_c and P, drawn as constants).</summary>
    protected virtual Value[] GradCheckCellInputs(Graph graph, Value[] inputs) => [];
}

/// <summary>ONNX RNN: H_t = f(x_t W^T + Wb + H_{t-1} R^T + Rb), f Tanh by default. See <see cref="OnnxRecurrentOp"/>.</summary>
public sealed class OnnxRnnOp() : OnnxRecurrentOp("RNN", 1, ["Tanh"])
{
    /// <inheritdoc/>
    protected override (Value Hidden, Value? Cell) Step(Value inputGates, Value hidden, Value? cell, Direction direction) =>
        (direction.Activations[0](inputGates + HiddenProjection(hidden, direction, 0, 1)), null);
}

/// <summary>
/// ONNX GRU, gates z, r, h: z = f(..z), r = f(..r), h~ = g(x Wh^T + Wbh + (r H) Rh^T + Rbh), or with linear_before_reset
/// g(x Wh^T + Wbh + r (H Rh^T + Rbh)) (PyTorch's form); H' = (1 - z) h~ + z H; f Sigmoid and g Tanh by default.
/// See <see cref="OnnxRecurrentOp"/>.
/// </summary>
public sealed class OnnxGruOp() : OnnxRecurrentOp("GRU", 3, ["Sigmoid", "Tanh"])
{
    /// <inheritdoc/>
    protected override IReadOnlyList<AttrSpec> CellAttributes { get; } = [new("linear_before_reset", AttrKind.Int, 0L)];

    /// <inheritdoc/>
    protected override (Value Hidden, Value? Cell) Step(Value inputGates, Value hidden, Value? cell, Direction direction)
    {
        Value zr = HiddenProjection(hidden, direction, 0, 2);
        Value z = direction.Activations[0](direction.Gate(inputGates, 0) + direction.Gate(zr, 0));
        Value r = direction.Activations[0](direction.Gate(inputGates, 1) + direction.Gate(zr, 1));
        Value recurrent = (long)direction.Attributes["linear_before_reset"] != 0
            ? r * HiddenProjection(hidden, direction, 2, 1)
            : HiddenProjection(r * hidden, direction, 2, 1);
        Value candidate = direction.Activations[1](direction.Gate(inputGates, 2) + recurrent);
        return (RecurrentCells.Gru(z, candidate, hidden), null);
    }
}

/// <summary>
/// ONNX LSTM, gates i, o, f, c with peepholes P (i, o, f): i = f(..i + Pi C), f = f(..f + Pf C), c~ = g(..c),
/// C' = f C + i c~, o = f(..o + Po C'), H' = o h(C'); f Sigmoid, g and h Tanh by default; input_forget = 1 couples
/// the forget gate to 1 - i. Extra inputs initial_c [D, N, hidden] and P [D, 3 hidden]; extra output Y_c.
/// See <see cref="OnnxRecurrentOp"/>.
/// </summary>
public sealed class OnnxLstmOp() : OnnxRecurrentOp("LSTM", 4, ["Sigmoid", "Tanh", "Tanh"])
{
    /// <inheritdoc/>
    public override int MaxInputs => 8;

    /// <inheritdoc/>
    protected override bool HasCellState => true;

    /// <inheritdoc/>
    protected override IReadOnlyList<AttrSpec> CellAttributes { get; } = [new("input_forget", AttrKind.Int, 0L)];

    /// <inheritdoc/>
    protected override void CheckCellInputs(Value[] inputs, long directions, Dim batch, long hidden, int layout, InferContext context)
    {
        Value x = inputs[0];
        void Require(Value? value, string what, Dim[] dims)
        {
            if (value is not null && (value.DType != x.DType || !value.Type.Dims.SequenceEqual(dims))) context.Fail($"{what} must be {x.DType.ShortName()} [{string.Join(", ", dims)}] but is {value.Type}");
        }

        Require(OptionalInput(inputs, 6), "initial_c", layout == 0 ? [directions, batch, hidden] : [batch, directions, hidden]);
        Require(OptionalInput(inputs, 7), "P", [directions, 3 * hidden]);
    }

    /// <inheritdoc/>
    protected override Value? InitialCellOf(Value[] inputs, int direction, int layout) =>
        OptionalInput(inputs, 6) is { } c ? Take(c, direction, layout) : null;

    /// <inheritdoc/>
    protected override Value? PeepholesOf(Value[] inputs, int direction) =>
        OptionalInput(inputs, 7) is { } p ? Take(p, direction, 0) : null;

    /// <inheritdoc/>
    protected override (Value Hidden, Value? Cell) Step(Value inputGates, Value hidden, Value? cell, Direction direction)
    {
        Value gates = inputGates + HiddenProjection(hidden, direction, 0, 4);
        Value? p = direction.Peepholes;
        Value Peephole(Value pre, int index, Value state) => p is null ? pre : pre + (direction.Gate(p, index) * state);
        Func<Value, Value> f = direction.Activations[0], g = direction.Activations[1], h = direction.Activations[2];
        Value i = f(Peephole(direction.Gate(gates, 0), 0, cell!));
        Value forget = (long)direction.Attributes["input_forget"] != 0 ? 1.0 - i : f(Peephole(direction.Gate(gates, 2), 2, cell!));
        return RecurrentCells.Lstm(i, forget, g(direction.Gate(gates, 3)), c => f(Peephole(direction.Gate(gates, 1), 1, c)), cell!, h);
    }

    /// <inheritdoc/>
    protected override Value[] GradCheckCellInputs(Graph graph, Value[] inputs) =>
        [inputs[4] * 0.5, graph.Constant(Tensor.FromArray(new[] { 0.3, -0.2, 0.1, 0.4, -0.1, 0.2, 0.5, 0.1, -0.3, 0.2, 0.3, -0.4 }, new Shape(2, 6)).Cast(inputs[0].DType).MoveToOuterScope())];
}

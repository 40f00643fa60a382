using Myelin.Graphs;
using Myelin.Ops;

namespace Myelin.NN;

/// <summary>
/// What a recurrent layer computes: the output sequence of the last layer (all directions concatenated on the
/// feature axis), and the final hidden state (and, for <see cref="Lstm"/>, the final cell state) of every layer and
/// direction, stacked as [layers * directions, N, hidden] in PyTorch's order (layer 0 forward, layer 0 reverse, ...).
/// </summary>
/// <param name="Output">[T, N, directions * hidden], or [N, T, directions * hidden] when batch first.</param>
/// <param name="Hidden">h_n, [layers * directions, N, hidden].</param>
/// <param name="Cell">c_n for <see cref="Lstm"/>, null for the others.</param>
public sealed record RecurrentResult(Value Output, Value Hidden, Value? Cell);

/// <summary>
/// The unrolling driver shared by <see cref="Rnn"/>, <see cref="Lstm"/> and <see cref="Gru"/>, with PyTorch's
/// semantics, parameter names and layouts: per layer k and direction, weight_ih_l{k} [gates * hidden, in],
/// weight_hh_l{k} [gates * hidden, hidden], bias_ih_l{k} and bias_hh_l{k} [gates * hidden], with the suffix
/// "_reverse" for the backward direction; all initialized uniform in ±1/sqrt(hidden).
/// The graph unrolls over time, so the sequence length must be known when the graph is built (the batch may be
/// symbolic). Per layer and direction, the input projection of all time steps is one GEMM; each step adds only
/// h W_hh^T. Dropout (training mode only) applies to the outputs of every layer but the last, as in PyTorch.
/// Inputs are batched: [T, N, features], or [N, T, features] when batch first (PyTorch's unbatched 2-d form is not
/// accepted; add a batch axis of 1).
/// </summary>
public abstract class RecurrentLayer : Layer
{
    private readonly List<(Tensor WeightIh, Tensor WeightHh, Tensor? BiasIh, Tensor? BiasHh)> _weights = [];

    /// <summary>Creates the parameters of every layer and direction.</summary>
    /// <param name="gates">Gate blocks stacked in the weights (1 for RNN, 4 for LSTM, 3 for GRU).</param>
    /// <param name="inputSize">Features of the input.</param>
    /// <param name="hiddenSize">Features of the hidden state.</param>
    /// <param name="numLayers">Stacked layers; layer k &gt; 0 reads layer k - 1's output.</param>
    /// <param name="bias">Whether to learn bias_ih and bias_hh.</param>
    /// <param name="batchFirst">Inputs and outputs are [N, T, features] rather than [T, N, features].</param>
    /// <param name="dropout">Dropout probability on the outputs of every layer but the last, in training mode.</param>
    /// <param name="bidirectional">Adds a direction that reads the sequence backwards.</param>
    /// <param name="dtype">Parameter dtype.</param>
    /// <param name="generator">Random source (default <see cref="Generator.Default"/>).</param>
    protected RecurrentLayer(int gates, long inputSize, long hiddenSize, int numLayers, bool bias, bool batchFirst, double dropout,
        bool bidirectional, DType dtype, Generator? generator)
    {
        string name = GetType().Name;
        if (inputSize <= 0) throw new ArgumentOutOfRangeException(nameof(inputSize), $"{name}: input_size ({inputSize}) must be positive.");
        if (hiddenSize <= 0) throw new ArgumentOutOfRangeException(nameof(hiddenSize), $"{name}: hidden_size ({hiddenSize}) must be positive.");
        if (numLayers <= 0) throw new ArgumentOutOfRangeException(nameof(numLayers), $"{name}: num_layers ({numLayers}) must be positive.");
        if (dropout is < 0 or >= 1 || double.IsNaN(dropout))
        {
            throw new ArgumentOutOfRangeException(nameof(dropout), $"{name}: dropout ({dropout}) must be in [0, 1).");
        }

        InputSize = inputSize;
        HiddenSize = hiddenSize;
        NumLayers = numLayers;
        BatchFirst = batchFirst;
        Dropout = dropout;
        Bidirectional = bidirectional;
        var init = new UniformInitializer(-1 / Math.Sqrt(hiddenSize), 1 / Math.Sqrt(hiddenSize));
        for (int layer = 0; layer < numLayers; layer++)
        {
            long layerInput = layer == 0 ? inputSize : hiddenSize * Directions;
            for (int direction = 0; direction < Directions; direction++)
            {
                string suffix = $"_l{layer}{(direction == 1 ? "_reverse" : "")}";
                Tensor weightIh = AddParameter("weight_ih" + suffix, init.Create([gates * hiddenSize, layerInput], dtype, generator));
                Tensor weightHh = AddParameter("weight_hh" + suffix, init.Create([gates * hiddenSize, hiddenSize], dtype, generator));
                Tensor? biasIh = bias ? AddParameter("bias_ih" + suffix, init.Create([gates * hiddenSize], dtype, generator)) : null;
                Tensor? biasHh = bias ? AddParameter("bias_hh" + suffix, init.Create([gates * hiddenSize], dtype, generator)) : null;
                _weights.Add((weightIh, weightHh, biasIh, biasHh));
            }
        }
    }

    /// <summary>Features of the input.</summary>
    public long InputSize { get; }

    /// <summary>Features of the hidden state.</summary>
    public long HiddenSize { get; }

    /// <summary>Stacked layers.</summary>
    public int NumLayers { get; }

    /// <summary>Whether inputs and outputs are [N, T, features].</summary>
    public bool BatchFirst { get; }

    /// <summary>Dropout probability between stacked layers (training mode).</summary>
    public double Dropout { get; }

    /// <summary>Whether a second direction reads the sequence backwards.</summary>
    public bool Bidirectional { get; }

    /// <summary>1, or 2 when bidirectional.</summary>
    public int Directions => Bidirectional ? 2 : 1;

    /// <summary>Whether the cell carries a cell state besides the hidden state (LSTM).</summary>
    protected virtual bool HasCellState => false;

    /// <summary>
    /// Whether <see cref="Step"/> reads the two projections only through their sum, so that b_hh may join the input
    /// projection (then <c>hiddenGates</c> is h W_hh^T and <c>inputGates</c> carries b_ih + b_hh). GRU scales b_hn by r.
    /// </summary>
    protected virtual bool FoldsHiddenBias => true;

    /// <summary>
    /// One time step of the cell. <paramref name="inputGates"/> is x_t W_ih^T + b_ih and <paramref name="hiddenGates"/> is
    /// h W_hh^T + b_hh (b_hh moved to <paramref name="inputGates"/> where <see cref="FoldsHiddenBias"/>), both [1, N, gates * hidden] ([N, 1, gates * hidden] when batch first) with the gate blocks in
    /// PyTorch's order (read one with <see cref="Gate"/>); <paramref name="hidden"/> and <paramref name="cell"/> are the previous states, [1, N, hidden] (or [N, 1, hidden]).
    /// </summary>
    protected abstract (Value Hidden, Value? Cell) Step(Value inputGates, Value hiddenGates, Value hidden, Value? cell);

    /// <summary>Gate block <paramref name="index"/> of stacked gate pre-activations (a view).</summary>
    protected Value Gate(Value gates, int index) => SliceOp.Slice(gates, index * HiddenSize, (index + 1) * HiddenSize, axis: 2);

    /// <summary>
    /// Runs the layers over <paramref name="input"/> from the initial states <paramref name="initialHidden"/> (h0) and,
    /// for LSTM, <paramref name="initialCell"/> (c0), each [layers * directions, N, hidden]; zeros when null.
    /// </summary>
    /// <exception cref="GraphValidationException">The input or a state has the wrong rank, size, dtype, or a symbolic
    /// sequence length; the message names the layer.</exception>
    public RecurrentResult Run(Value input, Value? initialHidden = null, Value? initialCell = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        Graph graph = input.Graph;
        if (input.Rank != 3) Fail($"expects a 3-d input [{(BatchFirst ? "N, T" : "T, N")}, {InputSize}] but got {input.Type.ShapeText}");
        Dim time = input.Type[TimeAxis], features = input.Type[2];
        if (features.IsKnown && features.Value != InputSize) Fail($"expects {InputSize} input features but got {input.Type.ShapeText}");
        if (!time.IsKnown) Fail($"needs a known sequence length to unroll over time, but the input {input.Type.ShapeText} has a symbolic T ({time})");
        if (time.Value == 0) Fail($"got an empty sequence ({input.Type.ShapeText})");
        if (input.DType != _weights[0].WeightIh.DType) Fail($"has {_weights[0].WeightIh.DType.ShortName()} weights but the input is {input.DType.ShortName()}");
        if (HasCellState && (initialHidden is null) != (initialCell is null)) Fail("needs both initial states (h0 and c0) or neither");
        if (!HasCellState && initialCell is not null) Fail("has no cell state, but an initial cell state was given");

        // The time axis stays where the input has it: every step reads a slice of one projection and the outputs are
        // concatenated along it, so no sequence passes through a transposed view (only the small states do).
        Value x = input;
        Dim batch = input.Type[1 - TimeAxis];
        CheckState(initialHidden, "h0", batch, input.DType);
        CheckState(initialCell, "c0", batch, input.DType);

        var finalHidden = new List<Value>();
        var finalCell = new List<Value>();
        for (int layer = 0; layer < NumLayers; layer++)
        {
            if (layer > 0 && Dropout > 0 && IsTraining) x = SequenceOps.Dropout(x, Dropout, NodeName(graph, $"dropout_l{layer}"));
            var outputs = new Value[Directions];
            for (int direction = 0; direction < Directions; direction++)
            {
                int index = layer * Directions + direction;
                (outputs[direction], Value h, Value? c) = Unroll(x, index, direction == 1, StepState(initialHidden, index), StepState(initialCell, index), time.Value);
                finalHidden.Add(SwapStateLayout(h));
                if (c is not null) finalCell.Add(SwapStateLayout(c));
            }

            x = Directions == 1 ? outputs[0] : Concat(graph, outputs, 2, $"concat_l{layer}");
        }

        return new RecurrentResult(x, Concat(graph, finalHidden, 0, "h_n"), HasCellState ? Concat(graph, finalCell, 0, "c_n") : null);
    }

    /// <inheritdoc/>
    /// <remarks>The output sequence of <see cref="Run"/> from zero initial states.</remarks>
    protected override Value Build(Value input) => Run(input).Output;

    // One layer and direction over x [T, N, in] ([N, T, in] batch first): the output sequence [T, N, hidden] ([N, T, hidden])
    // and the final states in the step layout.
    private (Value Output, Value Hidden, Value? Cell) Unroll(Value x, int index, bool reverse, Value? h, Value? c, long steps)
    {
        Graph graph = x.Graph;
        (Tensor weightIh, Tensor weightHh, Tensor? biasIh, Tensor? biasHh) = _weights[index];
        string tag = $"l{index / Directions}{(reverse ? "_reverse" : "")}";
        // Where the cell only sums the two projections (LSTM, RNN), both biases join the input projection of all steps: one 2-d Gemm over the T * N rows, so the steps add no bias
        // and the biases' gradient is one column sum over those rows (per-step biases cost T sums of [N, gates * hidden]).
        // Split hands each step its slice of the input projection as a view, and its gradient is one Concat (per-step
        // slices would each pad a full-size gradient, and those T gradients would be summed).
        Tensor? stepBias = FoldsHiddenBias ? null : biasHh;
        Value? bias = (biasIh, FoldsHiddenBias ? biasHh : null) switch
        {
            (null, null) => null,
            (not null, null) => Use(graph, biasIh),
            (null, not null) => Use(graph, biasHh!),
            _ => graph.Apply("Add", [Use(graph, biasIh), Use(graph, biasHh!)], name: NodeName(graph, $"bias_{tag}"))[0],
        };
        Value rows = graph.Apply("Reshape", [x, GraphConstants.I64(graph, [-1, weightIh.Shape[1]])])[0];
        Value projected = Projection(graph, rows, Use(graph, weightIh), bias, $"input_proj_{tag}");
        long[] sequenceShape = BatchFirst ? [-1, steps, weightIh.Shape[0]] : [steps, -1, weightIh.Shape[0]];
        Value inputGates = graph.Apply("Reshape", [projected, GraphConstants.I64(graph, sequenceShape)])[0];
        Value[] stepInputGates = graph.Apply("Split", [inputGates], new Dictionary<string, object> { ["axis"] = (long)TimeAxis, ["num_outputs"] = steps },
            NodeName(graph, $"input_steps_{tag}"));

        var outputs = new Value[steps];
        for (long s = 0; s < steps; s++)
        {
            long t = reverse ? steps - 1 - s : s;
            Value stepGates = stepInputGates[t];
            h ??= Zeros(graph, Gate(stepGates, 0));
            if (HasCellState) c ??= Zeros(graph, Gate(stepGates, 0));
            // A 2-d Gemm on the state's rows: its weight gradient is one GEMM, where a 3-d MatMul's is a batched product reduced afterwards.
            Value hiddenGates = Unsqueeze(Projection(graph, Squeeze(h), Use(graph, weightHh), stepBias is null ? null : Use(graph, stepBias), $"hidden_proj_{tag}_t{t}"));
            (h, c) = Step(stepGates, hiddenGates, h, c);
            outputs[t] = h;
        }

        return (Concat(graph, outputs, TimeAxis, $"output_{tag}"), h!, c);
    }

    private int TimeAxis => BatchFirst ? 1 : 0;

    // rows W^T + b as one Gemm (rows [N, features], weight [gates * hidden, features]).
    private Value Projection(Graph graph, Value rows, Value weight, Value? bias, string what) => graph.Apply("Gemm",
        bias is null ? [rows, weight] : [rows, weight, bias],
        new Dictionary<string, object> { ["transB"] = 1L }, NodeName(graph, what))[0];

    // A state or step value in the step layout ([1, N, features], or [N, 1, features] batch first) to rows [N, features], and back.
    private Value Squeeze(Value x) => x.Graph.Apply("Squeeze", [x, Axes(x.Graph)])[0];

    private Value Unsqueeze(Value rows) => rows.Graph.Apply("Unsqueeze", [rows, Axes(rows.Graph)])[0];

    private Value Axes(Graph graph) => graph.Constant(Tensor.FromArray(new long[] { TimeAxis }).MoveToOuterScope());

    // Entry `index` of a stacked state [layers * directions, N, hidden] in the step layout.
    private Value? StepState(Value? stacked, int index) => stacked is null ? null : SwapStateLayout(SliceOp.Slice(stacked, index, index + 1, axis: 0));

    // [1, N, hidden] (stacked layout) to and from [N, 1, hidden] (the step layout when batch first).
    private Value SwapStateLayout(Value state) => BatchFirst ? state.Transpose(1, 0, 2) : state;

    private static Value Zeros(Graph graph, Value like) => graph.Apply("ExpandLike", [graph.Scalar(0, like.DType), like])[0];

    private Value Concat(Graph graph, IReadOnlyList<Value> parts, long axis, string what) => parts.Count == 1 ? parts[0]
        : graph.Apply("Concat", [.. parts], new Dictionary<string, object> { ["axis"] = axis }, NodeName(graph, what))[0];

    private void CheckState(Value? state, string name, Dim batch, DType dtype)
    {
        if (state is null) return;
        long layers = NumLayers * Directions;
        bool fits = state.Rank == 3 && state.DType == dtype && state.Type[0] == Dim.Of(layers) && state.Type[1] == batch && state.Type[2] == Dim.Of(HiddenSize);
        if (!fits) Fail($"expects the initial state {name} as {dtype.ShortName()} [{layers}, {batch}, {HiddenSize}] but got {state.Type}");
    }

    private void Fail(string message) => throw new GraphValidationException($"{DisplayName}: {message}.");
}

/// <summary>
/// Elman RNN (PyTorch's RNN): h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), act tanh or relu. Layout and
/// options as <see cref="RecurrentLayer"/>.
/// </summary>
public sealed class Rnn : RecurrentLayer
{
    /// <summary>Creates the layer; <paramref name="nonlinearity"/> is "tanh" (default) or "relu".</summary>
    /// <param name="inputSize">Features of the input.</param>
    /// <param name="hiddenSize">Features of the hidden state.</param>
    /// <param name="numLayers">Stacked layers.</param>
    /// <param name="nonlinearity">"tanh" or "relu".</param>
    /// <param name="bias">Whether to learn bias_ih and bias_hh.</param>
    /// <param name="batchFirst">Inputs and outputs are [N, T, features] rather than [T, N, features].</param>
    /// <param name="dropout">Dropout probability between stacked layers, in training mode.</param>
    /// <param name="bidirectional">Adds a direction that reads the sequence backwards.</param>
    /// <param name="dtype">Parameter dtype.</param>
    /// <param name="generator">Random source (default <see cref="Generator.Default"/>).</param>
    /// <exception cref="ArgumentException">An unknown nonlinearity.</exception>
    public Rnn(long inputSize, long hiddenSize, int numLayers = 1, string nonlinearity = "tanh", bool bias = true, bool batchFirst = false,
        double dropout = 0, bool bidirectional = false, DType dtype = DType.F32, Generator? generator = null)
        : base(1, inputSize, hiddenSize, numLayers, bias, batchFirst, dropout, bidirectional, dtype, generator)
    {
        Nonlinearity = nonlinearity switch
        {
            "tanh" or "relu" => nonlinearity,
            _ => throw new ArgumentException($"{DisplayName}: unknown nonlinearity '{nonlinearity}'; use \"tanh\" or \"relu\".", nameof(nonlinearity)),
        };
    }

    /// <summary>"tanh" or "relu".</summary>
    public string Nonlinearity { get; }

    /// <inheritdoc/>
    protected override (Value Hidden, Value? Cell) Step(Value inputGates, Value hiddenGates, Value hidden, Value? cell)
    {
        Value pre = inputGates + hiddenGates;
        return (Nonlinearity == "tanh" ? pre.Tanh() : pre.Relu(), null);
    }
}

/// <summary>
/// Long short-term memory (PyTorch's LSTM), gates stacked i, f, g, o: c_t = f c_{t-1} + i g, h_t = o tanh(c_t), with
/// i, f, o sigmoid and g tanh. Layout and options as <see cref="RecurrentLayer"/>; <see cref="RecurrentResult.Cell"/>
/// holds c_n. (PyTorch's proj_size is not supported.)
/// </summary>
public sealed class Lstm : RecurrentLayer
{
    /// <summary>Creates the layer.</summary>
    /// <param name="inputSize">Features of the input.</param>
    /// <param name="hiddenSize">Features of the hidden state.</param>
    /// <param name="numLayers">Stacked layers.</param>
    /// <param name="bias">Whether to learn bias_ih and bias_hh.</param>
    /// <param name="batchFirst">Inputs and outputs are [N, T, features] rather than [T, N, features].</param>
    /// <param name="dropout">Dropout probability between stacked layers, in training mode.</param>
    /// <param name="bidirectional">Adds a direction that reads the sequence backwards.</param>
    /// <param name="dtype">Parameter dtype.</param>
    /// <param name="generator">Random source (default <see cref="Generator.Default"/>).</param>
    public Lstm(long inputSize, long hiddenSize, int numLayers = 1, bool bias = true, bool batchFirst = false, double dropout = 0,
        bool bidirectional = false, DType dtype = DType.F32, Generator? generator = null)
        : base(4, inputSize, hiddenSize, numLayers, bias, batchFirst, dropout, bidirectional, dtype, generator)
    {
    }

    /// <inheritdoc/>
    protected override bool HasCellState => true;

    /// <inheritdoc/>
    protected override (Value Hidden, Value? Cell) Step(Value inputGates, Value hiddenGates, Value hidden, Value? cell)
    {
        Value gates = inputGates + hiddenGates;
        Value i = Gate(gates, 0).Sigmoid(), f = Gate(gates, 1).Sigmoid(), g = Gate(gates, 2).Tanh();
        return RecurrentCells.Lstm(i, f, g, _ => Gate(gates, 3).Sigmoid(), cell!, c => c.Tanh());
    }
}

/// <summary>
/// Gated recurrent unit (PyTorch's GRU), gates stacked r, z, n: r = σ(W_ir x + b_ir + W_hr h + b_hr),
/// z = σ(W_iz x + b_iz + W_hz h + b_hz), n = tanh(W_in x + b_in + r (W_hn h + b_hn)), h' = (1 - z) n + z h.
/// Layout and options as <see cref="RecurrentLayer"/>.
/// </summary>
public sealed class Gru : RecurrentLayer
{
    /// <summary>Creates the layer.</summary>
    /// <param name="inputSize">Features of the input.</param>
    /// <param name="hiddenSize">Features of the hidden state.</param>
    /// <param name="numLayers">Stacked layers.</param>
    /// <param name="bias">Whether to learn bias_ih and bias_hh.</param>
    /// <param name="batchFirst">Inputs and outputs are [N, T, features] rather than [T, N, features].</param>
    /// <param name="dropout">Dropout probability between stacked layers, in training mode.</param>
    /// <param name="bidirectional">Adds a direction that reads the sequence backwards.</param>
    /// <param name="dtype">Parameter dtype.</param>
    /// <param name="generator">Random source (default <see cref="Generator.Default"/>).</param>
    public Gru(long inputSize, long hiddenSize, int numLayers = 1, bool bias = true, bool batchFirst = false, double dropout = 0,
        bool bidirectional = false, DType dtype = DType.F32, Generator? generator = null)
        : base(3, inputSize, hiddenSize, numLayers, bias, batchFirst, dropout, bidirectional, dtype, generator)
    {
    }

    /// <inheritdoc/>
    protected override bool FoldsHiddenBias => false;

    /// <inheritdoc/>
    protected override (Value Hidden, Value? Cell) Step(Value inputGates, Value hiddenGates, Value hidden, Value? cell)
    {
        Value r = (Gate(inputGates, 0) + Gate(hiddenGates, 0)).Sigmoid();
        Value z = (Gate(inputGates, 1) + Gate(hiddenGates, 1)).Sigmoid();
        Value n = (Gate(inputGates, 2) + (r * Gate(hiddenGates, 2))).Tanh();
        return (RecurrentCells.Gru(z, n, hidden), null);
    }
}

/// <summary>Graph helpers shared by the sequence layers (recurrent, attention, transformer).</summary>
internal static class SequenceOps
{
    /// <summary>
    /// Training-mode dropout of <paramref name="x"/> with probability <paramref name="p"/> in a node named
    /// <paramref name="name"/>; the seed is derived from the name so that each dropout node draws its own masks.
    /// </summary>
    public static Value Dropout(Value x, double p, string name)
    {
        ulong hash = 14695981039346656037;
        foreach (char ch in name) hash = (hash ^ ch) * 1099511628211;
        return NN.Dropout.Apply(x, p, (long)(hash >> 1), name);
    }
}

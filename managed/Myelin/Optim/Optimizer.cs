using Myelin.Autodiff;
using Myelin.Execution;
using Myelin.Graphs;
using Myelin.Ops;

namespace Myelin.Optim;

/// <summary>An optimizer as graph nodes: one fused OptimizerStep per parameter, with its state as persistent parameters.</summary>
public abstract record Optimizer(double LearningRate, double WeightDecay = 0)
{
    /// <summary>The native kind.</summary>
    protected abstract OptimizerKind Kind { get; }

    /// <summary>How many state tensors each parameter needs.</summary>
    protected abstract int StateCount { get; }

    /// <summary>Kind-specific attributes.</summary>
    protected abstract Dictionary<string, object> KindAttributes();

    /// <summary>Creates the zeroed state tensors of <paramref name="parameter"/> as graph parameters.</summary>
    public Value[] CreateState(Graph graph, Value parameter)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(parameter);
        var states = new Value[StateCount];
        for (int i = 0; i < StateCount; i++)
        {
            Tensor state = Tensor.Zeros(parameter.Data!.Shape, parameter.DType, parameter.Data.Device).MoveToOuterScope();
            states[i] = graph.Parameter($"{parameter.Name}.state{i}", state);
        }

        return states;
    }

    /// <summary>Adds the update of <paramref name="parameter"/> by <paramref name="gradient"/>, creating its zeroed state.</summary>
    public void AddUpdate(Graph graph, Value parameter, Value gradient) => AddStep(graph, parameter, gradient, CreateState(graph, parameter));

    /// <summary>Adds one fused update of <paramref name="parameter"/> (or a view of it) with <paramref name="states"/> (views alike).</summary>
    public void AddStep(Graph graph, Value parameter, Value gradient, Value[] states)
    {
        ArgumentNullException.ThrowIfNull(graph);
        Value[] inputs = [parameter, gradient, .. states];
        Dictionary<string, object> attributes = KindAttributes();
        attributes["kind"] = (long)Kind;
        attributes["lr"] = LearningRate;
        attributes["weight_decay"] = WeightDecay;
        graph.Apply("OptimizerStep", inputs, attributes, graph.Fresh($"{Scheduling.Scheduler.Root(parameter).Name}_update"));
    }
}

/// <summary>Adam (AdamW when <paramref name="Decoupled"/>), PyTorch semantics.</summary>
public sealed record Adam(double LearningRate = 1e-3, double Beta1 = 0.9, double Beta2 = 0.999, double Epsilon = 1e-8, double WeightDecay = 0, bool Decoupled = false)
    : Optimizer(LearningRate, WeightDecay)
{
    /// <inheritdoc/>
    protected override OptimizerKind Kind => Decoupled ? OptimizerKind.Adamw : OptimizerKind.Adam;

    /// <inheritdoc/>
    protected override int StateCount => 2;

    /// <inheritdoc/>
    protected override Dictionary<string, object> KindAttributes() => new() { ["beta1"] = Beta1, ["beta2"] = Beta2, ["eps"] = Epsilon };
}

/// <summary>SGD, with momentum (and Nesterov) when <paramref name="Momentum"/> is nonzero.</summary>
public sealed record Sgd(double LearningRate = 1e-2, double Momentum = 0, bool Nesterov = false, double WeightDecay = 0) : Optimizer(LearningRate, WeightDecay)
{
    /// <inheritdoc/>
    protected override OptimizerKind Kind => Momentum == 0 ? OptimizerKind.Sgd : Nesterov ? OptimizerKind.Nesterov : OptimizerKind.Momentum;

    /// <inheritdoc/>
    protected override int StateCount => Momentum == 0 ? 0 : 1;

    /// <inheritdoc/>
    protected override Dictionary<string, object> KindAttributes() => new() { ["momentum"] = Momentum };
}

/// <summary>Builds a training step (forward, backward, optimizer update) as one compiled graph.</summary>
public static class TrainingStep
{
    /// <summary>
    /// Largest weight gradient materialized whole. The gradient of a bigger MatMul weight is computed in row blocks,
    /// each applied by the optimizer to the matching rows before the next is computed, so only one block is live.
    /// </summary>
    public const long GradientChunkBytes = 128 * 1024;

    /// <summary>
    /// Adds the gradients of <paramref name="loss"/> with respect to <paramref name="parameters"/> and one update per
    /// parameter to the graph, marks the loss as the output, and compiles. Each <c>Run</c> is then one step.
    /// </summary>
    /// <param name="loss">The scalar loss.</param>
    /// <param name="parameters">The parameters to train.</param>
    /// <param name="optimizer">The update rule.</param>
    /// <param name="options">Compile options.</param>
    /// <param name="gradientChunkBytes">Weight gradients of MatMuls larger than this are computed and applied in row blocks.</param>
    public static CompiledGraph Compile(Value loss, IReadOnlyList<Value> parameters, Optimizer optimizer, CompileOptions? options = null,
        long gradientChunkBytes = GradientChunkBytes)
    {
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(optimizer);
        Graph graph = loss.Graph;
        Value?[] gradients = Gradients.Of(loss, parameters);
        for (int i = 0; i < parameters.Count; i++)
        {
            if (gradients[i] is not { } gradient)
            {
                throw new GraphValidationException($"The loss '{loss.Name}' does not depend on parameter '{parameters[i].Name}'.");
            }

            AddUpdate(graph, optimizer, parameters[i], gradient, gradientChunkBytes);
        }

        graph.ClearOutputs();
        graph.MarkOutput(loss);
        return CompiledGraph.Compile(graph, options);
    }

    private static void AddUpdate(Graph graph, Optimizer optimizer, Value parameter, Value gradient, long chunkBytes)
    {
        long bytes = parameter.Data!.ElementCount * parameter.DType.ElementSize();
        if (gradient.Producer is not { Op.Name: "MatMul" } matmul || parameter.Rank != 2 || matmul.Inputs[0].Rank != 2 || bytes <= chunkBytes)
        {
            optimizer.AddUpdate(graph, parameter, gradient);
            return;
        }

        // dW = A B with A of shape [rows, K]: block i is A[r0:r1] B, updating W[r0:r1] and the state rows alike.
        Value[] states = optimizer.CreateState(graph, parameter);
        long rows = parameter.Data.Shape[0];
        long chunks = (bytes + chunkBytes - 1) / chunkBytes;
        long rowsPerChunk = (rows + chunks - 1) / chunks;
        for (long start = 0; start < rows; start += rowsPerChunk)
        {
            long end = Math.Min(rows, start + rowsPerChunk);
            Value block = SliceOp.Slice(matmul.Inputs[0], start, end).MatMul(matmul.Inputs[1]);
            optimizer.AddStep(graph, SliceOp.Slice(parameter, start, end), block, states.Select(s => SliceOp.Slice(s, start, end)).ToArray());
        }
    }
}

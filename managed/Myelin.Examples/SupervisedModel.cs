using Myelin.Execution;
using Myelin.Graphs;
using Myelin.NN;
using Myelin.Optim;

namespace Myelin.Examples;

/// <summary>
/// A layer with a loss, compiled twice from the same module: a training step (training mode: dropout active, batch
/// norm on batch statistics) and an evaluation graph (evaluation mode), which share the module's weights. Both take
/// an input "x" and a target "target" with a symbolic batch axis, so any batch size can be fed.
/// </summary>
public sealed class SupervisedModel : IDisposable
{
    private readonly CompiledGraph _step;
    private readonly CompiledGraph _evaluation;

    /// <summary>Builds and compiles both graphs.</summary>
    /// <param name="model">The model; left in evaluation mode afterwards (the compiled graphs keep their own modes).</param>
    /// <param name="loss">The training and evaluation loss.</param>
    /// <param name="optimizer">The update rule of the training step.</param>
    /// <param name="inputFeatures">Shape of one input sample (without the batch axis).</param>
    /// <param name="targetFeatures">Shape of one target sample (without the batch axis).</param>
    public SupervisedModel(Layer model, Loss loss, Optimizer optimizer, long[] inputFeatures, long[] targetFeatures)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(optimizer);
        model.Train();
        var training = new Graph();
        (Value trainLoss, _) = Build(training, model, loss, inputFeatures, targetFeatures);
        _step = TrainingStep.Compile(trainLoss, model.ParametersIn(training), optimizer);

        model.Eval();
        var evaluation = new Graph();
        (Value evalLoss, Value prediction) = Build(evaluation, model, loss, inputFeatures, targetFeatures);
        evaluation.MarkOutput(evalLoss, prediction);
        _evaluation = CompiledGraph.Compile(evaluation);
    }

    /// <summary>One optimizer step on the batch (<paramref name="input"/>, <paramref name="target"/>); returns the batch's training-mode loss.</summary>
    public float Step(Tensor input, Tensor target) => _step.Run(Feeds(input, target))[0].Item<float>();

    /// <summary>The evaluation-mode loss on (<paramref name="input"/>, <paramref name="target"/>).</summary>
    public float Loss(Tensor input, Tensor target) => _evaluation.Run(Feeds(input, target))[0].Item<float>();

    /// <summary>The evaluation-mode loss and predictions (row-major) on (<paramref name="input"/>, <paramref name="target"/>).</summary>
    public (float Loss, float[] Predictions) Evaluate(Tensor input, Tensor target)
    {
        IReadOnlyList<Tensor> outputs = _evaluation.Run(Feeds(input, target));
        return (outputs[0].Item<float>(), outputs[1].ToArray<float>());
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _step.Dispose();
        _evaluation.Dispose();
    }

    private static (Value Loss, Value Prediction) Build(Graph graph, Layer model, Loss loss, long[] inputFeatures, long[] targetFeatures)
    {
        Value x = graph.Input("x", DType.F32, [Dim.Sym("N"), .. inputFeatures.Select(d => (Dim)d)]);
        Value target = graph.Input("target", DType.F32, [Dim.Sym("N"), .. targetFeatures.Select(d => (Dim)d)]);
        Value prediction = model.Forward(x);
        return (loss.Apply(prediction, target), prediction);
    }

    private static Dictionary<string, Tensor> Feeds(Tensor input, Tensor target) => new() { ["x"] = input, ["target"] = target };
}

using Myelin.Graphs;
using Myelin.NN;

namespace Myelin.Models;

/// <summary>A model graph: its inputs, parameters and scalar loss.</summary>
/// <param name="Graph">The graph.</param>
/// <param name="Input">The input fed as "x".</param>
/// <param name="Target">The target fed as "target".</param>
/// <param name="Parameters">The trained parameters.</param>
/// <param name="Loss">The scalar loss.</param>
/// <param name="Owner">The module owning the parameters' tensors, when the model is built from NN layers: keep it
/// alive while the graph runs and dispose it afterwards (null when the graph's parameters are scope-owned tensors).</param>
public sealed record ModelGraph(Graph Graph, Value Input, Value Target, IReadOnlyList<Value> Parameters, Value Loss, Module? Owner = null);

/// <summary>Small reference models for tests and the train-step benchmark.</summary>
public static class BenchmarkModels
{
    /// <summary>
    /// A multilayer perceptron <paramref name="sizes"/>[0] - ... - classes with ReLU between layers and softmax
    /// cross-entropy against one-hot targets; batch dimension symbolic (N). Weights He-initialized from <paramref name="seed"/>.
    /// </summary>
    public static ModelGraph Mlp(int[] sizes, ulong seed = 1, DType dtype = DType.F32)
    {
        ArgumentNullException.ThrowIfNull(sizes);
        var graph = new Graph();
        var generator = new Generator(seed);
        Value x = graph.Input("x", dtype, "N", sizes[0]);
        Value target = graph.Input("target", dtype, "N", sizes[^1]);
        var parameters = new List<Value>();
        Value h = x;
        for (int layer = 1; layer < sizes.Length; layer++)
        {
            Tensor w = Tensor.RandN([sizes[layer - 1], sizes[layer]], dtype, generator, standardDeviation: Math.Sqrt(2.0 / sizes[layer - 1])).MoveToOuterScope();
            Tensor b = Tensor.Zeros([sizes[layer]], dtype).MoveToOuterScope();
            Value wv = graph.Parameter($"fc{layer}.weight", w), bv = graph.Parameter($"fc{layer}.bias", b);
            parameters.Add(wv);
            parameters.Add(bv);
            h = graph.Apply("Add", [h.MatMul(wv), bv], name: $"fc{layer}")[0];
            if (layer < sizes.Length - 1) h = h.Relu();
        }

        Value loss = graph.Apply("SoftmaxCrossEntropy", [h, target])[0];
        return new ModelGraph(graph, x, target, parameters, loss);
    }

    /// <summary>
    /// A small convolutional network for 1x28x28 images: Conv(8, 3x3, pad 1) - ReLU - MaxPool 2 - Conv(16, 3x3, pad 1) -
    /// ReLU - MaxPool 2 - Flatten - Dense(784, 10), softmax cross-entropy against one-hot targets; batch symbolic (N).
    /// </summary>
    public static ModelGraph Cnn(ulong seed = 1, DType dtype = DType.F32)
    {
        var graph = new Graph();
        var generator = new Generator(seed);
        Value x = graph.Input("x", dtype, "N", 1, 28, 28);
        Value target = graph.Input("target", dtype, "N", 10);
        var parameters = new List<Value>();
        Value Param(string name, long[] shape, double fanIn, bool zero = false)
        {
            Tensor data = (zero ? Tensor.Zeros(shape, dtype) : Tensor.RandN(shape, dtype, generator, standardDeviation: Math.Sqrt(2.0 / fanIn))).MoveToOuterScope();
            Value value = graph.Parameter(name, data);
            parameters.Add(value);
            return value;
        }

        var conv = new Dictionary<string, object> { ["pads"] = new long[] { 1, 1, 1, 1 } };
        var pool = new Dictionary<string, object> { ["kernel_shape"] = new long[] { 2, 2 }, ["strides"] = new long[] { 2, 2 } };
        Value h = graph.Apply("Conv", [x, Param("conv1.weight", [8, 1, 3, 3], 9), Param("conv1.bias", [8], 1, zero: true)], conv, "conv1")[0].Relu();
        h = graph.Apply("MaxPool", [h], pool, "pool1")[0];
        h = graph.Apply("Conv", [h, Param("conv2.weight", [16, 8, 3, 3], 72), Param("conv2.bias", [16], 1, zero: true)], conv, "conv2")[0].Relu();
        h = graph.Apply("MaxPool", [h], pool, "pool2")[0];
        h = graph.Apply("Flatten", [h], name: "flatten")[0];
        Value logits = graph.Apply("Add", [h.MatMul(Param("fc.weight", [784, 10], 784)), Param("fc.bias", [10], 1, zero: true)], name: "fc")[0];
        Value loss = graph.Apply("SoftmaxCrossEntropy", [logits, target])[0];
        return new ModelGraph(graph, x, target, parameters, loss);
    }

    /// <summary>
    /// A one-layer LSTM (<see cref="NN.Lstm"/>, <paramref name="inputSize"/> -> <paramref name="hiddenSize"/>) over
    /// x [<paramref name="steps"/>, N, inputSize] (time first, PyTorch's default layout) with the mean squared error
    /// (<see cref="MseLoss"/>) of its output sequence against target [steps, N, hiddenSize]; batch symbolic (N).
    /// PyTorch's nn.LSTM initialization, drawn from <paramref name="seed"/>.
    /// </summary>
    public static ModelGraph Lstm(long inputSize = 128, long hiddenSize = 256, long steps = 64, ulong seed = 1, DType dtype = DType.F32)
    {
        var lstm = new Lstm(inputSize, hiddenSize, dtype: dtype, generator: new Generator(seed));
        var graph = new Graph();
        Value x = graph.Input("x", dtype, steps, "N", inputSize);
        Value target = graph.Input("target", dtype, steps, "N", hiddenSize);
        Value loss = new MseLoss().Apply(lstm.Run(x).Output, target);
        return new ModelGraph(graph, x, target, lstm.ParametersIn(graph), loss, lstm);
    }

    /// <summary>
    /// One post-norm <see cref="TransformerEncoderLayer"/> (d_model <paramref name="dModel"/>, <paramref name="heads"/>
    /// heads, feed-forward <paramref name="feedForward"/>, ReLU) over x [<paramref name="steps"/>, N, dModel] (sequence
    /// first, PyTorch's default layout) with the mean squared error (<see cref="MseLoss"/>) of its output against target
    /// [steps, N, dModel]; batch symbolic (N). Dropout is 0 (PyTorch's default is 0.1) so that both sides of the
    /// PyTorch comparison do the same arithmetic and the loss is deterministic.
    /// </summary>
    public static ModelGraph Transformer(long dModel = 256, int heads = 4, long feedForward = 1024, long steps = 128, ulong seed = 1, DType dtype = DType.F32)
    {
        var layer = new TransformerEncoderLayer(dModel, heads, feedForward, dropout: 0, dtype: dtype, generator: new Generator(seed));
        var graph = new Graph();
        Value x = graph.Input("x", dtype, steps, "N", dModel);
        Value target = graph.Input("target", dtype, steps, "N", dModel);
        Value loss = new MseLoss().Apply(layer.Encode(x), target);
        return new ModelGraph(graph, x, target, layer.ParametersIn(graph), loss, layer);
    }
}

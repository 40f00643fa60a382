using Myelin.Autodiff;
using Myelin.Execution;
using Myelin.Graphs;
using Myelin.Native;
using Myelin.Ops;
using Myelin.Tests.TestSupport;
using NUnit.Framework;

namespace Myelin.Tests.Execution;

/// <summary>Planning corner cases: outputs that are plain constants, and kernels that need contiguous operands.</summary>
public class ExecutionPlanTests
{
    [Test]
    public void AGraphWhoseOutputFoldsToAConstantReturnsACopyOfIt()
    {
        // Cast(Shape(x)) of a concrete x folds to a constant: the plan has no node left and copies the constant out.
        var graph = new Graph();
        Value x = graph.Input("x", DType.F32, 2, 3, 5);
        Value shape = graph.Apply("Shape", [x])[0].Cast(DType.F32);
        graph.MarkOutput(shape, x.Relu());
        using CompiledGraph compiled = CompiledGraph.Compile(graph);
        Assert.That(compiled.Graph.Outputs[0].Kind, Is.EqualTo(ValueKind.Constant), "the output was folded");
        using Tensor feed = Tensor.FromArray(Enumerable.Range(-15, 30).Select(i => (float)i).ToArray(), [2, 3, 5]);
        IReadOnlyList<Tensor> results = compiled.Run(new Dictionary<string, Tensor> { ["x"] = feed });
        Assert.That(results[0].ToArray<float>(), Is.EqualTo(new float[] { 2, 3, 5 }));
        Assert.That(results[1].ToArray<float>(), Is.EqualTo(Enumerable.Range(-15, 30).Select(i => (float)Math.Max(i, 0)).ToArray()));
    }

    [Test]
    public void APlanPastTheMemoryLimitIsRefusedBeforeItAllocates()
    {
        // y = Relu(x) * 2 + 1 on N x 1024 floats: the result alone takes 4096 N bytes, the intermediates as much again.
        var graph = new Graph();
        Value x = graph.Input("x", DType.F32, "N", 1024);
        graph.MarkOutput(x.Relu() * 2.0 + 1.0);
        using CompiledGraph compiled = CompiledGraph.Compile(graph, new CompileOptions { MemoryLimitBytes = 64 * 4096 });
        using Tensor small = Tensor.Full([4, 1024], -3), large = Tensor.Full([64, 1024], 2);
        Assert.That(compiled.Run(new Dictionary<string, Tensor> { ["x"] = small })[0].ToArray<float>(), Is.All.EqualTo(1f));

        var exception = Assert.Throws<MyelinException>(() => compiled.Run(new Dictionary<string, Tensor> { ["x"] = large }))!;
        Assert.That(exception.Status, Is.EqualTo(Status.OutOfMemory));
        Assert.That(exception.Message, Does.Contain("MemoryLimitBytes").And.Contain((64 * 4096).ToString()));
        Assert.That(compiled.PlanCount, Is.EqualTo(1), "the refused plan is not kept");
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new CompileOptions { MemoryLimitBytes = 0 });
    }

    [Test]
    public void AGraphOfOnlyAConstantOutputRuns()
    {
        var graph = new Graph();
        using Tensor data = Tensor.FromArray(new long[] { 4, 1, 7 }, 3);
        graph.MarkOutput(graph.Constant(data).Cast(DType.F64));
        using CompiledGraph compiled = CompiledGraph.Compile(graph);
        Assert.That(compiled.Run(new Dictionary<string, Tensor>())[0].ToArray<double>(), Is.EqualTo(new double[] { 4, 1, 7 }));
    }

    [Test]
    public void LayerNormOfATransposedValueMatchesItOnAContiguousCopy()
    {
        // x^T is a strided view; the LayerNorm kernels (forward and NormGrad backward) need contiguous operands, so
        // the planner copies it first. Reference: the same graph on a contiguous input holding x^T's values.
        var generator = new Generator(7);
        using Tensor xData = Tensor.RandN([6, 4], generator: generator);
        using Tensor scale = Tensor.RandN([6], generator: generator), bias = Tensor.RandN([6], generator: generator), r = Tensor.RandN([4, 6], generator: generator);
        using Tensor transposed = xData.Transpose(0, 1).Contiguous();

        float[][] Run(bool transposeInGraph)
        {
            var graph = new Graph();
            Value x = transposeInGraph ? graph.Input("x", DType.F32, 6, 4) : graph.Input("x", DType.F32, 4, 6);
            Value input = transposeInGraph ? x.Transpose(1, 0) : x;
            Value y = graph.Apply("LayerNormalization", [input, graph.Constant(scale), graph.Constant(bias)], new Dictionary<string, object> { ["axis"] = -1L })[0];
            Value?[] grads = Gradients.Of((y * graph.Constant(r)).Sum(), [x]);
            graph.MarkOutput(y, grads[0]!);
            using CompiledGraph compiled = CompiledGraph.Compile(graph);
            IReadOnlyList<Tensor> results = compiled.Run(new Dictionary<string, Tensor> { ["x"] = transposeInGraph ? xData : transposed });
            float[] dx = transposeInGraph ? results[1].Transpose(0, 1).Contiguous().ToArray<float>() : results[1].ToArray<float>();
            return [results[0].ToArray<float>(), dx];
        }

        float[][] strided = Run(transposeInGraph: true), contiguous = Run(transposeInGraph: false);
        Approx.AssertClose(strided[0], Reference.ToDouble(contiguous[0]), 1e-6, 1e-6);
        Approx.AssertClose(strided[1], Reference.ToDouble(contiguous[1]), 1e-6, 1e-6);
    }

    [Test]
    public void KernelsWhoseNativeCallsNeedContiguousOperandsSaySo()
    {
        string[] contiguous = ["Conv", "ConvTranspose", "MaxPool", "AveragePool", "LayerNormalization", "GroupNormalization", "BatchNormalization", "Gather", "Pad"];
        foreach (string name in contiguous) Assert.That(OpRegistry.Get(name).RequiresContiguousInput(0), Is.True, name);
        foreach (string name in new[] { "Add", "Relu", "MatMul", "Transpose" }) Assert.That(OpRegistry.Get(name).RequiresContiguousInput(0), Is.False, name);
    }

    [Test]
    public void BindingsLearnWhichOutputsThePlanReads()
    {
        // A two-output probe: its second output unread, read by a later node, or asked for by the caller.
        Dictionary<string, Tensor> feeds = new() { ["x"] = Tensor.Zeros([2, 3]).MoveToOuterScope() };
        bool[] ReadFlags(Func<Graph, Value[], Value[]> outputs)
        {
            var probe = new OutputReadProbeOp();
            var graph = new Graph();
            Value x = graph.Input("x", DType.F32, 2, 3);
            Value[] results = graph.Apply(probe, [x], name: "probe");
            graph.MarkOutput(outputs(graph, results));
            using CompiledGraph compiled = CompiledGraph.Compile(graph);
            _ = compiled.PlanFor(feeds);
            return probe.ReadOutputs!;
        }

        Assert.That(ReadFlags((_, r) => [r[0]]), Is.EqualTo(new[] { true, false }), "second output unread");
        Assert.That(ReadFlags((_, r) => [r[0] + r[1].Relu()]), Is.EqualTo(new[] { true, true }), "read by a later node");
        Assert.That(ReadFlags((_, r) => [r[0], r[1]]), Is.EqualTo(new[] { true, true }), "asked for");
        Assert.That(ReadFlags((g, r) => [r[0], g.Apply("Flatten", [r[1]], new Dictionary<string, object> { ["axis"] = 0L })[0]]), Is.EqualTo(new[] { true, true }), "asked for through a view");
    }

    [Test]
    public void MaxPoolGivesTheSameResultWithItsIndicesUnread()
    {
        // Inference plans leave MaxPool's indices unwritten; the pooled values must not depend on that.
        var graph = new Graph();
        Value x = graph.Input("x", DType.F32, 2, 3, 9, 9);
        var attributes = new Dictionary<string, object> { ["kernel_shape"] = new long[] { 3, 3 }, ["strides"] = new long[] { 2, 2 }, ["pads"] = new long[] { 1, 1, 1, 1 } };
        Value[] pooled = graph.Apply("MaxPool", [x], attributes);
        graph.MarkOutput(pooled[0], pooled[1]);
        var valuesOnly = new Graph();
        Value x2 = valuesOnly.Input("x", DType.F32, 2, 3, 9, 9);
        valuesOnly.MarkOutput(valuesOnly.Apply("MaxPool", [x2], attributes)[0]);
        using CompiledGraph both = CompiledGraph.Compile(graph), values = CompiledGraph.Compile(valuesOnly);
        var feeds = new Dictionary<string, Tensor> { ["x"] = Tensor.RandN([2, 3, 9, 9], generator: new Generator(seed: 7)).MoveToOuterScope() };
        IReadOnlyList<Tensor> withIndices = both.Run(feeds);
        float[] xs = feeds["x"].ToArray<float>();
        long[] indices = withIndices[1].ToArray<long>();
        float[] y = withIndices[0].ToArray<float>();
        for (int i = 0; i < y.Length; i++) Assert.That(xs[indices[i]], Is.EqualTo(y[i]), $"index {i} points at its maximum");
        Assert.That(values.Run(feeds)[0].ToArray<float>(), Is.EqualTo(y));
    }

    private sealed unsafe class OutputReadProbeOp : OpDef
    {
        public bool[]? ReadOutputs { get; private set; }

        public override string Name => "OutputReadProbe";

        public override int MinInputs => 1;

        protected override TensorType[] Infer(InferContext context) => [context.Input(0), context.Input(0)];

        public override KernelLaunch Bind(BindContext context)
        {
            ReadOutputs = [context.IsOutputRead(0), context.IsOutputRead(1)];
            return new NoLaunch();
        }

        private sealed class NoLaunch : KernelLaunch
        {
            public override void Launch(DeviceHandle device)
            {
            }
        }
    }
}

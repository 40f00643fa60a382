using Myelin.Execution;
using Myelin.Graphs;
using Myelin.Models;
using Myelin.Native;
using Myelin.Ops;
using Myelin.Optim;
using Myelin.Scheduling;
using Myelin.Tests.TestSupport;
using NUnit.Framework;

namespace Myelin.Tests.Execution;

public class InterOpTests
{
    private const int Heads = 4;
    private const int HeadSize = 8;

    /// <summary>
    /// An inception-like block (four conv branches of different depths concatenated) and a multi-head-like block
    /// (four column slices of h, each through its own MatMul and softmax, concatenated): many independent nodes.
    /// </summary>
    private static (Graph Graph, float[][] HeadWeights) Branchy(Func<Graph, Value, Value>? extraBranch = null)
    {
        var g = new Graph();
        var generator = new Generator(seed: 21);
        Value x = g.Input("x", DType.F32, "N", 8, 12, 12);
        Value h = g.Input("h", DType.F32, "M", Heads * HeadSize);
        Value Weight(string name, params long[] shape) => g.Parameter(name, Tensor.RandN(shape, generator: generator, standardDeviation: 0.3).MoveToOuterScope());
        Value Conv(string name, Value input, long outChannels, long kernel) =>
            g.Apply("Conv", [input, Weight(name + ".w", outChannels, input.Type[1].Value, kernel, kernel), Weight(name + ".b", outChannels)],
                new Dictionary<string, object> { ["pads"] = Enumerable.Repeat(kernel / 2, 4).ToArray() }, name)[0];

        Value b1 = Conv("b1", x, 4, 1).Relu();
        Value b2 = Conv("b2b", Conv("b2a", x, 4, 1).Relu(), 6, 3).Relu();
        Value b3 = Conv("b3c", Conv("b3b", Conv("b3a", x, 4, 3).Relu(), 4, 3).Relu(), 4, 3).Relu();
        Value pooled = g.Apply("MaxPool", [x], new Dictionary<string, object> { ["kernel_shape"] = new long[] { 3, 3 }, ["strides"] = new long[] { 1, 1 }, ["pads"] = new long[] { 1, 1, 1, 1 } }, "b4pool")[0];
        Value b4 = Conv("b4", pooled, 2, 1);
        Value[] branches = extraBranch is null ? [b1, b2, b3, b4] : [b1, b2, b3, b4, extraBranch(g, x)];
        g.MarkOutput(g.Apply("Concat", branches, new Dictionary<string, object> { ["axis"] = 1L }, "inception")[0]);

        var headWeights = new float[Heads][];
        var heads = new Value[Heads];
        for (int head = 0; head < Heads; head++)
        {
            Value w = Weight($"head{head}.w", HeadSize, HeadSize);
            headWeights[head] = w.Data!.ToArray<float>();
            heads[head] = g.Apply("Softmax", [SliceOp.Slice(h, head * HeadSize, (head + 1) * HeadSize, axis: 1).MatMul(w)],
                new Dictionary<string, object> { ["axis"] = 1L }, $"head{head}")[0];
        }

        g.MarkOutput(g.Apply("Concat", heads, new Dictionary<string, object> { ["axis"] = 1L }, "heads")[0]);
        return (g, headWeights);
    }

    private static Dictionary<string, Tensor> BranchyFeeds() => new()
    {
        ["x"] = Tensor.RandN([2, 8, 12, 12], generator: new Generator(seed: 22)).MoveToOuterScope(),
        ["h"] = Tensor.RandN([6, Heads * HeadSize], generator: new Generator(seed: 23)).MoveToOuterScope(),
    };

    private static CompiledGraph CompileBranchy(int threads, Func<Graph, Value, Value>? extraBranch = null) =>
        CompiledGraph.Compile(Branchy(extraBranch).Graph, new CompileOptions { InterOpThreads = threads });

    private static float[][] RunAll(CompiledGraph compiled, Dictionary<string, Tensor> feeds) =>
        compiled.Run(feeds).Select(t => t.ToArray<float>()).ToArray();

    [TestCase(2)]
    [TestCase(4)]
    public void BranchyGraphGivesBitIdenticalResultsToSequentialRuns(int threads)
    {
        Dictionary<string, Tensor> feeds = BranchyFeeds();
        using CompiledGraph sequential = CompileBranchy(1);
        using CompiledGraph concurrent = CompileBranchy(threads);
        float[][] expected = RunAll(sequential, feeds);
        ExecutionPlan plan = concurrent.PlanFor(feeds);
        Assert.That(plan.Stages.Max(s => s.Count), Is.GreaterThan(1).And.LessThanOrEqualTo(threads), "stages hold independent launches, at most one per thread");
        Assert.That(sequential.PlanFor(feeds).Stages.All(s => s.Count == 1), Is.True, "one thread runs one launch per stage");
        for (int run = 0; run < 5; run++)
        {
            float[][] actual = RunAll(concurrent, feeds);
            for (int i = 0; i < expected.Length; i++) Assert.That(actual[i], Is.EqualTo(expected[i]), $"output {i}, run {run}");
        }
    }

    [Test]
    public void MultiHeadBranchesMatchAPlainReference()
    {
        (Graph graph, float[][] headWeights) = Branchy();
        using CompiledGraph compiled = CompiledGraph.Compile(graph, new CompileOptions { InterOpThreads = 4 });
        Dictionary<string, Tensor> feeds = BranchyFeeds();
        float[] h = feeds["h"].ToArray<float>();
        long rows = 6, width = Heads * HeadSize;
        var expected = new double[rows * width];
        for (int head = 0; head < Heads; head++)
        {
            double[] slice = new double[rows * HeadSize];
            for (long r = 0; r < rows; r++)
            {
                for (int c = 0; c < HeadSize; c++) slice[r * HeadSize + c] = h[r * width + head * HeadSize + c];
            }

            double[] product = Reference.MatMul(slice, [rows, HeadSize], false, Reference.ToDouble(headWeights[head]), [HeadSize, HeadSize], false);
            for (long r = 0; r < rows; r++)
            {
                double[] row = product.Skip((int)(r * HeadSize)).Take(HeadSize).ToArray();
                double max = row.Max(), sum = row.Sum(v => Math.Exp(v - max));
                for (int c = 0; c < HeadSize; c++) expected[r * width + head * HeadSize + c] = Math.Exp(row[c] - max) / sum;
            }
        }

        Approx.AssertClose(compiled.Run(feeds)[1].ToArray<float>(), expected, 1e-6, 1e-5);
    }

    [Test]
    public void ElementwiseReadersOfOneValueInOneStageNeverWriteOverIt()
    {
        float[] Run(int threads, out ExecutionPlan plan)
        {
            var g = new Graph();
            Value x = g.Input("x", DType.F32, 16, 32);
            Value v = x.MatMul(g.Parameter("w", Tensor.RandN([32, 16], generator: new Generator(seed: 41)).MoveToOuterScope()));
            g.MarkOutput(g.Apply("Relu", [v], name: "relu")[0] + g.Apply("Exp", [v], name: "exp")[0]);
            // Unfused, so Relu and Exp are separate kernels that each could write over v in place.
            CompiledGraph compiled = CompiledGraph.Compile(g, new CompileOptions { Fuse = false, InterOpThreads = threads });
            var feeds = new Dictionary<string, Tensor> { ["x"] = Tensor.RandN([16, 32], generator: new Generator(seed: 42)).MoveToOuterScope() };
            plan = compiled.PlanFor(feeds);
            float[] result = compiled.Run(feeds)[0].ToArray<float>();
            compiled.Dispose();
            return result;
        }

        float[] sequential = Run(1, out _);
        float[] concurrent = Run(2, out ExecutionPlan plan);
        Assert.That(StageOf(plan, "relu"), Does.Contain("exp"), "both readers of v run in one stage");
        Assert.That(concurrent, Is.EqualTo(sequential));
        using Tensor xData = Tensor.RandN([16, 32], generator: new Generator(seed: 42));
        using Tensor wData = Tensor.RandN([32, 16], generator: new Generator(seed: 41));
        double[] expected = Reference.MatMul(Reference.ToDouble(xData.ToArray<float>()), [16, 32], false, Reference.ToDouble(wData.ToArray<float>()), [32, 16], false).Select(v => Math.Max(v, 0) + Math.Exp(v)).ToArray();
        Approx.AssertClose(concurrent, expected, 1e-5, 1e-5);
    }

    [Test]
    public void StagesRespectDataDependenciesThroughViews()
    {
        using CompiledGraph compiled = CompileBranchy(4);
        ExecutionPlan plan = compiled.PlanFor(BranchyFeeds());
        Dictionary<string, int> stageOf = StageIndex(plan);
        int checkedEdges = 0;
        foreach (Node node in compiled.Graph.Nodes.Where(n => stageOf.ContainsKey(n.Name)))
        {
            foreach (Node producer in LaunchingProducers(node, stageOf))
            {
                Assert.That(stageOf[producer.Name], Is.LessThan(stageOf[node.Name]), $"{producer} feeds {node}");
                checkedEdges++;
            }
        }

        Assert.That(checkedEdges, Is.GreaterThan(10));
    }

    [Test]
    public void TrainingStepStagesOrderEveryReaderOfAParameterBeforeItsUpdate()
    {
        ModelGraph mlp = BenchmarkModels.Mlp([40, 24, 5], seed: 8);
        using CompiledGraph step = TrainingStep.Compile(mlp.Loss, mlp.Parameters, new Adam(), new CompileOptions { InterOpThreads = 4 }, gradientChunkBytes: 1024);
        ExecutionPlan plan = step.PlanFor(MlpFeeds(6, 40, 5));
        Dictionary<string, int> stageOf = StageIndex(plan);
        List<Node> writers = step.Graph.Nodes.Where(n => n.Op.MutatedInputs.Count > 0).ToList();
        Assert.That(writers.Count, Is.GreaterThan(4), "the first weight is updated in chunks");
        Assert.That(writers.Select(w => stageOf[w.Name]).Distinct().Count(), Is.LessThan(writers.Count), "independent updates share stages");
        foreach (Node writer in writers)
        {
            Value root = Scheduler.Root(writer.Inputs[writer.Op.MutatedInputs[0]]);
            foreach (Node reader in step.Graph.Nodes.Where(n => stageOf.ContainsKey(n.Name) && !n.Op.IsView && n != writer && n.Inputs.Any(v => Scheduler.Root(v) == root)))
            {
                if (Scheduler.Mutates(reader, root)) continue;
                Assert.That(stageOf[reader.Name], Is.LessThan(stageOf[writer.Name]), $"{reader} reads {root.Name} before {writer} writes it");
            }
        }
    }

    [Test]
    public void ConcurrentChunkedTrainingStepsGiveBitIdenticalParametersAndLosses()
    {
        (float[] Losses, float[][] Parameters) Train(int threads)
        {
            ModelGraph mlp = BenchmarkModels.Mlp([40, 24, 5], seed: 8);
            using CompiledGraph step = TrainingStep.Compile(mlp.Loss, mlp.Parameters, new Adam(learningRate: 1e-2), new CompileOptions { InterOpThreads = threads }, gradientChunkBytes: 1024);
            Dictionary<string, Tensor> feeds = MlpFeeds(6, 40, 5);
            float[] losses = Enumerable.Range(0, 6).Select(_ => step.Run(feeds)[0].Item<float>()).ToArray();
            return (losses, mlp.Parameters.Select(p => p.Data!.ToArray<float>()).ToArray());
        }

        (float[] losses, float[][] parameters) = Train(1);
        Assert.That(losses[^1], Is.LessThan(losses[0]), "the steps train");
        foreach (int threads in new[] { 2, 4 })
        {
            (float[] concurrentLosses, float[][] concurrentParameters) = Train(threads);
            Assert.That(concurrentLosses, Is.EqualTo(losses), $"{threads} threads: losses");
            for (int i = 0; i < parameters.Length; i++) Assert.That(concurrentParameters[i], Is.EqualTo(parameters[i]), $"{threads} threads: parameter {i}");
        }
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(4)]
    public void ArenaPlanInStageUnitsNeverOverlapsBuffersLiveInOneStage(int threads)
    {
        using CompiledGraph compiled = CompileBranchy(threads);
        ExecutionPlan plan = compiled.PlanFor(BranchyFeeds());
        Assert.That(ArenaPlanner.IsValid(plan.Lifetimes, plan.Offsets), Is.True);
        Assert.That(plan.Lifetimes.Max(b => b.LastStep), Is.LessThanOrEqualTo(plan.Stages.Count + 1), "lifetimes count stages, not nodes");
        long peakLive = Enumerable.Range(0, plan.Stages.Count + 2).Max(step => plan.Lifetimes.Where(b => b.FirstStep <= step && step <= b.LastStep).Sum(b => b.Bytes));
        Assert.That(plan.ArenaBytes, Is.GreaterThanOrEqualTo(peakLive));
        TestContext.Out.WriteLine($"threads {threads}: {plan.Stages.Count} stages, {plan.LaunchCount} launches, arena {plan.ArenaBytes} bytes, naive {plan.NaiveBytes}");
    }

    [Test]
    public void ConcurrentTrainingStepAllocatesNothingAfterWarmUpOnAnyThread()
    {
        ModelGraph mlp = BenchmarkModels.Mlp([64, 32, 16, 10], seed: 3);
        using CompiledGraph step = TrainingStep.Compile(mlp.Loss, mlp.Parameters, new Adam(learningRate: 1e-2), new CompileOptions { InterOpThreads = 2 });
        Dictionary<string, Tensor> feeds = MlpFeeds(32, 64, 10);
        Assert.That(step.PlanFor(feeds).Stages.Any(s => s.Count > 1), Is.True, "the step has stages of concurrent launches");
        SteadyState.AssertNoAllocationPerRun(step, feeds);
    }

    [Test]
    public void ConcurrentBranchyGraphAllocatesNothingAfterWarmUpOnAnyThread()
    {
        using CompiledGraph compiled = CompileBranchy(4);
        SteadyState.AssertNoAllocationPerRun(compiled, BranchyFeeds());
    }

    [Test]
    public void KernelFailureOnAWorkerSurfacesWithTheNodeNameAndThePlanStaysUsable()
    {
        // Two copies of x in one stage of two threads; each waits until both have started, so one of them runs on
        // the worker for certain, and that one fails in the native copy.
        var op = new RendezvousCopyOp(Environment.CurrentManagedThreadId);
        var g = new Graph();
        Value x = g.Input("x", DType.F32, 3, 4);
        g.MarkOutput(g.Apply(op, [x], name: "copy_a")[0] + g.Apply(op, [x], name: "copy_b")[0]);
        using CompiledGraph compiled = CompiledGraph.Compile(g, new CompileOptions { InterOpThreads = 2 });
        var feeds = new Dictionary<string, Tensor> { ["x"] = Tensor.RandN([3, 4], generator: new Generator(seed: 51)).MoveToOuterScope() };
        Assert.That(StageOf(compiled.PlanFor(feeds), "copy_a"), Is.EquivalentTo(new[] { "copy_a", "copy_b" }));

        for (int run = 0; run < 3; run++)
        {
            var error = Assert.Throws<NodeExecutionException>(() => compiled.Run(feeds))!;
            Assert.That(op.FailedNode, Is.AnyOf("copy_a", "copy_b"), "the launch on the worker failed");
            Assert.That(error.NodeName, Is.EqualTo(op.FailedNode));
            Assert.That(error.Message, Does.Contain($"node '{op.FailedNode}' (RendezvousCopy)").And.Contain("mln_copy"));
            Assert.That(error.Status, Is.EqualTo(Status.InvalidArgument));
        }

        op.Fail = false;
        float[] doubled = feeds["x"].ToArray<float>().Select(v => v + v).ToArray();
        for (int run = 0; run < 3; run++) Assert.That(compiled.Run(feeds)[0].ToArray<float>(), Is.EqualTo(doubled), $"run {run} after the failures");
    }

    [Test]
    public void DisposeStopsTheWorkers()
    {
        CompiledGraph compiled = CompileBranchy(4);
        Dictionary<string, Tensor> feeds = BranchyFeeds();
        compiled.Run(feeds);
        Assert.That(compiled.LiveWorkerThreads, Is.EqualTo(3));
        compiled.Dispose();
        Assert.That(compiled.LiveWorkerThreads, Is.Zero);
        Assert.Throws<ObjectDisposedException>(() => compiled.Run(feeds));
    }

    [Test]
    public void InterOpThreadsOutOfRangeIsRejectedNamingTheOption()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => _ = new CompileOptions { InterOpThreads = 0 })!;
        Assert.That(error.ParamName, Is.EqualTo("InterOpThreads"));
        Assert.That(error.Message, Does.Contain("InterOpThreads must be 1 to"));
    }

    private static Dictionary<string, Tensor> MlpFeeds(int batch, int inputs, int classes)
    {
        float[] oneHot = new float[batch * classes];
        for (int row = 0; row < batch; row++) oneHot[row * classes + row % classes] = 1;
        return new Dictionary<string, Tensor>
        {
            ["x"] = Tensor.Rand([batch, inputs], generator: new Generator(seed: 4)).MoveToOuterScope(),
            ["target"] = Tensor.FromArray(oneHot, [batch, classes]).MoveToOuterScope(),
        };
    }

    private static Dictionary<string, int> StageIndex(ExecutionPlan plan)
    {
        var stageOf = new Dictionary<string, int>();
        for (int s = 0; s < plan.Stages.Count; s++)
        {
            foreach (string name in plan.Stages[s]) stageOf[name] = s;
        }

        return stageOf;
    }

    private static IReadOnlyList<string> StageOf(ExecutionPlan plan, string node) => plan.Stages.Single(s => s.Contains(node));

    // The launching nodes whose results a node reads, looking through views that launch nothing.
    private static IEnumerable<Node> LaunchingProducers(Node node, Dictionary<string, int> stageOf)
    {
        foreach (Value input in node.Inputs)
        {
            Node? producer = input.Producer;
            while (producer is not null && !stageOf.ContainsKey(producer.Name)) producer = producer.Op.IsView ? producer.Inputs[0].Producer : null;
            if (producer is not null) yield return producer;
        }
    }

    /// <summary>
    /// A copy whose launches wait until two of them have started (so a stage of two runs one on each thread); while
    /// <see cref="Fail"/> is set, the launch that is not on the test's thread fails in the native copy (a wrong output shape).
    /// </summary>
    private sealed unsafe class RendezvousCopyOp(int callerThread) : OpDef
    {
        private int _arrived;

        private int CallerThread { get; } = callerThread;

        public bool Fail { get; set; } = true;

        public string? FailedNode { get; private set; }

        public override string Name => "RendezvousCopy";

        public override int MinInputs => 1;

        public override bool IsDeterministic => false;

        protected override TensorType[] Infer(InferContext context) => [context.Input(0)];

        public override KernelLaunch Bind(BindContext context)
        {
            TensorDesc wrong = *context.Output(0);
            wrong.Shape[0] += 1;
            return new RendezvousLaunch(this, context.Node.Name, context.Input(0), context.Output(0), context.NewDesc(wrong));
        }

        private sealed class RendezvousLaunch(RendezvousCopyOp op, string node, TensorDesc* x, TensorDesc* y, TensorDesc* wrong) : KernelLaunch
        {
            public override void Launch(DeviceHandle device)
            {
                int arrived = Interlocked.Increment(ref op._arrived);
                if (!SpinWait.SpinUntil(() => Volatile.Read(ref op._arrived) >= (arrived + 1) / 2 * 2, TimeSpan.FromSeconds(10)))
                {
                    throw new TimeoutException($"{node}: the other copy of its stage never started");
                }

                bool fail = op.Fail && Environment.CurrentManagedThreadId != op.CallerThread;
                if (fail) op.FailedNode = node;
                KernelCalls.Copy(device, x, fail ? wrong : y);
            }
        }
    }
}

using Myelin.Autodiff;
using Myelin.Execution;
using Myelin.Graphs;
using Myelin.NN;
using Myelin.Tests.TestSupport;
using NUnit.Framework;

namespace Myelin.Tests.NN;

/// <summary>
/// The one PyTorch-comparison harness of the NN and Optim tests: loads fixture weights into a module by parameter
/// path, builds the graph, takes the gradients of loss = sum over outputs of sum(y * r), compiles, runs, and compares
/// outputs and gradients with the fixture (tests/fixtures/make_*_fixtures.py) within a tolerance.
/// </summary>
internal static class LayerHarness
{
    /// <summary>Absolute and relative tolerance of float32 comparisons with PyTorch.</summary>
    public const double Tolerance = 1e-4;

    /// <summary>Loads tests/fixtures/nn/<paramref name="stem"/>.myfx.</summary>
    public static Fixture Load(string stem) => Fixture.Load($"nn/{stem}.myfx");

    /// <summary>
    /// Copies the fixture's "<paramref name="parameterPrefix"/>&lt;path&gt;" tensors into the module's parameters and,
    /// when <paramref name="bufferPrefix"/> is given, "&lt;bufferPrefix&gt;&lt;path&gt;" into its buffers, checking shapes.
    /// </summary>
    public static void LoadState(Module module, Fixture fixture, string parameterPrefix = "p.", string? bufferPrefix = "b.")
    {
        IEnumerable<(string Path, Tensor Tensor, string Source)> targets = module.NamedParameters().Select(p => (p.Path, p.Tensor, parameterPrefix + p.Path));
        if (bufferPrefix is not null) targets = targets.Concat(module.NamedBuffers().Select(b => (b.Path, b.Tensor, bufferPrefix + b.Path)));
        foreach ((string path, Tensor tensor, string source) in targets)
        {
            Assert.That(fixture.Names, Does.Contain(source), $"the fixture has a tensor for {path}");
            Assert.That(tensor.Shape, Is.EqualTo(fixture[source].Shape), $"shape of {path}");
            fixture[source].CopyTo(tensor);
        }
    }

    /// <summary>The outputs and gradients of one compiled run; disposing it frees them.</summary>
    public sealed class GradientRun(CompiledGraph compiled, IReadOnlyList<Tensor> results, int outputCount) : IDisposable
    {
        /// <summary>The values of the outputs, in the order given.</summary>
        public IReadOnlyList<Tensor> Outputs { get; } = results.Take(outputCount).ToList();

        /// <summary>The gradients of the loss with respect to each value of wrt, in the order given.</summary>
        public IReadOnlyList<Tensor> Gradients { get; } = results.Skip(outputCount).ToList();

        /// <inheritdoc/>
        public void Dispose() => compiled.Dispose();
    }

    /// <summary>
    /// Marks <paramref name="outputs"/> and the gradients of loss = Σ sum(outputs[k] * weights[k]) with respect to
    /// every value of <paramref name="wrt"/> as the graph's outputs, compiles the graph and runs it on <paramref name="feeds"/>.
    /// </summary>
    public static GradientRun Run(IReadOnlyList<Value> outputs, IReadOnlyList<Tensor> weights, IReadOnlyList<Value> wrt, IReadOnlyDictionary<string, Tensor> feeds)
    {
        Assert.That(weights, Has.Count.EqualTo(outputs.Count), "one weight per output");
        Graph graph = outputs[0].Graph;
        Value loss = outputs.Zip(weights, (y, r) => (y * graph.Constant(r)).Sum()).Aggregate((a, b) => a + b);
        Value?[] gradients = Myelin.Autodiff.Gradients.Of(loss, wrt);
        for (int i = 0; i < gradients.Length; i++) Assert.That(gradients[i], Is.Not.Null, $"gradient of '{wrt[i].Name}'");
        graph.MarkOutput([.. outputs, .. gradients!]);
        CompiledGraph compiled = CompiledGraph.Compile(graph);
        return new GradientRun(compiled, compiled.Run(feeds), outputs.Count);
    }

    /// <summary>
    /// Runs <paramref name="outputs"/> (each with the fixture names of its expected value and its loss weight) and the
    /// gradients of <paramref name="wrt"/> (each with the fixture name of its expected gradient), and checks them all.
    /// </summary>
    public static void AssertMatches(Fixture fixture, string what, IReadOnlyList<(Value Value, string Expected, string Weight)> outputs,
        IReadOnlyList<(Value Value, string Expected)> wrt, IReadOnlyDictionary<string, Tensor> feeds, double tolerance = Tolerance)
    {
        using GradientRun run = Run(outputs.Select(o => o.Value).ToList(), outputs.Select(o => fixture[o.Weight]).ToList(), wrt.Select(w => w.Value).ToList(), feeds);
        for (int i = 0; i < outputs.Count; i++) AssertClose(run.Outputs[i], fixture[outputs[i].Expected], $"{what}: {outputs[i].Expected}", tolerance);
        for (int i = 0; i < wrt.Count; i++) AssertClose(run.Gradients[i], fixture[wrt[i].Expected], $"{what}: {wrt[i].Expected}", tolerance);
    }

    /// <summary>Compares shape and elements of <paramref name="actual"/> with <paramref name="expected"/>, naming <paramref name="what"/> on failure.</summary>
    public static void AssertClose(Tensor actual, Tensor expected, string what, double tolerance = Tolerance)
    {
        Assert.That(actual.Shape, Is.EqualTo(expected.Shape), $"{what}: shape");
        try
        {
            Approx.AssertClose(ToDouble(actual), ToDouble(expected), tolerance, tolerance);
        }
        catch (AssertionException e)
        {
            Assert.Fail($"{what}: {e.Message}");
        }
    }

    /// <summary>The elements of a floating-point tensor as doubles.</summary>
    public static double[] ToDouble(Tensor t) =>
        t.DType == DType.F64 ? t.ToArray<double>() : Reference.ToDouble(t.ToArray<float>());

    /// <summary>Runs the layer's output for <paramref name="x"/> (in the layer's current mode).</summary>
    public static float[] RunForward(Layer layer, Tensor x)
    {
        var graph = new Graph();
        Value y = layer.Forward(graph.Input("x", x.DType, x.Shape.Select(d => Dim.Of(d)).ToArray()));
        graph.MarkOutput(y);
        using CompiledGraph compiled = CompiledGraph.Compile(graph);
        return compiled.Run(new Dictionary<string, Tensor> { ["x"] = x })[0].ToArray<float>();
    }

    /// <summary>
    /// Layer fixtures (make_layer_fixtures.py, tests/fixtures/nn/layers_&lt;name&gt;.myfx): y = layer(x) against "y", and for
    /// loss sum(y * r) the gradients of every parameter ("grad.&lt;path&gt;") and of a floating-point x ("grad.x").
    /// </summary>
    public static void CheckForwardAndGradients(Layer layer, string name, double tolerance = Tolerance)
    {
        using Fixture fixture = Load($"layers_{name}");
        LoadState(layer, fixture);
        Tensor x = fixture["x"];
        var graph = new Graph();
        Value input = graph.Input("x", x.DType, x.Shape.Select(d => Dim.Of(d)).ToArray());
        Value y = layer.Forward(input);
        List<(Value, string)> wrt = [.. layer.NamedParameters().Zip(layer.ParametersIn(graph), (p, v) => (v, $"grad.{p.Path}"))];
        if (x.DType.IsFloatingPoint()) wrt.Add((input, "grad.x"));
        AssertMatches(fixture, name, [(y, "y", "r")], wrt, new Dictionary<string, Tensor> { ["x"] = x }, tolerance);
    }

    /// <summary>
    /// Sequence fixtures (make_sequence_fixtures.py, tests/fixtures/nn/sequence_&lt;name&gt;.myfx): parameters "p.&lt;path&gt;"
    /// (exactly the module's), inputs fed by name, outputs "y.&lt;name&gt;" weighted by "r.&lt;name&gt;", and gradients
    /// "g.&lt;path&gt;" of every parameter and "g.&lt;input&gt;" of each float input the fixture has one for.
    /// </summary>
    /// <param name="fixtureName">The fixture, tests/fixtures/nn/sequence_{name}.myfx.</param>
    /// <param name="module">The module under test; its parameters are overwritten by the fixture's.</param>
    /// <param name="inputNames">Fixture tensors fed as graph inputs of the same names.</param>
    /// <param name="build">Builds the outputs, by their fixture names, from the inputs.</param>
    public static void AssertSequenceMatches(string fixtureName, Module module, string[] inputNames,
        Func<IReadOnlyDictionary<string, Value>, IReadOnlyDictionary<string, Value>> build)
    {
        using Fixture fixture = Load($"sequence_{fixtureName}");
        Assert.That(module.NamedParameters().Select(p => p.Path), Is.EquivalentTo(fixture.Names.Where(n => n.StartsWith("p.", StringComparison.Ordinal)).Select(n => n[2..])),
            "parameter names match PyTorch's");
        LoadState(module, fixture, bufferPrefix: null);
        var graph = new Graph();
        var inputs = inputNames.ToDictionary(n => n, n => graph.Input(n, fixture[n].DType, fixture[n].Shape.Select(d => Dim.Of(d)).ToArray()));
        List<(Value, string, string)> outputs = [.. build(inputs).Select(o => (o.Value, $"y.{o.Key}", $"r.{o.Key}"))];
        List<(Value, string)> wrt = [.. module.NamedParameters().Zip(module.ParametersIn(graph), (p, v) => (v, $"g.{p.Path}"))];
        wrt.AddRange(inputs.Where(i => i.Value.DType.IsFloatingPoint() && fixture.Names.Contains($"g.{i.Key}")).Select(i => (i.Value, $"g.{i.Key}")));
        AssertMatches(fixture, fixtureName, outputs, wrt, inputNames.ToDictionary(n => n, n => fixture[n]));
    }
}

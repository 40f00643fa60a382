using Myelin.Autodiff;
using Myelin.Execution;
using Myelin.Graphs;
using Myelin.NN;
using Myelin.Tests.TestSupport;
using NUnit.Framework;

namespace Myelin.Tests.NN;

/// <summary>
/// Compares a sequence layer (recurrent, attention, transformer) with a PyTorch fixture written by
/// tests/fixtures/make_sequence_fixtures.py: copies the fixture's parameters ("p.path") into the module, feeds its
/// inputs, and checks the outputs ("y.name") and the gradients ("g.name") of loss = sum(output * r.name) with respect
/// to every parameter and float input.
/// </summary>
internal static class RecurrentTestHarness
{
    public const double Tolerance = 1e-4;

    /// <param name="fixtureName">The fixture, tests/fixtures/nn/sequence_{name}.myfx.</param>
    /// <param name="module">The layer under test; its parameters are overwritten by the fixture's.</param>
    /// <param name="inputNames">Fixture tensors fed as graph inputs of the same names.</param>
    /// <param name="build">Builds the outputs, by their fixture names, from the inputs.</param>
    public static void AssertMatchesPyTorch(string fixtureName, Module module, string[] inputNames,
        Func<IReadOnlyDictionary<string, Value>, IReadOnlyDictionary<string, Value>> build)
    {
        using Fixture fixture = Fixture.Load($"nn/sequence_{fixtureName}.myfx");
        var parameters = module.NamedParameters().ToList();
        Assert.That(parameters.Select(p => p.Path), Is.EquivalentTo(fixture.Names.Where(n => n.StartsWith("p.", StringComparison.Ordinal)).Select(n => n[2..])),
            "parameter names match PyTorch's");
        foreach ((string path, Tensor tensor) in parameters)
        {
            Tensor source = fixture[$"p.{path}"];
            Assert.That(tensor.Shape, Is.EqualTo(source.Shape), $"shape of {path}");
            source.CopyTo(tensor);
        }

        var graph = new Graph();
        var inputs = inputNames.ToDictionary(n => n, n => graph.Input(n, fixture[n].DType, fixture[n].Shape.ToArray().Select(d => Dim.Of(d)).ToArray()));
        IReadOnlyDictionary<string, Value> outputs = build(inputs);
        Value? loss = null;
        foreach ((string name, Value y) in outputs)
        {
            Value term = (y * graph.Constant(fixture[$"r.{name}"].Clone().MoveToOuterScope())).Sum();
            loss = loss is null ? term : loss + term;
        }

        var wrt = parameters.Select(p => p.Path).Zip(module.ParametersIn(graph)).ToList();
        wrt.AddRange(inputs.Where(i => i.Value.DType.IsFloatingPoint() && fixture.Names.Contains($"g.{i.Key}")).Select(i => (i.Key, i.Value)));
        Value?[] grads = Gradients.Of(loss!, wrt.Select(w => w.Item2).ToList());
        for (int i = 0; i < grads.Length; i++) Assert.That(grads[i], Is.Not.Null, $"gradient of {wrt[i].Item1}");
        var checkedNames = outputs.Keys.Select(n => $"y.{n}").Concat(wrt.Select(w => $"g.{w.Item1}")).ToList();
        graph.MarkOutput([.. outputs.Values, .. grads.Select(g => g!)]);
        using CompiledGraph compiled = CompiledGraph.Compile(graph);
        IReadOnlyList<Tensor> results = compiled.Run(inputNames.ToDictionary(n => n, n => fixture[n]));
        for (int i = 0; i < checkedNames.Count; i++)
        {
            Tensor expected = fixture[checkedNames[i]];
            Assert.That(results[i].Shape, Is.EqualTo(expected.Shape), $"shape of {checkedNames[i]}");
            float[] actual = results[i].ToArray<float>(), wanted = expected.ToArray<float>();
            for (int e = 0; e < actual.Length; e++)
            {
                if (!(Math.Abs(actual[e] - wanted[e]) <= Tolerance * (1 + Math.Abs(wanted[e]))))
                {
                    Assert.Fail($"{fixtureName}, {checkedNames[i]}[{e}]: expected {wanted[e]:R} but got {actual[e]:R}");
                }
            }
        }
    }
}

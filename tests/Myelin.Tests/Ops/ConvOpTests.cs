using Myelin.Execution;
using Myelin.Graphs;
using NUnit.Framework;

namespace Myelin.Tests.Ops;

/// <summary>Conv's forward launch: constant filters prepared once per plan (mln_conv_weights), others passed every run.</summary>
public class ConvOpTests
{
    private static float[] Wave(int count, double step) => [.. Enumerable.Range(0, count).Select(i => (float)Math.Sin(i * step))];

    private static Dictionary<string, object> Same3x3() => new() { ["pads"] = new long[] { 1, 1, 1, 1 }, ["kernel_shape"] = new long[] { 3, 3 } };

    /// <summary>
    /// ResNet-18's layer4 3x3 shape scaled down (64 channels at 7x7: on AVX-512 the packed transposed form) and a
    /// depthwise one (a plain copy): constant filters give the results of the same graph with the filters fed as inputs.
    /// </summary>
    [TestCase(64, 1)]
    [TestCase(16, 16)]
    public void ConstantFiltersGiveTheResultsOfFedFilters(int channels, int group)
    {
        float[] x = Wave(channels * 49, 0.37), w = Wave(channels * channels / group * 9, 0.11), b = Wave(channels, 0.5);
        using Tensor xTensor = Tensor.FromArray(x, 1, channels, 7, 7);
        using Tensor wTensor = Tensor.FromArray(w, channels, channels / group, 3, 3), bTensor = Tensor.FromArray(b, channels);
        Dictionary<string, object> attributes = Same3x3();
        attributes["group"] = (long)group;

        var constant = new Graph();
        Value cx = constant.Input("x", DType.F32, 1, channels, 7, 7);
        constant.MarkOutput(constant.Apply("Conv", [cx, constant.Constant(wTensor), constant.Constant(bTensor)], attributes)[0].Relu());
        var fed = new Graph();
        Value fx = fed.Input("x", DType.F32, 1, channels, 7, 7);
        Value fw = fed.Input("w", DType.F32, channels, channels / group, 3, 3), fb = fed.Input("b", DType.F32, channels);
        fed.MarkOutput(fed.Apply("Conv", [fx, fw, fb], attributes)[0].Relu());

        using CompiledGraph prepared = CompiledGraph.Compile(constant), plain = CompiledGraph.Compile(fed);
        float[] want = plain.Run(new Dictionary<string, Tensor> { ["x"] = xTensor, ["w"] = wTensor, ["b"] = bTensor })[0].ToArray<float>();
        for (int run = 0; run < 2; run++)
        {
            float[] got = prepared.Run(new Dictionary<string, Tensor> { ["x"] = xTensor })[0].ToArray<float>();
            Assert.That(got, Is.EqualTo(want).Within(1e-4f), $"run {run}");
        }
    }

    /// <summary>
    /// Prepared filters are the device's memory, counted and reported to the GC like the plan's tensors: building the
    /// plan takes at least x's, y's and the filters' bytes, the GC is told of each, and all of it goes with the plan.
    /// </summary>
    [TestCase(64, 1)]
    [TestCase(64, 64)]
    public void PreparedFiltersAreDeviceMemoryReportedToTheGc(int channels, int group)
    {
        using Tensor x = Tensor.FromArray(Wave(channels * 49, 0.37), 1, channels, 7, 7);
        using Tensor w = Tensor.FromArray(Wave(channels * channels / group * 9, 0.11), channels, channels / group, 3, 3);
        Dictionary<string, object> attributes = Same3x3();
        attributes["group"] = (long)group;
        var graph = new Graph();
        graph.MarkOutput(graph.Apply("Conv", [graph.Input("x", DType.F32, 1, channels, 7, 7), graph.Constant(w)], attributes)[0]);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long liveBefore = Device.Cpu.GetMemoryStats().LiveBytes, reportedBefore = MemoryPressure.ReportedBytes;

        CompiledGraph compiled = CompiledGraph.Compile(graph);
        compiled.Run(new Dictionary<string, Tensor> { ["x"] = x });
        long live = Device.Cpu.GetMemoryStats().LiveBytes - liveBefore, reported = MemoryPressure.ReportedBytes - reportedBefore;
        Assert.That(live, Is.GreaterThanOrEqualTo(4 * (2 * x.ElementCount + w.ElementCount)), "x copied in, y, the prepared filters");
        Assert.That(reported, Is.EqualTo(live));
        compiled.Dispose();
        Assert.That(Device.Cpu.GetMemoryStats().LiveBytes, Is.EqualTo(liveBefore));
        Assert.That(MemoryPressure.ReportedBytes, Is.EqualTo(reportedBefore));
    }

    /// <summary>Parameters change between runs (training): their convolution reads them every run, not a copy.</summary>
    [Test]
    public void ParameterFiltersAreReadEveryRun()
    {
        using Tensor x = Tensor.FromArray(Wave(64 * 49, 0.37), 1, 64, 7, 7);
        using Tensor w = Tensor.FromArray(Wave(64 * 64 * 9, 0.11), 64, 64, 3, 3);
        var graph = new Graph();
        Value input = graph.Input("x", DType.F32, 1, 64, 7, 7);
        graph.MarkOutput(graph.Apply("Conv", [input, graph.Parameter("w", w)], Same3x3())[0]);
        using CompiledGraph compiled = CompiledGraph.Compile(graph);
        float[] first = compiled.Run(new Dictionary<string, Tensor> { ["x"] = x })[0].ToArray<float>();
        using Tensor doubled = Tensor.FromArray(Wave(64 * 64 * 9, 0.11).Select(v => 2 * v).ToArray(), 64, 64, 3, 3);
        doubled.CopyTo(w);
        float[] second = compiled.Run(new Dictionary<string, Tensor> { ["x"] = x })[0].ToArray<float>();
        Assert.That(second, Is.EqualTo(first.Select(v => 2 * v).ToArray()).Within(1e-3f));
    }
}

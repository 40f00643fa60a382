using System.Text.Json;
using System.Text.RegularExpressions;
using Myelin.Tests.TestSupport;
using NUnit.Framework;

namespace Myelin.Tests.Cli;

/// <summary>The conv, softmax, norm and pool benchmarks: their JSON reports, layer tables and argument errors.</summary>
public class KernelBenchCommandTests
{
    private static JsonElement RunJson(params string[] args)
    {
        (int exitCode, string output, string error) = CliRunner.Run([.. args, "--threads", "1", "--min-seconds", "0", "--json"]);
        Assert.That(exitCode, Is.Zero, error);
        return CliRunner.LastLineJson(output);
    }

    private static long[] Dims(JsonElement element, string key) => [.. element.GetProperty(key).GetString()!.Split('x').Select(long.Parse)];

    /// <summary>2 N M C/G Kh Kw Ho Wo from the printed input (NxCxHxW), filter (MxC/GxKhxKw) and output shapes.</summary>
    private static double ConvFlops(JsonElement layer)
    {
        long[] x = Dims(layer, "input"), w = Dims(layer, "filter"), y = Dims(layer, "output");
        return 2.0 * x[0] * w[0] * w[1] * w[2] * w[3] * y[2] * y[3];
    }

    private static JsonElement SingleSet(JsonElement report) => report.GetProperty("sets").EnumerateArray().Single();

    [Test]
    public void ConvResNet18SetIsTheOneDnnComparisonTable()
    {
        JsonElement set = SingleSet(RunJson("bench", "conv", "--layers", "resnet18", "--direction", "forward"));
        JsonElement[] layers = [.. set.GetProperty("layers").EnumerateArray()];

        // The C++ comparisons' table (conv_layers.hpp), read from its source: {"name", in, out, size, kernel, stride, pad, groups, count}.
        string source = File.ReadAllText(Path.Combine(Fixture.Directory, "..", "benchmarks", "conv_layers.hpp"));
        string table = source[source.IndexOf("kResNet18 =", StringComparison.Ordinal)..];
        table = table[..table.IndexOf("};", StringComparison.Ordinal)];
        Match[] rows = Regex.Matches(table, @"\{""([^""]+)"",\s*(\d+),\s*(\d+),\s*(\d+),\s*(\d+),\s*(\d+),\s*(\d+),\s*(\d+),\s*(\d+)\}").ToArray();
        Assert.That(layers, Has.Length.EqualTo(rows.Length).And.Length.EqualTo(11));
        for (int i = 0; i < rows.Length; i++)
        {
            long[] v = [.. Enumerable.Range(2, 8).Select(g => long.Parse(rows[i].Groups[g].Value))];
            Assert.That(layers[i].GetProperty("name").GetString(), Is.EqualTo(rows[i].Groups[1].Value));
            Assert.That(Dims(layers[i], "input"), Is.EqualTo(new[] { 1, v[0], v[2], v[2] }));
            Assert.That(Dims(layers[i], "filter"), Is.EqualTo(new[] { v[1], v[0], v[3], v[3] }));
            Assert.That(layers[i].GetProperty("stride").GetInt64(), Is.EqualTo(v[4]));
            Assert.That(layers[i].GetProperty("pad").GetInt64(), Is.EqualTo(v[5]));
            Assert.That(v[6], Is.EqualTo(1), "ResNet-18 has no grouped convolution");
            Assert.That(layers[i].GetProperty("count").GetInt64(), Is.EqualTo(v[7]));
        }

        Assert.That(set.GetProperty("convs").GetInt32(), Is.EqualTo(20));
        // torchvision's ResNet-18: 1.81 G multiply-adds at 224x224, of which the classifier's are 0.5 M.
        Assert.That(set.GetProperty("macs_per_image").GetDouble(), Is.EqualTo(1.814e9).Within(0.5).Percent);
    }

    [Test]
    public void ConvMobileNetV2HasItsFiftyTwoConvolutionsAndAboutThreeHundredMillionMultiplyAdds()
    {
        JsonElement report = RunJson("bench", "conv", "--layers", "mobilenet_v2", "--direction", "backward-data");
        JsonElement set = SingleSet(report);
        JsonElement[] layers = [.. set.GetProperty("layers").EnumerateArray()];
        Assert.That(set.GetProperty("convs").GetInt32(), Is.EqualTo(52));
        Assert.That(layers.Sum(l => l.GetProperty("count").GetInt32()), Is.EqualTo(52));
        double macs = layers.Sum(l => l.GetProperty("count").GetInt32() * ConvFlops(l) / 2);
        Assert.That(set.GetProperty("macs_per_image").GetDouble(), Is.EqualTo(macs).Within(1e-9).Percent);
        Assert.That(macs, Is.EqualTo(300e6).Within(5).Percent);
        // 17 depthwise 3x3 convolutions (one per block), each with groups = channels.
        JsonElement[] depthwise = [.. layers.Where(l => l.GetProperty("name").GetString()!.Contains("depthwise"))];
        Assert.That(depthwise.Sum(l => l.GetProperty("count").GetInt32()), Is.EqualTo(17));
        Assert.That(depthwise.All(l => l.GetProperty("groups").GetInt64() == Dims(l, "input")[1]), Is.True);
        Assert.That(Dims(layers[^1], "output"), Is.EqualTo(new long[] { 1, 1280, 7, 7 }));
        Assert.That(report.GetProperty("directions").EnumerateArray().Select(d => d.GetString()), Is.EqualTo(new[] { "backward-data" }));
    }

    [Test]
    public void ConvGivenLayersReportEveryDirectionAndWeightedTotals()
    {
        JsonElement report = RunJson("bench", "conv", "--layers", "a=2x8x9x9:16x3x3:2,1,2, b=1x4x5x5:4x1x1", "--batch", "7");
        JsonElement set = SingleSet(report);
        Assert.That(set.GetProperty("name").GetString(), Is.EqualTo("custom"));
        JsonElement[] layers = [.. set.GetProperty("layers").EnumerateArray()];
        Assert.That(layers.Select(l => l.GetProperty("name").GetString()), Is.EqualTo(new[] { "a", "b" }));
        Assert.That(Dims(layers[0], "filter"), Is.EqualTo(new long[] { 16, 4, 3, 3 }));
        Assert.That(Dims(layers[0], "output"), Is.EqualTo(new long[] { 2, 16, 5, 5 }), "a layer's own N, not --batch");
        Assert.That(layers[0].GetProperty("flops").GetDouble(), Is.EqualTo(2.0 * 2 * 16 * 4 * 9 * 25));
        Assert.That(layers[1].GetProperty("stride").GetInt64(), Is.EqualTo(1));
        Assert.That(layers[1].GetProperty("flops").GetDouble(), Is.EqualTo(ConvFlops(layers[1])));

        string[] directions = ["forward", "backward-data", "backward-filter"];
        JsonElement[] totals = [.. set.GetProperty("totals").EnumerateArray()];
        Assert.That(totals.Select(t => t.GetProperty("direction").GetString()), Is.EqualTo(directions));
        foreach (JsonElement total in totals)
        {
            string direction = total.GetProperty("direction").GetString()!;
            double ms = layers.Sum(l => l.GetProperty("count").GetInt32() * l.GetProperty("results").EnumerateArray()
                .Single(r => r.GetProperty("direction").GetString() == direction).GetProperty("ms").GetDouble());
            Assert.That(total.GetProperty("ms").GetDouble(), Is.EqualTo(ms).Within(3e-4));
            double gflops = layers.Sum(l => l.GetProperty("flops").GetDouble()) / (total.GetProperty("ms").GetDouble() / 1e3) / 1e9;
            Assert.That(total.GetProperty("gflops").GetDouble(), Is.EqualTo(gflops).Within(2).Percent);
        }
    }

    [Test]
    public void SoftmaxReportsForwardAndBackwardPerShapeWithTheirBytes()
    {
        JsonElement report = RunJson("bench", "softmax", "--shapes", "3x7,16x100");
        Assert.That(report.GetProperty("benchmark").GetString(), Is.EqualTo("softmax"));
        JsonElement[] results = [.. report.GetProperty("results").EnumerateArray()];
        Assert.That(results.Select(r => (r.GetProperty("shape").GetString(), r.GetProperty("direction").GetString())),
            Is.EqualTo(new[] { ("3x7", "forward"), ("3x7", "backward"), ("16x100", "forward"), ("16x100", "backward") }));
        // Forward reads x and writes y; backward reads y and dy and writes dx.
        Assert.That(results.Select(r => r.GetProperty("bytes").GetInt64()), Is.EqualTo(new long[] { 2 * 21 * 4, 3 * 21 * 4, 2 * 1600 * 4, 3 * 1600 * 4 }));
        AssertRatesMatchBytes(results);
    }

    [Test]
    public void NormReportsEachKindAndDirection()
    {
        JsonElement report = RunJson("bench", "norm", "--shapes", "2x8x3x3,5x12", "--groups", "4");
        JsonElement[] results = [.. report.GetProperty("results").EnumerateArray()];
        string[] perShape = ["batchnorm-train forward", "batchnorm-train backward", "batchnorm-inference forward", "layernorm forward",
            "layernorm backward", "groupnorm forward", "groupnorm backward"];
        Assert.That(results.Select(r => $"{r.GetProperty("kernel").GetString()} {r.GetProperty("direction").GetString()}"), Is.EqualTo(perShape.Concat(perShape)));
        // Layer norm of 5x12: x and y (60 each), scale and bias (12 each), mean and invstd (5 each), f32.
        JsonElement layerNorm = results.Single(r => r.GetProperty("shape").GetString() == "5x12" && r.GetProperty("kernel").GetString() == "layernorm"
            && r.GetProperty("direction").GetString() == "forward");
        Assert.That(layerNorm.GetProperty("bytes").GetInt64(), Is.EqualTo((2 * 60 + 2 * 12 + 2 * 5) * 4));
        AssertRatesMatchBytes(results);

        JsonElement onlyGroupNorm = RunJson("bench", "norm", "--shapes", "2x6x4", "--kinds", "GroupNorm", "--groups", "3");
        Assert.That(onlyGroupNorm.GetProperty("results").GetArrayLength(), Is.EqualTo(2));
    }

    [Test]
    public void PoolReportsMaxWithIndicesAndAverage()
    {
        JsonElement report = RunJson("bench", "pool", "--shapes", "2x3x9x9", "--kernel", "3", "--stride", "2", "--pad", "1");
        JsonElement[] results = [.. report.GetProperty("results").EnumerateArray()];
        Assert.That(results.Select(r => $"{r.GetProperty("kernel").GetString()} {r.GetProperty("direction").GetString()}"),
            Is.EqualTo(new[] { "maxpool 3x3/2 pad 1 forward", "maxpool 3x3/2 pad 1 backward", "avgpool 3x3/2 pad 1 forward", "avgpool 3x3/2 pad 1 backward" }));
        // x: 2x3x9x9 = 486 f32; y: 2x3x5x5 = 150 f32; max adds 150 i64 indices.
        Assert.That(results.Select(r => r.GetProperty("bytes").GetInt64()),
            Is.EqualTo(new long[] { 486 * 4 + 150 * 4 + 150 * 8, 150 * 4 + 150 * 8 + 486 * 4, 486 * 4 + 150 * 4, 150 * 4 + 486 * 4 }));
        AssertRatesMatchBytes(results);
    }

    [Test]
    public void HumanReadableOutputHasALinePerCase()
    {
        (int exitCode, string output, string error) = CliRunner.Run("bench", "pool", "--shapes", "1x2x6x6", "--modes", "avg", "--min-seconds", "0");
        Assert.That(exitCode, Is.Zero, error);
        Assert.That(output.Split('\n', StringSplitOptions.RemoveEmptyEntries), Has.Length.EqualTo(2));
        Assert.That(output, Does.Contain("avgpool 3x3/2 pad 1").And.Contain("GB/s"));
    }

    private static void AssertRatesMatchBytes(IEnumerable<JsonElement> results)
    {
        foreach (JsonElement result in results)
        {
            double gbps = result.GetProperty("gbps").GetDouble(), ms = result.GetProperty("ms").GetDouble();
            Assert.That(result.GetProperty("repetitions").GetInt32(), Is.GreaterThanOrEqualTo(1));
            Assert.That(gbps, Is.GreaterThanOrEqualTo(result.GetProperty("median_gbps").GetDouble()));
            // Both are rounded (to 0.01 GB/s and 0.1 microseconds), so compare where the rounding is small.
            if (gbps >= 1 && ms >= 0.01)
            {
                Assert.That(result.GetProperty("bytes").GetInt64() / (ms / 1e3) / 1e9, Is.EqualTo(gbps).Within(2).Percent);
            }
        }
    }

    [TestCase("conv", "'resnet50'", "--layers", "resnet18,resnet50")]
    [TestCase("conv", "groups 4 must divide C = 6", "--layers", "c=1x6x8x8:4x3x3:1,1,4")]
    [TestCase("conv", "'c=1x6x8x8:4x3'", "--layers", "c=1x6x8x8:4x3")]
    [TestCase("conv", "'sideways'", "--direction", "sideways")]
    [TestCase("conv", "--batch", "--batch", "0")]
    [TestCase("softmax", "'4x4x4'", "--shapes", "4x4x4")]
    [TestCase("norm", "'instancenorm'", "--kinds", "instancenorm")]
    [TestCase("norm", "C = 6 of shape '2x6x3'", "--groups", "5", "--shapes", "2x6x3")]
    [TestCase("pool", "'1x1x2x2'", "--shapes", "1x1x2x2", "--kernel", "5")]
    [TestCase("pool", "--kernel 3", "--pad", "3")]
    [TestCase("pool", "--stride", "--stride", "0")]
    public void BadArgumentExitsWithOneAndIsNamed(string benchmark, string named, params string[] arguments)
    {
        (int exitCode, _, string error) = CliRunner.Run(["bench", benchmark, .. arguments, "--min-seconds", "0", "--json"]);
        Assert.That(exitCode, Is.EqualTo(1));
        Assert.That(error, Does.Contain(named).And.Contain(arguments[0]));
    }
}

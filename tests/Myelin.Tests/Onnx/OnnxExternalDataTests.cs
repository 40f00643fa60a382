using System.Security.Cryptography;
using Google.Protobuf;
using Myelin.Onnx;
using Myelin.Tests.TestSupport;
using NUnit.Framework;
using Onnx;
using static Myelin.Tests.Onnx.OnnxImportTests;

namespace Myelin.Tests.Onnx;

/// <summary>Initializers kept in files beside the model (data_location EXTERNAL), written by the tests and by the onnx package.</summary>
public class OnnxExternalDataTests
{
    private string _directory = "";

    [SetUp]
    public void CreateDirectory()
    {
        _directory = Path.Combine(Path.GetTempPath(), $"myelin-external-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_directory);
    }

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    // W[k, c] = 0.25 * (k * 4 + c) - 1.5 (3 x 4), b[c] = 0.1 * c - 0.2: the values tests/fixtures/make_onnx_external_fixture.py writes.
    private static readonly float[] s_weights = Enumerable.Range(0, 12).Select(i => 0.25f * i - 1.5f).ToArray();
    private static readonly float[] s_bias = Enumerable.Range(0, 4).Select(c => 0.1f * c - 0.2f).ToArray();

    private static float[] Reference(float[] x, int rows)
    {
        var y = new float[rows * 4];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < 4; c++)
            {
                float sum = s_bias[c];
                for (int k = 0; k < 3; k++) sum += x[r * 3 + k] * s_weights[k * 4 + c];
                y[r * 4 + c] = Math.Max(sum, 0);
            }
        }

        return y;
    }

    private static byte[] Bytes(float[] values) => values.SelectMany(BitConverter.GetBytes).ToArray();

    private static TensorProto External(string name, long[] dims, params (string Key, string Value)[] entries)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float, DataLocation = TensorProto.Types.DataLocation.External };
        tensor.Dims.Add(dims);
        foreach ((string key, string value) in entries) tensor.ExternalData.Add(new StringStringEntryProto { Key = key, Value = value });
        return tensor;
    }

    /// <summary>y = Relu(x @ W + b) with W and b given by the caller (external or not).</summary>
    private static ModelProto Model(TensorProto weights, TensorProto bias)
    {
        var graph = new GraphProto { Name = "external" };
        graph.Input.Add(TensorInfo("x", 1, "N", 3));
        graph.Initializer.Add(weights);
        graph.Initializer.Add(bias);
        graph.Node.Add(Node("MatMul", "mm", ["x", "W"], ["xw"]));
        graph.Node.Add(Node("Add", "bias", ["xw", "b"], ["z"]));
        graph.Node.Add(Node("Relu", "act", ["z"], ["y"]));
        graph.Output.Add(TensorInfo("y", 1, "N", 4));
        return OnnxImportTests.Model(graph, opset: 13);
    }

    /// <summary>weights.bin holds 16 bytes of padding, W, then b; the model points at them by offset.</summary>
    private string WriteModel(Func<TensorProto, TensorProto>? changeWeights = null)
    {
        File.WriteAllBytes(Path.Combine(_directory, "weights.bin"), [.. new byte[16], .. Bytes(s_weights), .. Bytes(s_bias)]);
        TensorProto weights = External("W", [3, 4], ("location", "weights.bin"), ("offset", "16"), ("length", "48"));
        TensorProto bias = External("b", [4], ("location", "weights.bin"), ("offset", "64"));
        string path = Path.Combine(_directory, "model.onnx");
        File.WriteAllBytes(path, Model(changeWeights?.Invoke(weights) ?? weights, bias).ToByteArray());
        return path;
    }

    private static void AssertRuns(InferenceSession session)
    {
        float[] x = [1f, -2f, 0.5f, 3f, 0.25f, -1f];
        using var scope = new TensorScope();
        Tensor y = session.Run(new Dictionary<string, Tensor> { ["x"] = Tensor.FromArray(x, 2, 3) })[0];
        Assert.That(y.ToArray<float>(), Is.EqualTo(Reference(x, 2)).Within(1e-5f));
    }

    [Test]
    public void ExternalInitializersAreReadRelativeToTheModelsDirectory()
    {
        string path = WriteModel();
        using (InferenceSession session = InferenceSession.Load(path)) AssertRuns(session);

        // From bytes or a stream the directory is unknown: refused by name unless the caller gives it.
        byte[] bytes = File.ReadAllBytes(path);
        var exception = Assert.Throws<OnnxFormatException>(() => InferenceSession.Load(bytes))!;
        Assert.That(exception.Message, Does.Contain("initializer 'W'").And.Contain("weights.bin").And.Contain("not loaded from a path"));
        using (var stream = new MemoryStream(bytes))
        {
            Assert.Throws<OnnxFormatException>(() => OnnxImporter.Load(stream));
        }

        using (InferenceSession session = InferenceSession.Load(bytes, externalDataDirectory: _directory)) AssertRuns(session);
        using (var stream = new MemoryStream(bytes))
        using (InferenceSession session = InferenceSession.Load(stream, externalDataDirectory: _directory)) AssertRuns(session);
    }

    [Test]
    public void AModelSavedByTheOnnxPackageWithExternalDataLoads()
    {
        using InferenceSession session = InferenceSession.Load(Path.Combine(Fixture.Directory, "onnx", "external", "model.onnx"));
        AssertRuns(session);
    }

    [Test]
    public void AMatchingChecksumIsAcceptedAndAWrongOneRefused()
    {
        string path = WriteModel();
        string digest = Convert.ToHexString(SHA1.HashData(File.ReadAllBytes(Path.Combine(_directory, "weights.bin")))).ToLowerInvariant();
        WriteModel(w => { w.ExternalData.Add(new StringStringEntryProto { Key = "checksum", Value = digest }); return w; });
        using (InferenceSession session = InferenceSession.Load(path)) AssertRuns(session);

        WriteModel(w => { w.ExternalData.Add(new StringStringEntryProto { Key = "checksum", Value = new string('0', 40) }); return w; });
        Assert.That(Assert.Throws<OnnxFormatException>(() => InferenceSession.Load(path))!.Message,
            Does.Contain("initializer 'W'").And.Contain("checksum").And.Contain(digest.ToUpperInvariant()));
    }

    [TestCase("location", "/etc/passwd", "absolute path")]
    [TestCase("location", "../weights.bin", "leaves the model's directory")]
    [TestCase("location", "sub/../../weights.bin", "leaves the model's directory")]
    [TestCase("location", "missing.bin", "cannot open")]
    [TestCase("location", "", "not a file name")]
    [TestCase("offset", "60", "reach past the end")]
    [TestCase("offset", "9223372036854775807", "reach past the end")]
    [TestCase("offset", "-4", "non-negative integer")]
    [TestCase("offset", "12abc", "non-negative integer")]
    [TestCase("length", "44", "take 48 bytes but external_data gives 44")]
    [TestCase("length", "99999999999999999999", "non-negative integer")]
    [TestCase("length", "9223372036854775807", "reach past the end")]
    public void BadExternalDataIsRefusedWithTheFieldNamed(string key, string value, string expected)
    {
        string path = WriteModel(w =>
        {
            w.ExternalData.Single(e => e.Key == key).Value = value;
            return w;
        });
        var exception = Assert.Throws<OnnxFormatException>(() => InferenceSession.Load(path))!;
        Assert.That(exception.Message, Does.Contain("initializer 'W'").And.Contain(expected));
    }

    [Test]
    public void MissingDuplicatedOrConflictingFieldsAreRefused()
    {
        string path = WriteModel(w => { w.ExternalData.RemoveAt(0); return w; });
        Assert.That(Assert.Throws<OnnxFormatException>(() => InferenceSession.Load(path))!.Message, Does.Contain("no 'location' key"));

        WriteModel(w => { w.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = "0" }); return w; });
        Assert.That(Assert.Throws<OnnxFormatException>(() => InferenceSession.Load(path))!.Message, Does.Contain("'offset' is given twice"));

        WriteModel(w => { w.RawData = ByteString.CopyFrom(Bytes(s_weights)); return w; });
        Assert.That(Assert.Throws<OnnxFormatException>(() => InferenceSession.Load(path))!.Message, Does.Contain("also holds data"));

        // Dims whose byte count cannot exist: refused before anything is allocated.
        WriteModel(w => { w.Dims[0] = 1L << 60; return w; });
        Assert.That(Assert.Throws<OnnxFormatException>(() => InferenceSession.Load(path))!.Message, Does.Contain("initializer 'W'").And.Contain("2^63"));

        // A location naming a directory.
        Directory.CreateDirectory(Path.Combine(_directory, "folder"));
        WriteModel(w => { w.ExternalData[0].Value = "folder"; return w; });
        Assert.That(Assert.Throws<OnnxFormatException>(() => InferenceSession.Load(path))!.Message, Does.Contain("initializer 'W'").And.Contain("folder"));
    }
}

using Google.Protobuf;
using Myelin.Onnx;
using NUnit.Framework;
using Onnx;
using static Myelin.Tests.Onnx.OnnxImportTests;

namespace Myelin.Tests.Onnx;

public class OnnxOmittedInputTests
{
    private const int T = 3, H = 2;

    private static float[] Values(int count, int seed) => [.. Enumerable.Range(0, count).Select(i => (float)(Math.Sin((i + 1) * 0.9 + seed) * 0.5))];

    /// <summary>LSTM(X, W, R, B, lengths, h0, c0) over a symbolic batch N; <paramref name="lengths"/> names the i32 sequence_lens input, or "" omits it.</summary>
    private static byte[] LstmModel(string lengths)
    {
        var graph = new GraphProto { Name = "lstm" };
        graph.Input.Add(TensorInfo("x", 1, T, "N", 2));
        graph.Input.Add(TensorInfo("h0", 1, 1, "N", H));
        graph.Input.Add(TensorInfo("c0", 1, 1, "N", H));
        graph.Initializer.Add(FloatTensor("W", Values(4 * H * 2, 1), [1, 4 * H, 2], raw: true));
        graph.Initializer.Add(FloatTensor("R", Values(4 * H * H, 2), [1, 4 * H, H], raw: true));
        graph.Initializer.Add(FloatTensor("B", Values(8 * H, 3), [1, 8 * H], raw: false));
        if (lengths.Length > 0) graph.Input.Add(TensorInfo(lengths, 6, "N"));

        graph.Node.Add(Node("LSTM", "lstm", ["x", "W", "R", "B", lengths, "h0", "c0"], ["", "y_h", "y_c"],
            new AttributeProto { Name = "hidden_size", Type = AttributeProto.Types.AttributeType.Int, I = H }));
        graph.Output.Add(TensorInfo("y_h", 1, 1, "N", H));
        graph.Output.Add(TensorInfo("y_c", 1, 1, "N", H));
        return Model(graph, opset: 14).ToByteArray();
    }

    [Test]
    public void AnOmittedSequenceLensBeforeGivenStatesMeansFullLength()
    {
        using var scope = new TensorScope();
        using InferenceSession omitted = InferenceSession.Load(LstmModel(""));
        using InferenceSession full = InferenceSession.Load(LstmModel("lens"));
        var feeds = new Dictionary<string, Tensor>
        {
            ["x"] = Tensor.FromArray(Values(T * 2 * 2, 4), T, 2, 2),
            ["h0"] = Tensor.FromArray(Values(2 * H, 5), 1, 2, H),
            ["c0"] = Tensor.FromArray(Values(2 * H, 6), 1, 2, H),
        };
        IReadOnlyList<Tensor> a = omitted.Run(feeds);
        feeds["lens"] = Tensor.FromArray(new[] { T, T });
        IReadOnlyList<Tensor> b = full.Run(feeds);
        Assert.That(a[0].ToArray<float>(), Is.EqualTo(b[0].ToArray<float>()).Within(1e-6f));
        Assert.That(a[1].ToArray<float>(), Is.EqualTo(b[1].ToArray<float>()).Within(1e-6f));
        Assert.That(a[0].ToArray<float>().Any(v => Math.Abs(v) > 1e-3), "the states moved");
    }

    [Test]
    public void AGapBeforeAGivenInputOfAnOpThatTakesNoneIsRefusedNamingTheNode()
    {
        var graph = new GraphProto { Name = "gap" };
        graph.Input.Add(TensorInfo("x", 1, 2, 4));
        graph.Input.Add(TensorInfo("scale", 1, 4));
        graph.Node.Add(Node("Gemm", "fc", ["x", "", "scale"], ["y"]));
        graph.Output.Add(TensorInfo("y", 1, 2, 4));
        var error = Assert.Throws<OnnxFormatException>(() => OnnxImporter.Load(Model(graph).ToByteArray()));
        Assert.That(error!.Message, Does.Contain("'fc'").And.Contain("input 1 is omitted"));
    }
}

using Google.Protobuf;
using Myelin.Graphs;
using Myelin.Onnx;
using NUnit.Framework;
using Onnx;

namespace Myelin.Tests.Onnx;

public class OnnxImportTests
{
    /// <summary>A graph input of f32 elements; a string dim is a dim_param, a number a dim_value.</summary>
    internal static ValueInfoProto TensorInfo(string name, int elemType, params object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (object dim in dims)
        {
            shape.Dim.Add(dim is string symbol ? new TensorShapeProto.Types.Dimension { DimParam = symbol } : new TensorShapeProto.Types.Dimension { DimValue = Convert.ToInt64(dim) });
        }

        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = elemType, Shape = shape } } };
    }

    internal static TensorProto FloatTensor(string name, float[] values, long[] dims, bool raw)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        tensor.Dims.Add(dims);
        if (raw)
        {
            tensor.RawData = ByteString.CopyFrom(values.SelectMany(BitConverter.GetBytes).ToArray());
        }
        else
        {
            tensor.FloatData.Add(values);
        }

        return tensor;
    }

    internal static NodeProto Node(string opType, string name, string[] inputs, string[] outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = name };
        node.Input.Add(inputs);
        node.Output.Add(outputs);
        node.Attribute.Add(attributes);
        return node;
    }

    internal static ModelProto Model(GraphProto graph, long opset = 17)
    {
        var model = new ModelProto { IrVersion = 8, Graph = graph, ProducerName = "myelin-tests" };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        return model;
    }

    private static readonly float[] s_weights = [0.5f, -1f, 2f, 0.25f, -0.75f, 1.5f]; // 3x2
    private static readonly float[] s_bias = [0.1f, -0.2f];

    /// <summary>x (N x 3) @ W (raw_data) + b (float_data), then Relu, then Transpose with perm [1, 0].</summary>
    private static ModelProto DenseModel()
    {
        var graph = new GraphProto { Name = "dense" };
        graph.Input.Add(TensorInfo("x", 1, "N", 3));
        graph.Initializer.Add(FloatTensor("W", s_weights, [3, 2], raw: true));
        graph.Initializer.Add(FloatTensor("b", s_bias, [2], raw: false));
        graph.Node.Add(Node("MatMul", "mm", ["x", "W"], ["xw"]));
        graph.Node.Add(Node("Add", "bias", ["xw", "b"], ["z"]));
        graph.Node.Add(Node("Relu", "act", ["z"], ["h"]));
        graph.Node.Add(Node("Transpose", "t", ["h"], ["y"], new AttributeProto { Name = "perm", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 1, 0 } }));
        graph.Output.Add(TensorInfo("y", 1, 2, "N"));
        return Model(graph);
    }

    private static float[] DenseReference(float[] x, int rows)
    {
        var y = new float[2 * rows];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < 2; c++)
            {
                float sum = s_bias[c];
                for (int k = 0; k < 3; k++) sum += x[r * 3 + k] * s_weights[k * 2 + c];
                y[c * rows + r] = Math.Max(sum, 0f);
            }
        }

        return y;
    }

    [Test]
    public void ImportedDenseModelMatchesReferenceForEveryBatchSize()
    {
        using var scope = new TensorScope();
        using InferenceSession session = InferenceSession.Load(DenseModel().ToByteArray());
        Assert.That(session.Inputs.Single().Name, Is.EqualTo("x"));
        Assert.That(session.Inputs.Single().Type.ToString(), Does.Contain("N"), "dim_param N stays symbolic");
        Assert.That(session.Outputs.Single().Name, Is.EqualTo("y"));

        foreach (int rows in new[] { 4, 1, 4 })
        {
            float[] x = Enumerable.Range(0, rows * 3).Select(i => (float)Math.Sin(i * 0.7) * 2).ToArray();
            IReadOnlyList<Tensor> outputs = session.Run(new Dictionary<string, Tensor> { ["x"] = Tensor.FromArray(x, rows, 3) });
            Assert.That(outputs[0].Name, Is.EqualTo("y"));
            Assert.That(outputs[0].Shape.ToArray(), Is.EqualTo(new long[] { 2, rows }));
            Assert.That(outputs[0].ToArray<float>(), Is.EqualTo(DenseReference(x, rows)).Within(1e-5f));
        }

        Assert.That(session.PlanCount, Is.EqualTo(2), "one plan per new batch size, reused for the repeat");
    }

    [Test]
    public void ResultsAreOwnedAndSurviveTheNextRun()
    {
        using var scope = new TensorScope();
        using var stream = new MemoryStream(DenseModel().ToByteArray());
        using InferenceSession session = InferenceSession.Load(stream);
        float[] first = [1, 2, 3], second = [-1, -2, -3];
        Tensor a = session.Run(new Dictionary<string, Tensor> { ["x"] = Tensor.FromArray(first, 1, 3) })[0];
        session.Run(new Dictionary<string, Tensor> { ["x"] = Tensor.FromArray(second, 1, 3) });
        Assert.That(a.ToArray<float>(), Is.EqualTo(DenseReference(first, 1)).Within(1e-5f));
    }

    [Test]
    public void ConstantNodeAndAttributesMapOntoTheRegistry()
    {
        // y = LeakyRelu(x * c, alpha = 0.2), c from a Constant node's tensor attribute, opset 17.
        float[] c = [2f, -3f];
        var graph = new GraphProto { Name = "constant" };
        graph.Input.Add(TensorInfo("x", 1, 2));
        graph.Node.Add(Node("Constant", "c", [], ["c"], new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = FloatTensor("", c, [2], raw: true) }));
        graph.Node.Add(Node("Mul", "scale", ["x", "c"], ["xc"]));
        graph.Node.Add(Node("LeakyRelu", "act", ["xc"], ["y"], new AttributeProto { Name = "alpha", Type = AttributeProto.Types.AttributeType.Float, F = 0.2f }));
        graph.Output.Add(TensorInfo("y", 1, 2));

        using var scope = new TensorScope();
        using InferenceSession session = InferenceSession.Load(Model(graph).ToByteArray());
        float[] x = [1.5f, 0.5f];
        float[] expected = x.Zip(c, (a, b) => a * b).Select(v => v >= 0 ? v : 0.2f * v).ToArray();
        Assert.That(session.Run(new Dictionary<string, Tensor> { ["x"] = Tensor.FromArray(x) })[0].ToArray<float>(), Is.EqualTo(expected).Within(1e-6f));
    }

    [Test]
    public void EveryUnsupportedOpTypeIsListedWithItsNodes()
    {
        var graph = new GraphProto { Name = "unsupported" };
        graph.Input.Add(TensorInfo("x", 1, 2));
        graph.Node.Add(Node("NoSuchOpA", "first", ["x"], ["a"]));
        graph.Node.Add(Node("Relu", "fine", ["a"], ["b"]));
        graph.Node.Add(Node("NoSuchOpB", "second", ["b"], ["c"]));
        graph.Node.Add(Node("NoSuchOpA", "third", ["c"], ["y"]));
        graph.Output.Add(TensorInfo("y", 1, 2));

        var exception = Assert.Throws<OnnxUnsupportedOpsException>(() => OnnxImporter.Load(Model(graph).ToByteArray()))!;
        Assert.That(exception.NodesByOpType.Keys, Is.EquivalentTo(new[] { "NoSuchOpA", "NoSuchOpB" }));
        Assert.That(exception.NodesByOpType["NoSuchOpA"], Is.EqualTo(new[] { "first", "third" }));
        Assert.That(exception.Message, Does.Contain("'first'").And.Contain("'second'").And.Contain("'third'"));
    }

    [Test]
    public void AnOpOutsideItsRegisteredOpsetsIsUnsupported()
    {
        // LayerNormalization exists from opset 17 only.
        var graph = new GraphProto { Name = "old" };
        graph.Input.Add(TensorInfo("x", 1, 2, 4));
        graph.Initializer.Add(FloatTensor("scale", [1, 1, 1, 1], [4], raw: true));
        graph.Initializer.Add(FloatTensor("bias", [0, 0, 0, 0], [4], raw: true));
        graph.Node.Add(Node("LayerNormalization", "ln", ["x", "scale", "bias"], ["y"]));
        graph.Output.Add(TensorInfo("y", 1, 2, 4));

        Assert.DoesNotThrow(() => OnnxImporter.Load(Model(graph, opset: 17).ToByteArray()).Dispose());
        var exception = Assert.Throws<OnnxUnsupportedOpsException>(() => OnnxImporter.Load(Model(graph, opset: 16).ToByteArray()))!;
        Assert.That(exception.Message, Does.Contain("LayerNormalization").And.Contain("opset 16").And.Contain("'ln'"));
    }

    [Test]
    public void TruncatedAndRandomBytesGiveMyelinExceptions()
    {
        byte[] model = DenseModel().ToByteArray();
        for (int length = 0; length < model.Length; length += 7)
        {
            Assert.Catch<MyelinException>(() => OnnxImporter.Load(model[..length]).Dispose(), $"truncated to {length} bytes");
        }

        var random = new Random(1234);
        for (int trial = 0; trial < 200; trial++)
        {
            var garbage = new byte[random.Next(1, 300)];
            random.NextBytes(garbage);
            Assert.Catch<MyelinException>(() => OnnxImporter.Load(garbage).Dispose(), $"random bytes, trial {trial}");
        }
    }

    [Test]
    public void MalformedModelsNameTheFieldOrNode()
    {
        ModelProto dangling = DenseModel();
        dangling.Graph.Node[1].Input[0] = "nowhere";
        Assert.That(Assert.Throws<OnnxFormatException>(() => OnnxImporter.Load(dangling.ToByteArray()))!.Message,
            Does.Contain("node 'bias' (Add)").And.Contain("'nowhere'"));

        ModelProto shortData = DenseModel();
        shortData.Graph.Initializer[0].Dims[0] = 1000;
        Assert.That(Assert.Throws<OnnxFormatException>(() => OnnxImporter.Load(shortData.ToByteArray()))!.Message,
            Does.Contain("initializer 'W'").And.Contain("2000 elements"));

        ModelProto noOpset = DenseModel();
        noOpset.OpsetImport.Clear();
        Assert.That(Assert.Throws<OnnxFormatException>(() => OnnxImporter.Load(noOpset.ToByteArray()))!.Message, Does.Contain("opset_import"));

        ModelProto twice = DenseModel();
        twice.Graph.Node[2].Output[0] = "xw";
        Assert.That(Assert.Throws<OnnxFormatException>(() => OnnxImporter.Load(twice.ToByteArray()))!.Message,
            Does.Contain("node 'act' (Relu)").And.Contain("'xw'"));

        ModelProto deepInitializer = DenseModel();
        deepInitializer.Graph.Initializer[1].Dims.Add(Enumerable.Repeat(1L, 10));
        Assert.That(Assert.Throws<OnnxFormatException>(() => OnnxImporter.Load(deepInitializer.ToByteArray()))!.Message,
            Does.Contain("initializer 'b'").And.Contain("11 entries"));

        ModelProto deepInput = DenseModel();
        for (int i = 0; i < 10; i++) deepInput.Graph.Input[0].Type.TensorType.Shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = 1 });
        Assert.That(Assert.Throws<OnnxFormatException>(() => OnnxImporter.Load(deepInput.ToByteArray()))!.Message,
            Does.Contain("graph.input 'x'").And.Contain("12 dims"));

        ModelProto badAttribute = DenseModel();
        badAttribute.Graph.Node[3].Attribute.Add(new AttributeProto { Name = "bogus", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
        Assert.That(Assert.Throws<GraphValidationException>(() => OnnxImporter.Load(badAttribute.ToByteArray()))!.Message,
            Does.Contain("'t'").And.Contain("bogus"));
    }

    [Test]
    public void TensorProtosOfEveryDtypeParseFromRawAndTypedFields()
    {
        using var scope = new TensorScope();
        static Tensor Parse(TensorProto proto) => OnnxTensors.Parse(proto.ToByteArray());
        static TensorProto Proto(TensorProto.Types.DataType type, params long[] dims)
        {
            var proto = new TensorProto { DataType = (int)type, Name = "t" };
            proto.Dims.Add(dims);
            return proto;
        }

        TensorProto f64 = Proto(TensorProto.Types.DataType.Double, 3);
        f64.DoubleData.Add([1.5, -2.25, 1e300]);
        Assert.That(Parse(f64).ToArray<double>(), Is.EqualTo(new[] { 1.5, -2.25, 1e300 }));

        TensorProto i64 = Proto(TensorProto.Types.DataType.Int64, 2, 1);
        i64.Int64Data.Add([long.MinValue, 7]);
        Tensor i64Tensor = Parse(i64);
        Assert.That(i64Tensor.ToArray<long>(), Is.EqualTo(new[] { long.MinValue, 7L }));
        Assert.That(i64Tensor.Shape.ToArray(), Is.EqualTo(new long[] { 2, 1 }));
        Assert.That(i64Tensor.Name, Is.EqualTo("t"));

        TensorProto i32 = Proto(TensorProto.Types.DataType.Int32, 2);
        i32.Int32Data.Add([-5, int.MaxValue]);
        Assert.That(Parse(i32).ToArray<int>(), Is.EqualTo(new[] { -5, int.MaxValue }));

        TensorProto boolean = Proto(TensorProto.Types.DataType.Bool, 3);
        boolean.Int32Data.Add([1, 0, 1]);
        Assert.That(Parse(boolean).ToArray<bool>(), Is.EqualTo(new[] { true, false, true }));

        Half[] halves = [(Half)1.5, (Half)(-0.25), Half.MaxValue];
        TensorProto f16 = Proto(TensorProto.Types.DataType.Float16, 3);
        f16.Int32Data.Add(halves.Select(h => (int)BitConverter.HalfToUInt16Bits(h)));
        Assert.That(Parse(f16).ToArray<Half>(), Is.EqualTo(halves));

        TensorProto f16Raw = Proto(TensorProto.Types.DataType.Float16, 3);
        f16Raw.RawData = ByteString.CopyFrom(halves.SelectMany(h => BitConverter.GetBytes(h)).ToArray());
        Assert.That(Parse(f16Raw).ToArray<Half>(), Is.EqualTo(halves));

        TensorProto i64Raw = Proto(TensorProto.Types.DataType.Int64, 2);
        i64Raw.RawData = ByteString.CopyFrom(BitConverter.GetBytes(-3L).Concat(BitConverter.GetBytes(1L << 40)).ToArray());
        Assert.That(Parse(i64Raw).ToArray<long>(), Is.EqualTo(new[] { -3L, 1L << 40 }));

        TensorProto scalar = Proto(TensorProto.Types.DataType.Float);
        scalar.FloatData.Add(4.5f);
        Tensor scalarTensor = Parse(scalar);
        Assert.That(scalarTensor.Rank, Is.Zero);
        Assert.That(scalarTensor.Item<float>(), Is.EqualTo(4.5f));

        TensorProto strings = Proto(TensorProto.Types.DataType.String, 1);
        Assert.That(Assert.Throws<OnnxFormatException>(() => Parse(strings))!.Message, Does.Contain("String"));

        TensorProto ragged = Proto(TensorProto.Types.DataType.Float, 2);
        ragged.RawData = ByteString.CopyFrom(new byte[7]);
        Assert.That(Assert.Throws<OnnxFormatException>(() => Parse(ragged))!.Message, Does.Contain("raw_data"));
    }

    [Test]
    public void OpsetSixAttributesMapOntoTheRegistrysNewerDefinitions()
    {
        // Opset 6: y = Softmax(Unsqueeze(x, axes = [0]) + b (broadcast = 1)), the softmax over the last axis.
        float[] b = [0.5f, -1f, 2f];
        var graph = new GraphProto { Name = "opset6" };
        graph.Input.Add(TensorInfo("x", 1, 3));
        graph.Initializer.Add(FloatTensor("b", b, [3], raw: false));
        graph.Node.Add(Node("Unsqueeze", "u", ["x"], ["x2"], new AttributeProto { Name = "axes", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 0 } }));
        graph.Node.Add(Node("Add", "add", ["x2", "b"], ["z"], new AttributeProto { Name = "broadcast", Type = AttributeProto.Types.AttributeType.Int, I = 1 }));
        graph.Node.Add(Node("Softmax", "sm", ["z"], ["y"]));
        graph.Output.Add(TensorInfo("y", 1, 1, 3));

        using var scope = new TensorScope();
        using InferenceSession session = InferenceSession.Load(Model(graph, opset: 6).ToByteArray());
        float[] x = [1f, 0.25f, -0.5f];
        double[] z = x.Zip(b, (p, q) => (double)p + q).ToArray();
        double[] expected = z.Select(v => Math.Exp(v) / z.Sum(Math.Exp)).ToArray();
        Tensor y = session.Run(new Dictionary<string, Tensor> { ["x"] = Tensor.FromArray(x) })[0];
        Assert.That(y.Shape.ToArray(), Is.EqualTo(new long[] { 1, 3 }));
        Assert.That(y.ToArray<float>().Select(v => (double)v), Is.EqualTo(expected).Within(1e-6));

        // Before opset 13 Softmax flattens from its axis on: only the last axis means the same as today.
        graph.Node[2].Attribute.Add(new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = 0 });
        Assert.That(Assert.Throws<OnnxFormatException>(() => OnnxImporter.Load(Model(graph, opset: 6).ToByteArray()))!.Message,
            Does.Contain("node 'sm' (Softmax)").And.Contain("axis 0"));
    }

    [Test]
    public void OldTopKAndHardmaxMapOntoTheRegistrysDefinitions()
    {
        // Opset 1: TopK's k is an attribute (axis -1, largest and sorted implied); Hardmax flattens from axis 1, here the last.
        var graph = new GraphProto { Name = "opset1" };
        graph.Input.Add(TensorInfo("x", 1, 2, 4));
        graph.Node.Add(Node("TopK", "top", ["x"], ["values", "indices"], new AttributeProto { Name = "k", Type = AttributeProto.Types.AttributeType.Int, I = 2 }));
        graph.Node.Add(Node("Hardmax", "hard", ["x"], ["one_hot"]));
        graph.Output.Add(TensorInfo("values", 1, 2, 2));
        graph.Output.Add(TensorInfo("indices", 7, 2, 2));
        graph.Output.Add(TensorInfo("one_hot", 1, 2, 4));

        using var scope = new TensorScope();
        using InferenceSession session = InferenceSession.Load(Model(graph, opset: 1).ToByteArray());
        float[] x = [1, 5, 3, 5, -2, -1, -4, -3];
        IReadOnlyList<Tensor> results = session.Run(new Dictionary<string, Tensor> { ["x"] = Tensor.FromArray(x, 2, 4) });
        Assert.That(results[0].ToArray<float>(), Is.EqualTo(new float[] { 5, 5, -1, -2 }));
        Assert.That(results[1].ToArray<long>(), Is.EqualTo(new long[] { 1, 3, 1, 0 }));
        Assert.That(results[2].ToArray<float>(), Is.EqualTo(new float[] { 0, 1, 0, 0, 0, 1, 0, 0 }));

        // Hardmax over axis 0 of a rank-2 input flattens everything before opset 13: not the per-axis meaning.
        graph.Node[1].Attribute.Add(new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = 0 });
        Assert.That(Assert.Throws<OnnxFormatException>(() => OnnxImporter.Load(Model(graph, opset: 1).ToByteArray()))!.Message,
            Does.Contain("node 'hard' (Hardmax)").And.Contain("axis 0"));
    }

    [Test]
    public void AShapeFedAsAnInputIsBoundPerValue()
    {
        // Reshape's shape is a graph input: the session builds the graph once per distinct shape value.
        var graph = new GraphProto { Name = "reshape" };
        graph.Input.Add(TensorInfo("x", 1, 2, 3));
        graph.Input.Add(TensorInfo("shape", 7, 2));
        graph.Node.Add(Node("Reshape", "r", ["x", "shape"], ["y"]));
        graph.Output.Add(TensorInfo("y", 1, "a", "b"));

        using var scope = new TensorScope();
        using InferenceSession session = InferenceSession.Load(Model(graph).ToByteArray());
        Assert.That(session.ValueBoundInputs, Is.EqualTo(new[] { "shape" }));
        float[] x = [1, 2, 3, 4, 5, 6];
        foreach (long[] shape in new[] { new long[] { 3, 2 }, [6, 1], [3, 2] })
        {
            Tensor y = session.Run(new Dictionary<string, Tensor> { ["x"] = Tensor.FromArray(x, 2, 3), ["shape"] = Tensor.FromArray(shape) })[0];
            Assert.That(y.Shape.ToArray(), Is.EqualTo(shape));
            Assert.That(y.ToArray<float>(), Is.EqualTo(x));
        }

        Assert.That(session.PlanCount, Is.EqualTo(2), "one build and plan per distinct shape value");
        Assert.Throws<FeedException>(() => session.Run(new Dictionary<string, Tensor> { ["x"] = Tensor.FromArray(x, 2, 3) }));
    }

    [Test]
    public void ValuesKnownAtImportFeedOpsThatNeedThemWhenTheGraphIsBuilt()
    {
        // y = Reshape(x + 1, Shape(x)) and r = Range(0, Cast<f32>(n), 1) with n a bound 0-d input: the Shape and the
        // Cast are evaluated at import, so Reshape and Range see constants (as expanded ONNX functions need).
        var graph = new GraphProto { Name = "known" };
        graph.Input.Add(TensorInfo("x", 1, 2, 3));
        graph.Input.Add(TensorInfo("n", 6));
        graph.Initializer.Add(FloatTensor("one", [1f], [], raw: false));
        graph.Initializer.Add(FloatTensor("zero", [0f], [], raw: false));
        graph.Node.Add(Node("Add", "plus", ["x", "one"], ["x1"]));
        graph.Node.Add(Node("Shape", "dims", ["x"], ["s"]));
        graph.Node.Add(Node("Reshape", "same", ["x1", "s"], ["y"]));
        graph.Node.Add(Node("Cast", "nf", ["n"], ["limit"], new AttributeProto { Name = "to", Type = AttributeProto.Types.AttributeType.Int, I = 1 }));
        graph.Node.Add(Node("Range", "steps", ["zero", "limit", "one"], ["r"]));
        graph.Output.Add(TensorInfo("y", 1, 2, 3));
        graph.Output.Add(TensorInfo("r", 1, "k"));

        using var scope = new TensorScope();
        using InferenceSession session = InferenceSession.Load(Model(graph).ToByteArray());
        Assert.That(session.ValueBoundInputs, Is.EqualTo(new[] { "n" }));
        IReadOnlyList<Tensor> outputs = session.Run(new Dictionary<string, Tensor> { ["x"] = Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3), ["n"] = Tensor.Scalar(4) });
        Assert.That(outputs[0].ToArray<float>(), Is.EqualTo(new float[] { 2, 3, 4, 5, 6, 7 }));
        Assert.That(outputs[1].ToArray<float>(), Is.EqualTo(new float[] { 0, 1, 2, 3 }));
    }

    [Test]
    public void AConstantOutputIsReturnedWithoutPlanning()
    {
        // y = Shape(x) folds to a constant once x's shape is known at compile time.
        var graph = new GraphProto { Name = "shape" };
        graph.Input.Add(TensorInfo("x", 1, 4, 5));
        graph.Node.Add(Node("Shape", "s", ["x"], ["y"]));
        graph.Output.Add(TensorInfo("y", 7, 2));

        using var scope = new TensorScope();
        using InferenceSession session = InferenceSession.Load(Model(graph).ToByteArray());
        Tensor y = session.Run(new Dictionary<string, Tensor> { ["x"] = Tensor.Zeros(new Shape(4, 5)) })[0];
        Assert.That(y.ToArray<long>(), Is.EqualTo(new long[] { 4, 5 }));
    }

    [Test]
    public void PoolingWindowsOfZeroStrideOrNegativePadsAreRefused()
    {
        foreach ((string attribute, long[] values) in new[] { ("strides", new long[] { 0, 1 }), ("pads", [0, -1, 0, 0]), ("dilations", [1, -2]), ("kernel_shape", [0, 2]) })
        {
            var graph = new GraphProto { Name = "pool" };
            graph.Input.Add(TensorInfo("x", 1, 1, 1, 3, 3));
            var attributes = new List<AttributeProto> { new() { Name = attribute, Type = AttributeProto.Types.AttributeType.Ints, Ints = { values } } };
            if (attribute != "kernel_shape") attributes.Add(new AttributeProto { Name = "kernel_shape", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 2, 2 } });
            graph.Node.Add(Node("MaxPool", "pool", ["x"], ["y"], [.. attributes]));
            graph.Output.Add(TensorInfo("y", 1, 1, 1, 2, 2));
            var exception = Assert.Catch<MyelinException>(() => OnnxImporter.Load(Model(graph).ToByteArray()).Dispose(), attribute)!;
            Assert.That(exception.Message, Does.Contain("'pool'").And.Contain(attribute), attribute);
        }
    }

    [TestCase("SAME_UPPER")]
    [TestCase("SAME_LOWER")]
    public void AutoPadBecomesExplicitPads(string mode)
    {
        // MaxPool 2x2, stride 1, over a 3x3 image: SAME keeps 3x3 and pads one row and column at the end (UPPER) or start (LOWER).
        var graph = new GraphProto { Name = "pool" };
        graph.Input.Add(TensorInfo("x", 1, 1, 1, 3, 3));
        graph.Node.Add(Node("MaxPool", "pool", ["x"], ["y"],
            new AttributeProto { Name = "kernel_shape", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 2, 2 } },
            new AttributeProto { Name = "auto_pad", Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(mode) }));
        graph.Output.Add(TensorInfo("y", 1, 1, 1, 3, 3));

        float[] x = [1, -2, 3, -4, 5, -6, 7, -8, 9];
        int offset = mode == "SAME_UPPER" ? 0 : -1;
        var expected = new float[9];
        for (int r = 0; r < 3; r++)
        {
            for (int c = 0; c < 3; c++)
            {
                float best = float.NegativeInfinity;
                for (int i = r + offset; i < r + offset + 2; i++)
                {
                    for (int j = c + offset; j < c + offset + 2; j++)
                    {
                        if (i is >= 0 and < 3 && j is >= 0 and < 3) best = Math.Max(best, x[i * 3 + j]);
                    }
                }

                expected[r * 3 + c] = best;
            }
        }

        using var scope = new TensorScope();
        using InferenceSession session = InferenceSession.Load(Model(graph).ToByteArray());
        Tensor y = session.Run(new Dictionary<string, Tensor> { ["x"] = Tensor.FromArray(x, 1, 1, 3, 3) })[0];
        Assert.That(y.ToArray<float>(), Is.EqualTo(expected));
    }

    [Test]
    public void QLinearConvAutoPadTakesTheKernelFromTheWeightInput()
    {
        // Unit scales and zero points: y is the plain sum of a 2x2 window over x padded at the end (SAME_UPPER).
        var graph = new GraphProto { Name = "qconv" };
        graph.Input.Add(TensorInfo("x", 2, 1, 1, 3, 3));
        graph.Input.Add(TensorInfo("w", 2, 1, 1, 2, 2));
        graph.Initializer.Add(FloatTensor("scale", [1], [], raw: false));
        graph.Initializer.Add(new TensorProto { Name = "zero", DataType = 2, RawData = ByteString.CopyFrom(0) });
        graph.Node.Add(Node("QLinearConv", "qconv", ["x", "scale", "zero", "w", "scale", "zero", "scale", "zero"], ["y"],
            new AttributeProto { Name = "auto_pad", Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8("SAME_UPPER") }));
        graph.Output.Add(TensorInfo("y", 2, 1, 1, 3, 3));

        byte[] x = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        byte[] w = [1, 2, 3, 4];
        var expected = new byte[9];
        for (int r = 0; r < 3; r++)
        {
            for (int c = 0; c < 3; c++)
            {
                int sum = 0;
                for (int i = 0; i < 2; i++)
                {
                    for (int j = 0; j < 2; j++)
                    {
                        if (r + i < 3 && c + j < 3) sum += x[((r + i) * 3) + c + j] * w[(i * 2) + j];
                    }
                }

                expected[(r * 3) + c] = (byte)Math.Min(sum, 255);
            }
        }

        using var scope = new TensorScope();
        using InferenceSession session = InferenceSession.Load(Model(graph, opset: 10).ToByteArray());
        Tensor y = session.Run(new Dictionary<string, Tensor> { ["x"] = Tensor.FromArray(x, 1, 1, 3, 3), ["w"] = Tensor.FromArray(w, 1, 1, 2, 2) })[0];
        Assert.That(y.ToArray<byte>(), Is.EqualTo(expected));
    }
}

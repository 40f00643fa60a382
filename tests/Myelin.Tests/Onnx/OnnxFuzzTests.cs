using System.Diagnostics;
using Google.Protobuf;
using Myelin.Execution;
using Myelin.Graphs;
using Myelin.Onnx;
using Myelin.Ops;
using NUnit.Framework;
using Onnx;
using static Myelin.Tests.Onnx.OnnxImportTests;

namespace Myelin.Tests.Onnx;

/// <summary>
/// Seeded fuzzing of the ONNX loader: valid small models are mutated at the byte level (truncation, bit flips,
/// overwrites, insertions, deletions) and at the structure level (huge or negative dims, wrong dtypes, dangling and
/// duplicated names, cycles, bogus attributes, external-data fields, swapped op types), then loaded and run. Every
/// case must either succeed or throw a <see cref="MyelinException"/>, within a time limit. Each case draws from its
/// own <see cref="Random"/> seeded by its index, so a failure names the case that reproduces it alone.
/// </summary>
public class OnnxFuzzTests
{
    private const int Cases = 12_000;
    private const int BaseSeed = 20_261_205;
    private static readonly TimeSpan s_caseLimit = TimeSpan.FromSeconds(10);

    /// <summary>A mutated shape may ask for terabytes; the plan refuses past a few megabytes instead.</summary>
    private static readonly CompileOptions s_options = new() { MemoryLimitBytes = 1 << 24 };

    /// <summary>Feeds larger than this many elements are not run (a declared dim may be huge; that is the point).</summary>
    private const long MaxFeedElements = 1 << 12;

    private static readonly long[] s_extremeDims = [0, -1, -7, 1L << 31, 1L << 32, 3_000_000_000, 1L << 40, 1L << 62, long.MaxValue, long.MinValue, 1 << 20];
    private static readonly long[] s_extremeInts = [0, -1, 1, 2, -2, 7, 64, int.MaxValue, int.MinValue, long.MaxValue, long.MinValue, 1L << 40, -(1L << 40)];
    private static readonly string[] s_extremeStrings = ["", " ", "NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER", "constant", "reflect", "edge", "bogus", "\u0000", "é"];

    private string _directory = "";

    /// <summary>A directory with a weights.bin for mutations that point initializers at external data.</summary>
    [SetUp]
    public void CreateDirectory()
    {
        _directory = Path.Combine(Path.GetTempPath(), $"myelin-fuzz-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_directory);
        var weights = new byte[256];
        new Random(BaseSeed).NextBytes(weights);
        File.WriteAllBytes(Path.Combine(_directory, "weights.bin"), weights);
    }

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    [Test]
    public void MutatedModelsLoadOrThrowMyelinExceptions()
    {
        ModelProto[] seeds = Seeds();
        foreach (ModelProto seed in seeds)
        {
            // The seeds themselves must load and run, or the mutations would start from a broken model.
            Assert.That(LoadAndRun(seed.ToByteArray(), _directory), Is.True, $"seed '{seed.Graph.Name}'");
        }

        byte[][] seedBytes = seeds.Select(s => s.ToByteArray()).ToArray();
        string[] opTypes = OpRegistry.All.Values.Where(o => o.Domain.Length == 0).Select(o => o.OpType).Distinct().Order(StringComparer.Ordinal).ToArray();
        var failures = new Dictionary<string, string>(StringComparer.Ordinal);
        var watch = Stopwatch.StartNew();
        var outcomes = new int[Enum.GetValues<Outcome>().Length];
        for (int index = 0; index < Cases; index++)
        {
            (byte[] bytes, string description, int which) = MakeCase(index, seeds, seedBytes, opTypes);
            string where = $"case {index} (seed '{seeds[which].Graph.Name}': {description})";
            var task = Task.Run(() => RunCase(bytes, _directory));
            if (!task.Wait(s_caseLimit))
            {
                Assert.Fail($"{where} ran past {s_caseLimit.TotalSeconds} s");
            }

            (Outcome outcome, string? failure) = task.Result;
            outcomes[(int)outcome]++;
            if (failure is not null)
            {
                // One report per kind of failure (type and throwing frame), so a run lists every distinct bug.
                failures.TryAdd(failure.Split('\n')[0], $"{where}: {failure}");
            }
        }

        TestContext.Out.WriteLine($"{Cases} mutated models in {watch.Elapsed.TotalSeconds:F1} s: "
            + string.Join(", ", Enum.GetValues<Outcome>().Select(o => $"{outcomes[(int)o]} {o}")));
        Assert.That(failures.Values, Is.Empty, "every mutated model loads or throws a MyelinException");
        // The mutations must not all die in the parser: enough of them reach import, compilation and a run.
        Assert.That(outcomes[(int)Outcome.Ran], Is.GreaterThan(Cases / 20), "mutated models that loaded and ran");
        Assert.That(outcomes[(int)Outcome.Refused], Is.GreaterThan(Cases / 2), "mutated models refused");
    }

    /// <summary>Mutated model number <paramref name="index"/>: its bytes, the mutations applied, and the seed it started from.</summary>
    private static (byte[] Bytes, string Description, int Seed) MakeCase(int index, ModelProto[] seeds, byte[][] seedBytes, string[] opTypes)
    {
        var random = new Random(BaseSeed + index);
        int which = random.Next(seeds.Length);
        string description;
        byte[] bytes;
        if (random.Next(10) < 4)
        {
            (bytes, description) = MutateBytes(seedBytes[which], random);
        }
        else
        {
            ModelProto model = seeds[which].Clone();
            var applied = new List<string>();
            int count = 1 + random.Next(2);
            for (int m = 0; m < count; m++) applied.Add(MutateStructure(model, random, opTypes));
            bytes = model.ToByteArray();
            description = string.Join(", ", applied);
            if (random.Next(5) == 0)
            {
                (bytes, string byteDescription) = MutateBytes(bytes, random);
                description += ", " + byteDescription;
            }
        }

        return (bytes, description, which);
    }

    private enum Outcome
    {
        Refused,
        LoadedOnly,
        Ran,
        Failed,
    }

    /// <summary>Loads and runs one model: how far it got, and what went wrong unless it ran or threw a <see cref="MyelinException"/>.</summary>
    private static (Outcome, string?) RunCase(byte[] bytes, string directory)
    {
        try
        {
            return (LoadAndRun(bytes, directory) ? Outcome.Ran : Outcome.LoadedOnly, null);
        }
        catch (MyelinException)
        {
            return (Outcome.Refused, null);
        }
        catch (Exception exception)
        {
            string frame = exception.StackTrace?.Split('\n').FirstOrDefault()?.Trim() ?? "";
            return (Outcome.Failed, $"{exception.GetType().Name} {frame}\n{exception.Message}\n{exception.StackTrace}");
        }
    }

    /// <summary>Loads the model and runs it on feeds of ones (symbolic dims 2); false when the declared inputs are too large to feed.</summary>
    private static bool LoadAndRun(byte[] bytes, string directory)
    {
        using var scope = new TensorScope();
        using InferenceSession session = InferenceSession.Load(bytes, s_options, directory);
        var feeds = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (OnnxValueInfo input in session.Inputs)
        {
            long[] dims = input.Type.ToArray().Select(d => d.IsKnown ? d.Value : 2).ToArray();
            long elements = 1;
            foreach (long dim in dims)
            {
                elements = dim == 0 ? 0 : elements > MaxFeedElements / Math.Max(dim, 1) ? MaxFeedElements + 1 : elements * dim;
            }

            if (elements > MaxFeedElements) return false;
            feeds[input.Name] = Tensor.Full(new Shape(dims), 1, input.Type.DType);
        }

        session.Run(feeds);
        return true;
    }

    private static (byte[] Bytes, string Description) MutateBytes(byte[] seed, Random random)
    {
        var bytes = new List<byte>(seed);
        switch (random.Next(6))
        {
            case 0:
                int length = random.Next(bytes.Count);
                return (seed[..length], $"truncated to {length} bytes");
            case 1:
                int flips = 1 + random.Next(8);
                for (int i = 0; i < flips; i++)
                {
                    int at = random.Next(bytes.Count);
                    bytes[at] ^= (byte)(1 << random.Next(8));
                }

                return (bytes.ToArray(), $"{flips} bits flipped");
            case 2:
                int start = random.Next(bytes.Count), count = Math.Min(1 + random.Next(16), bytes.Count - start);
                for (int i = start; i < start + count; i++) bytes[i] = (byte)random.Next(256);
                return (bytes.ToArray(), $"{count} bytes overwritten at {start}");
            case 3:
                var inserted = new byte[1 + random.Next(16)];
                random.NextBytes(inserted);
                int insertAt = random.Next(bytes.Count + 1);
                bytes.InsertRange(insertAt, inserted);
                return (bytes.ToArray(), $"{inserted.Length} bytes inserted at {insertAt}");
            case 4:
                int from = random.Next(bytes.Count), removed = Math.Min(1 + random.Next(16), bytes.Count - from);
                bytes.RemoveRange(from, removed);
                return (bytes.ToArray(), $"{removed} bytes deleted at {from}");
            default:
                // A length prefix (varint) set to a large value: the parser must not trust it.
                int varintAt = random.Next(bytes.Count);
                bytes[varintAt] = 0xFF;
                if (varintAt + 1 < bytes.Count) bytes[varintAt + 1] = 0xFF;
                if (varintAt + 2 < bytes.Count) bytes[varintAt + 2] = 0x7F;
                return (bytes.ToArray(), $"large varint at {varintAt}");
        }
    }

    /// <summary>Applies one structural mutation to <paramref name="model"/> and says which.</summary>
    private static string MutateStructure(ModelProto model, Random random, string[] opTypes)
    {
        GraphProto graph = model.Graph;
        List<TensorProto> tensors = [.. graph.Initializer, .. graph.Node.SelectMany(n => n.Attribute).Where(a => a.T is not null).Select(a => a.T)];
        List<ValueInfoProto> infos = [.. graph.Input, .. graph.Output];
        List<string> names = [.. graph.Input.Select(i => i.Name), .. graph.Initializer.Select(i => i.Name), .. graph.Node.SelectMany(n => n.Output)];
        NodeProto? node = graph.Node.Count > 0 ? graph.Node[random.Next(graph.Node.Count)] : null;
        T Pick<T>(IReadOnlyList<T> items) => items[random.Next(items.Count)];

        switch (random.Next(19))
        {
            case 0 when tensors.Count > 0:
            {
                TensorProto tensor = Pick(tensors);
                long dim = Pick(s_extremeDims);
                if (tensor.Dims.Count == 0 || random.Next(3) == 0) tensor.Dims.Add(dim);
                else tensor.Dims[random.Next(tensor.Dims.Count)] = dim;
                return $"tensor '{tensor.Name}' dim {dim}";
            }

            case 1 when infos.Count > 0:
            {
                ValueInfoProto info = Pick(infos);
                TensorShapeProto? shape = info.Type?.TensorType?.Shape;
                if (shape is null || random.Next(6) == 0)
                {
                    if (info.Type?.TensorType is { } tensorType) tensorType.Shape = null;
                    return $"value '{info.Name}' shape cleared";
                }

                if (random.Next(6) == 0)
                {
                    for (int i = 0; i < 12; i++) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = 1 });
                    return $"value '{info.Name}' rank {shape.Dim.Count}";
                }

                var dimension = random.Next(3) == 0
                    ? new TensorShapeProto.Types.Dimension { DimParam = Pick(["", " ", "N", "x_dim0"]) }
                    : new TensorShapeProto.Types.Dimension { DimValue = Pick(s_extremeDims) };
                if (shape.Dim.Count == 0 || random.Next(3) == 0) shape.Dim.Add(dimension);
                else shape.Dim[random.Next(shape.Dim.Count)] = dimension;
                return $"value '{info.Name}' dim {dimension}";
            }

            case 2 when tensors.Count > 0:
            {
                TensorProto tensor = Pick(tensors);
                tensor.DataType = random.Next(-2, 25);
                return $"tensor '{tensor.Name}' data_type {tensor.DataType}";
            }

            case 3 when infos.Count > 0:
            {
                ValueInfoProto info = Pick(infos);
                if (info.Type?.TensorType is null) return "no-op";
                info.Type.TensorType.ElemType = random.Next(-2, 25);
                return $"value '{info.Name}' elem_type {info.Type.TensorType.ElemType}";
            }

            case 4 when node is not null && node.Input.Count > 0:
                node.Input[random.Next(node.Input.Count)] = "ghost";
                return $"node '{node.Name}' dangling input";
            case 5 when node is not null && node.Output.Count > 0 && names.Count > 0:
                node.Output[random.Next(node.Output.Count)] = Pick(names);
                return $"node '{node.Name}' duplicate output";
            case 6 when node is not null && node.Input.Count > 0:
            {
                // An input from this node or a later one: a cycle, or nodes out of topological order.
                int at = graph.Node.IndexOf(node);
                NodeProto later = graph.Node[at + random.Next(graph.Node.Count - at)];
                node.Input[random.Next(node.Input.Count)] = Pick(later.Output);
                return $"node '{node.Name}' reads '{later.Name}' (cycle)";
            }

            case 7 when graph.Node.Count > 1:
            {
                NodeProto[] nodes = [.. graph.Node];
                random.Shuffle(nodes);
                graph.Node.Clear();
                graph.Node.Add(nodes);
                return "nodes shuffled";
            }

            case 8 when node is not null:
            {
                var attribute = new AttributeProto { Name = Pick(["axis", "axes", "perm", "pads", "strides", "kernel_shape", "to", "value", "keepdims", "bogus", ""]) };
                switch (random.Next(7))
                {
                    case 0: attribute.I = Pick(s_extremeInts); break;
                    case 1: attribute.F = Pick([float.NaN, float.PositiveInfinity, -1f, 1e30f]); break;
                    case 2: attribute.Ints.Add(Enumerable.Range(0, random.Next(12)).Select(_ => Pick(s_extremeInts))); break;
                    case 3: attribute.S = ByteString.CopyFromUtf8(Pick(s_extremeStrings)); break;
                    case 4: attribute.T = FloatTensor("", [1f, 2f], [2], raw: true); break;
                    case 5: attribute.G = new GraphProto { Name = "sub" }; break;
                    default: break;
                }

                if (random.Next(2) == 0) attribute.Type = (AttributeProto.Types.AttributeType)random.Next(15);
                node.Attribute.Add(attribute);
                return $"node '{node.Name}' attribute '{attribute.Name}' {attribute.Type}";
            }

            case 9 when node is not null && node.Attribute.Count > 0:
            {
                AttributeProto attribute = Pick(node.Attribute);
                for (int i = 0; i < attribute.Ints.Count; i++) attribute.Ints[i] = random.Next(2) == 0 ? attribute.Ints[i] : Pick(s_extremeInts);
                if (random.Next(3) == 0) attribute.Ints.Add(Pick(s_extremeInts));
                if (attribute.HasI) attribute.I = Pick(s_extremeInts);
                if (attribute.HasF) attribute.F = Pick([float.NaN, float.NegativeInfinity, -1f, 0f, 1e30f]);
                if (attribute.HasS) attribute.S = ByteString.CopyFromUtf8(Pick(s_extremeStrings));
                if (attribute.T is not null) attribute.T.Dims.Add(Pick(s_extremeDims));
                return $"node '{node.Name}' attribute '{attribute.Name}' values";
            }

            case 10 when tensors.Count > 0:
            {
                TensorProto tensor = Pick(tensors);
                tensor.DataLocation = TensorProto.Types.DataLocation.External;
                if (random.Next(2) == 0)
                {
                    // A well-formed reference into weights.bin (256 bytes), at an offset that may or may not leave room.
                    long length = tensor.HasRawData ? tensor.RawData.Length : 4L * (tensor.FloatData.Count + tensor.Int32Data.Count) + 8L * tensor.Int64Data.Count;
                    tensor.ClearRawData();
                    tensor.FloatData.Clear();
                    tensor.Int32Data.Clear();
                    tensor.Int64Data.Clear();
                    string offset = Pick(["0", "4", "64", "200", "256"]);
                    tensor.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "weights.bin" });
                    tensor.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset });
                    if (random.Next(2) == 0) tensor.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = $"{length}" });
                    return $"tensor '{tensor.Name}' external data at {offset}";
                }

                if (random.Next(2) == 0) tensor.ClearRawData();
                int entries = random.Next(4);
                for (int i = 0; i < entries; i++)
                {
                    tensor.ExternalData.Add(new StringStringEntryProto
                    {
                        Key = Pick(["location", "offset", "length", "checksum", "bogus", "location"]),
                        Value = Pick(["", "/etc/passwd", "../outside.bin", "weights.bin", "weights.bin", "a/../../b", ".", "-1", "0", "4", "8", "24", "256", "99999999999999999999", "9223372036854775807", "x"]),
                    });
                }

                return $"tensor '{tensor.Name}' external data ({entries} entries)";
            }

            case 11:
            {
                int what = random.Next(4);
                if (what == 0 && graph.Initializer.Count > 0) graph.Initializer.RemoveAt(random.Next(graph.Initializer.Count));
                else if (what == 1 && graph.Input.Count > 0) graph.Input.RemoveAt(random.Next(graph.Input.Count));
                else if (what == 2 && graph.Node.Count > 0) graph.Node.RemoveAt(random.Next(graph.Node.Count));
                else if (graph.Output.Count > 0) graph.Output.RemoveAt(random.Next(graph.Output.Count));
                return $"removed a part ({what})";
            }

            case 12 when node is not null:
                node.OpType = Pick(opTypes);
                if (random.Next(8) == 0) node.Domain = Pick(["ai.onnx", "ai.myelin", "com.microsoft", "bogus"]);
                return $"node '{node.Name}' op_type {node.OpType}";
            case 13 when model.OpsetImport.Count > 0:
                model.OpsetImport[0].Version = Pick([0, 1, 5, 6, 7, 9, 10, 11, 12, 13, 17, 18, 99, long.MaxValue, -3]);
                return $"opset {model.OpsetImport[0].Version}";
            case 14 when node is not null && names.Count > 0:
            {
                int what = random.Next(4);
                if (what == 0) node.Input.Add(Pick(names));
                else if (what == 1 && node.Input.Count > 0) node.Input.RemoveAt(random.Next(node.Input.Count));
                else if (what == 2) node.Input.Insert(0, "");
                else node.Output.Add($"extra{random.Next(3)}");
                return $"node '{node.Name}' arity ({what})";
            }

            case 15 when tensors.Count > 0:
            {
                TensorProto tensor = Pick(tensors);
                if (tensor.HasRawData)
                {
                    var raw = tensor.RawData.ToByteArray();
                    int length = random.Next(raw.Length * 2 + 2);
                    Array.Resize(ref raw, length);
                    tensor.RawData = ByteString.CopyFrom(raw);
                    return $"tensor '{tensor.Name}' raw_data {length} bytes";
                }

                tensor.FloatData.Add(1f);
                tensor.Int64Data.Add(1);
                tensor.Int32Data.Add(1);
                return $"tensor '{tensor.Name}' typed fields grown";
            }

            case 16 when tensors.Count > 0:
            {
                TensorProto tensor = Pick(tensors);
                if (random.Next(3) == 0)
                {
                    tensor.Segment = new TensorProto.Types.Segment { Begin = 0, End = 1 };
                    return $"tensor '{tensor.Name}' segment";
                }

                // Many dims of 1: the element count still matches, the rank does not fit.
                for (int i = 0; i < 12; i++) tensor.Dims.Add(1);
                return $"tensor '{tensor.Name}' rank {tensor.Dims.Count}";
            }

            case 17:
                if (random.Next(2) == 0)
                {
                    graph.SparseInitializer.Add(new SparseTensorProto { Values = FloatTensor("sparse", [1f], [1], raw: false), Dims = { 4 } });
                    return "sparse initializer";
                }

                graph.Output.Add(new ValueInfoProto { Name = Pick(names.Count > 0 ? names : ["none"]) });
                return "output without a type";
            case 18 when tensors.Count > 0:
            {
                // Element values at the extremes: shapes, axes, starts and indices of any size; NaN and infinities.
                TensorProto tensor = Pick(tensors);
                byte[] data = tensor.HasRawData ? tensor.RawData.ToByteArray() : [];
                if (tensor.DataType == (int)TensorProto.Types.DataType.Int64)
                {
                    long value = Pick(s_extremeInts);
                    if (data.Length >= 8) BitConverter.TryWriteBytes(data.AsSpan(8 * random.Next(data.Length / 8)), value);
                    else if (tensor.Int64Data.Count > 0) tensor.Int64Data[random.Next(tensor.Int64Data.Count)] = value;
                    if (tensor.HasRawData) tensor.RawData = ByteString.CopyFrom(data);
                    return $"tensor '{tensor.Name}' element {value}";
                }

                float number = Pick([float.NaN, float.PositiveInfinity, float.NegativeInfinity, float.MaxValue, 0f]);
                if (data.Length >= 4) BitConverter.TryWriteBytes(data.AsSpan(4 * random.Next(data.Length / 4)), number);
                else if (tensor.FloatData.Count > 0) tensor.FloatData[random.Next(tensor.FloatData.Count)] = number;
                if (tensor.HasRawData) tensor.RawData = ByteString.CopyFrom(data);
                return $"tensor '{tensor.Name}' element {number}";
            }
        }

        return "no-op";
    }

    /// <summary>Small valid models that together reach the importer's paths: raw and typed data, symbolic dims, Constant nodes, integer and bool values, and an old opset.</summary>
    private static ModelProto[] Seeds() => [Dense(), ConvNet(), ShapeOps(), IntegerOps(), Opset6(), NormOps()];

    private static AttributeProto Ints(string name, params long[] values) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Ints, Ints = { values } };

    private static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    private static TensorProto LongTensor(string name, long[] values, long[] dims, bool raw)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        tensor.Dims.Add(dims);
        if (raw) tensor.RawData = ByteString.CopyFrom(values.SelectMany(BitConverter.GetBytes).ToArray());
        else tensor.Int64Data.Add(values);
        return tensor;
    }

    private static float[] Ramp(int count) => Enumerable.Range(0, count).Select(i => (float)Math.Sin(i * 0.37)).ToArray();

    private static ModelProto Dense()
    {
        var graph = new GraphProto { Name = "dense" };
        graph.Input.Add(TensorInfo("x", 1, "N", 3));
        graph.Initializer.Add(FloatTensor("W", Ramp(6), [3, 2], raw: true));
        graph.Initializer.Add(FloatTensor("b", Ramp(2), [2], raw: false));
        graph.Node.Add(Node("MatMul", "mm", ["x", "W"], ["xw"]));
        graph.Node.Add(Node("Add", "bias", ["xw", "b"], ["z"]));
        graph.Node.Add(Node("Relu", "act", ["z"], ["h"]));
        graph.Node.Add(Node("Transpose", "t", ["h"], ["y"], Ints("perm", 1, 0)));
        graph.Output.Add(TensorInfo("y", 1, 2, "N"));
        return Model(graph);
    }

    private static ModelProto ConvNet()
    {
        var graph = new GraphProto { Name = "conv" };
        graph.Input.Add(TensorInfo("x", 1, 1, 1, 4, 4));
        graph.Initializer.Add(FloatTensor("w", Ramp(18), [2, 1, 3, 3], raw: true));
        graph.Initializer.Add(FloatTensor("cb", Ramp(2), [2], raw: false));
        graph.Initializer.Add(FloatTensor("fc", Ramp(24), [8, 3], raw: true));
        graph.Node.Add(Node("Conv", "conv", ["x", "w", "cb"], ["c"], Ints("pads", 1, 1, 1, 1), Ints("kernel_shape", 3, 3)));
        graph.Node.Add(Node("Relu", "relu", ["c"], ["r"]));
        graph.Node.Add(Node("MaxPool", "pool", ["r"], ["p"], Ints("kernel_shape", 2, 2), Ints("strides", 2, 2)));
        graph.Node.Add(Node("Flatten", "flat", ["p"], ["f"], Int("axis", 1)));
        graph.Node.Add(Node("Gemm", "gemm", ["f", "fc"], ["g"], new AttributeProto { Name = "alpha", Type = AttributeProto.Types.AttributeType.Float, F = 0.5f }));
        graph.Node.Add(Node("Softmax", "softmax", ["g"], ["y"], Int("axis", -1)));
        graph.Output.Add(TensorInfo("y", 1, 1, 3));
        return Model(graph, opset: 13);
    }

    private static ModelProto ShapeOps()
    {
        var graph = new GraphProto { Name = "shape" };
        graph.Input.Add(TensorInfo("x", 1, 2, 3));
        graph.Initializer.Add(LongTensor("shape", [3, 2], [2], raw: false));
        graph.Initializer.Add(LongTensor("starts", [0], [1], raw: true));
        graph.Initializer.Add(LongTensor("ends", [1], [1], raw: true));
        graph.Initializer.Add(LongTensor("axes", [1], [1], raw: false));
        graph.Node.Add(Node("Reshape", "reshape", ["x", "shape"], ["r"]));
        graph.Node.Add(Node("Transpose", "transpose", ["r"], ["t"], Ints("perm", 1, 0)));
        graph.Node.Add(Node("Slice", "slice", ["t", "starts", "ends", "axes"], ["s"]));
        graph.Node.Add(Node("Constant", "const", [], ["k"], new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = FloatTensor("", Ramp(2), [2, 1], raw: true) }));
        graph.Node.Add(Node("Concat", "concat", ["s", "k"], ["c"], Int("axis", 1)));
        graph.Node.Add(Node("ReduceMean", "mean", ["c"], ["y"], Ints("axes", 1), Int("keepdims", 0)));
        graph.Node.Add(Node("Shape", "shapeof", ["x"], ["xs"]));
        graph.Node.Add(Node("Cast", "cast", ["xs"], ["ys"], Int("to", 1)));
        graph.Output.Add(TensorInfo("y", 1, 2));
        graph.Output.Add(TensorInfo("ys", 1, 2));
        return Model(graph, opset: 13);
    }

    private static ModelProto IntegerOps()
    {
        var graph = new GraphProto { Name = "integer" };
        graph.Input.Add(TensorInfo("ids", 7, "N"));
        graph.Initializer.Add(LongTensor("one", [1], [], raw: false));
        graph.Initializer.Add(FloatTensor("table", Ramp(12), [4, 3], raw: true));
        graph.Initializer.Add(FloatTensor("yes", [1f], [1], raw: false));
        graph.Initializer.Add(FloatTensor("no", [-1f], [1], raw: false));
        graph.Initializer.Add(LongTensor("to", [2, 1], [2], raw: true));
        graph.Node.Add(Node("Gather", "gather", ["table", "ids"], ["rows"], Int("axis", 0)));
        graph.Node.Add(Node("Equal", "equal", ["ids", "one"], ["hit"]));
        graph.Node.Add(Node("Where", "where", ["hit", "yes", "no"], ["sign"]));
        graph.Node.Add(Node("Expand", "expand", ["sign", "to"], ["y"]));
        graph.Output.Add(TensorInfo("rows", 1, "N", 3));
        graph.Output.Add(TensorInfo("y", 1, 2, "N"));
        return Model(graph, opset: 17);
    }

    private static ModelProto Opset6()
    {
        var graph = new GraphProto { Name = "opset6" };
        graph.Input.Add(TensorInfo("x", 1, 3));
        graph.Initializer.Add(FloatTensor("b", Ramp(3), [3], raw: false));
        graph.Node.Add(Node("Unsqueeze", "unsqueeze", ["x"], ["x2"], Ints("axes", 0)));
        graph.Node.Add(Node("Add", "add", ["x2", "b"], ["z"], Int("broadcast", 1)));
        graph.Node.Add(Node("Softmax", "softmax", ["z"], ["y"]));
        graph.Output.Add(TensorInfo("y", 1, 1, 3));
        return Model(graph, opset: 6);
    }

    private static ModelProto NormOps()
    {
        var graph = new GraphProto { Name = "norm" };
        graph.Input.Add(TensorInfo("x", 1, "N", 2, 2, 2));
        graph.Initializer.Add(FloatTensor("scale", [1f, 2f], [2], raw: true));
        graph.Initializer.Add(FloatTensor("bias", [0f, 1f], [2], raw: true));
        graph.Initializer.Add(FloatTensor("mean", [0.5f, -0.5f], [2], raw: false));
        graph.Initializer.Add(FloatTensor("var", [1f, 4f], [2], raw: false));
        graph.Initializer.Add(LongTensor("sq", [2, 3], [2], raw: false));
        graph.Node.Add(Node("BatchNormalization", "bn", ["x", "scale", "bias", "mean", "var"], ["n"], new AttributeProto { Name = "epsilon", Type = AttributeProto.Types.AttributeType.Float, F = 1e-5f }));
        graph.Node.Add(Node("GlobalAveragePool", "gap", ["n"], ["g"]));
        graph.Node.Add(Node("Squeeze", "squeeze", ["g", "sq"], ["y"]));
        graph.Output.Add(TensorInfo("y", 1, "N", 2));
        return Model(graph, opset: 13);
    }
}

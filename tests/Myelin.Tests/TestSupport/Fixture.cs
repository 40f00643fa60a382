using System.Text;

namespace Myelin.Tests.TestSupport;

/// <summary>
/// Named tensors written by a generator script under tests/fixtures (format in tests/fixtures/fixture_io.py), such as
/// PyTorch's outputs and gradients for given weights and inputs.
/// </summary>
public sealed class Fixture : IDisposable
{
    private readonly Dictionary<string, Tensor> _tensors;

    private Fixture(Dictionary<string, Tensor> tensors) => _tensors = tensors;

    /// <summary>The repository's tests/fixtures folder, found by walking up from the test assembly.</summary>
    public static string Directory
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "tests", "fixtures");
                if (System.IO.Directory.Exists(candidate)) return candidate;
            }

            throw new DirectoryNotFoundException($"No tests/fixtures folder above {AppContext.BaseDirectory}.");
        }
    }

    /// <summary>Loads tests/fixtures/<paramref name="relativePath"/>.</summary>
    public static Fixture Load(string relativePath)
    {
        using var reader = new BinaryReader(File.OpenRead(Path.Combine(Directory, relativePath)), Encoding.UTF8);
        if (Encoding.ASCII.GetString(reader.ReadBytes(4)) != "MYFX") throw new InvalidDataException($"{relativePath}: not a fixture file");
        uint version = reader.ReadUInt32(), count = reader.ReadUInt32();
        if (version != 1) throw new InvalidDataException($"{relativePath}: fixture version {version} is not 1");
        var tensors = new Dictionary<string, Tensor>();
        for (uint i = 0; i < count; i++)
        {
            string name = Encoding.UTF8.GetString(reader.ReadBytes(checked((int)reader.ReadUInt32())));
            var dtype = (DType)reader.ReadUInt32();
            long[] dims = new long[reader.ReadUInt32()];
            for (int d = 0; d < dims.Length; d++) dims[d] = reader.ReadInt64();
            long elements = dims.Aggregate(1L, (a, b) => a * b);
            byte[] raw = reader.ReadBytes(checked((int)(elements * dtype.ElementSize())));
            tensors[name] = dtype switch
            {
                DType.F32 => Tensor.FromArray(Cast<float>(raw), new Shape(dims)),
                DType.F64 => Tensor.FromArray(Cast<double>(raw), new Shape(dims)),
                DType.I64 => Tensor.FromArray(Cast<long>(raw), new Shape(dims)),
                DType.Bool => Tensor.FromArray(Cast<bool>(raw), new Shape(dims)),
                _ => throw new InvalidDataException($"{relativePath}: tensor '{name}' has unsupported dtype {dtype}"),
            };
            tensors[name] = tensors[name].MoveToOuterScope();
        }

        return new Fixture(tensors);
    }

    /// <summary>The tensor named <paramref name="name"/>.</summary>
    public Tensor this[string name] => _tensors.TryGetValue(name, out Tensor? t) ? t
        : throw new KeyNotFoundException($"The fixture has no tensor '{name}'; it has {string.Join(", ", _tensors.Keys)}.");

    /// <summary>The names of all tensors.</summary>
    public IEnumerable<string> Names => _tensors.Keys;

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (Tensor t in _tensors.Values) t.Dispose();
    }

    private static T[] Cast<T>(byte[] raw) where T : unmanaged => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, T>(raw).ToArray();
}

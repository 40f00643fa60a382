using System.IO.Compression;
using Myelin.Data;
using NUnit.Framework;

namespace Myelin.Tests.Data;

public class IdxTests
{
    private string _directory = "";

    [SetUp]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("myelin-idx-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    // An IDX file written byte by byte: 00 00, type, rank, big-endian dimensions, payload.
    private static byte[] IdxBytes(byte type, int[] dims, byte[] payload)
    {
        var bytes = new List<byte> { 0, 0, type, (byte)dims.Length };
        foreach (int d in dims)
        {
            bytes.AddRange([(byte)(d >> 24), (byte)(d >> 16), (byte)(d >> 8), (byte)d]);
        }

        bytes.AddRange(payload);
        return [.. bytes];
    }

    private string Write(string name, byte[] bytes, bool gzip)
    {
        string path = Path.Combine(_directory, name + (gzip ? ".gz" : ""));
        if (gzip)
        {
            using FileStream file = File.Create(path);
            using var stream = new GZipStream(file, CompressionLevel.Fastest);
            stream.Write(bytes);
        }
        else
        {
            File.WriteAllBytes(path, bytes);
        }

        return path;
    }

    [TestCase(false)]
    [TestCase(true)]
    public void ReadsImagesAndLabelsRawOrGzip(bool gzip)
    {
        byte[] pixels = [0, 255, 51, 102, 1, 2, 3, 4, 5, 6, 7, 8];
        string images = Write("train-images-idx3-ubyte", IdxBytes(0x08, [3, 2, 2], pixels), gzip);
        string labels = Write("train-labels-idx1-ubyte", IdxBytes(0x08, [3], [9, 0, 4]), gzip);
        InMemoryDataset dataset = IdxArray.LoadImageClassification(images, labels);
        Assert.That(dataset.SampleShape, Is.EqualTo(new long[] { 1, 2, 2 }));
        Assert.That(dataset.Labels.ToArray(), Is.EqualTo(new long[] { 9, 0, 4 }));
        Assert.That(dataset.Features.ToArray(), Is.EqualTo(pixels.Select(p => p / 255f).ToArray()));
    }

    [Test]
    public void DecodesBigEndianTypes()
    {
        // int16 -2 = FF FE, 258 = 01 02; float 1.5 = 3F C0 00 00.
        Assert.That(IdxArray.Read(Write("s", IdxBytes(0x0B, [2], [0xFF, 0xFE, 0x01, 0x02]), false)).ToDoubleArray(), Is.EqualTo(new double[] { -2, 258 }));
        IdxArray single = IdxArray.Read(Write("f", IdxBytes(0x0D, [1, 1], [0x3F, 0xC0, 0, 0]), true));
        Assert.That(single.DataType, Is.EqualTo(IdxDataType.Single));
        Assert.That(single.Dimensions, Is.EqualTo(new[] { 1, 1 }));
        Assert.That(single.ToSingleArray(), Is.EqualTo(new[] { 1.5f }));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void TruncatedFilesAreRejectedBeforeAllocating(bool gzip)
    {
        // Claims 1000 x 1000 x 1000 bytes (1 GB) while holding 4: refused from the length, not by running out of memory.
        string huge = Write("huge", IdxBytes(0x08, [1000, 1000, 1000], [1, 2, 3, 4]), gzip);
        var error = Assert.Throws<InvalidDataException>(() => IdxArray.Read(huge));
        Assert.That(error!.Message, Does.Contain(huge).And.Contain("truncated"));
        string tooMany = Write("many", IdxBytes(0x08, [100000, 1000, 1000], [1]), gzip);
        Assert.That(Assert.Throws<InvalidDataException>(() => IdxArray.Read(tooMany))!.Message, Does.Contain("more elements than an array"));
        string shortData = Write("short", IdxBytes(0x08, [2, 3], [1, 2, 3, 4, 5]), gzip);
        var truncated = Assert.Throws<InvalidDataException>(() => IdxArray.Read(shortData));
        Assert.That(truncated!.Message, Does.Contain(shortData).And.Contain("need 18 bytes"));
    }

    [Test]
    public void GarbageNamesTheFieldAtFault()
    {
        string text = Write("text", "hello, world"u8.ToArray(), false);
        Assert.That(Assert.Throws<InvalidDataException>(() => IdxArray.Read(text))!.Message, Does.Contain("magic number").And.Contain(text));
        string type = Write("type", IdxBytes(0x07, [1], [0]), false);
        Assert.That(Assert.Throws<InvalidDataException>(() => IdxArray.Read(type))!.Message, Does.Contain("data type byte 0x07"));
        string header = Write("header", [0, 0, 8], false);
        Assert.That(Assert.Throws<InvalidDataException>(() => IdxArray.Read(header))!.Message, Does.Contain("magic number"));
        string extra = Write("extra", IdxBytes(0x08, [1], [1, 2]), true);
        Assert.That(Assert.Throws<InvalidDataException>(() => IdxArray.Read(extra))!.Message, Does.Contain("need 9 bytes"));
        byte[] gz = File.ReadAllBytes(Write("cut", IdxBytes(0x08, [64], new byte[64]), true));
        string cut = Path.Combine(_directory, "cut2.gz");
        File.WriteAllBytes(cut, gz[..(gz.Length - 6)]);
        Assert.That(Assert.Throws<InvalidDataException>(() => IdxArray.Read(cut))!.Message, Does.Contain(cut));
    }

    [Test]
    public void LabelCountMismatchNamesTheLabelsFile()
    {
        string images = Write("i", IdxBytes(0x08, [2, 1, 1], [1, 2]), false);
        string labels = Write("l", IdxBytes(0x08, [3], [1, 2, 3]), false);
        var error = Assert.Throws<InvalidDataException>(() => IdxArray.LoadImageClassification(images, labels));
        Assert.That(error!.Message, Does.Contain(labels).And.Contain("2 images"));
    }

    [Test]
    public void MissingFashionMnistSaysHowToGetIt()
    {
        var error = Assert.Throws<FileNotFoundException>(() => FashionMnist.Load(_directory));
        Assert.That(error!.Message, Does.Contain("apt-get install dataset-fashion-mnist").And.Contain(_directory));
    }
}

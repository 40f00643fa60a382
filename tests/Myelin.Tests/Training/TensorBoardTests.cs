using System.Buffers.Binary;
using Myelin.NN;
using Myelin.Optim;
using Myelin.Training;
using Myelin.Training.TensorBoardProto;
using NUnit.Framework;

namespace Myelin.Tests.Training;

public class TensorBoardTests
{
    private string _directory = "";

    [SetUp]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("myelin-tensorboard-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    /// <summary>CRC32C check value and the vectors of RFC 3720 (iSCSI), appendix B.4.</summary>
    [Test]
    public void Crc32CMatchesKnownVectors()
    {
        Assert.That(TfRecord.Crc32C("123456789"u8), Is.EqualTo(0xE3069283u));
        Assert.That(TfRecord.Crc32C(new byte[32]), Is.EqualTo(0x8A9136AAu));
        Assert.That(TfRecord.Crc32C(Enumerable.Repeat((byte)0xFF, 32).ToArray()), Is.EqualTo(0x62A8AB43u));
        Assert.That(TfRecord.Crc32C(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray()), Is.EqualTo(0x46DD794Eu));
        Assert.That(TfRecord.Crc32C(Enumerable.Range(0, 32).Select(i => (byte)(31 - i)).ToArray()), Is.EqualTo(0x113FDB5Cu));
        Assert.That(TfRecord.Crc32C([]), Is.Zero);
    }

    [Test]
    public void RecordsAreFramedWithLengthAndMaskedCrcs()
    {
        byte[][] payloads = [[], "a"u8.ToArray(), Enumerable.Range(0, 300).Select(i => (byte)(i * 7)).ToArray()];
        using var stream = new MemoryStream();
        foreach (byte[] payload in payloads) TfRecord.Write(stream, payload);
        byte[] file = stream.ToArray();

        // Walk the framing by hand: u64 length, masked crc of it, data, masked crc of the data.
        int offset = 0;
        foreach (byte[] payload in payloads)
        {
            Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(offset)), Is.EqualTo((ulong)payload.Length));
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(offset + 8)), Is.EqualTo(Masked(TfRecord.Crc32C(file.AsSpan(offset, 8)))));
            Assert.That(file.AsSpan(offset + 12, payload.Length).ToArray(), Is.EqualTo(payload));
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(offset + 12 + payload.Length)), Is.EqualTo(Masked(TfRecord.Crc32C(payload))));
            offset += 16 + payload.Length;
        }

        Assert.That(offset, Is.EqualTo(file.Length));
        stream.Position = 0;
        Assert.That(TfRecord.ReadAll(stream).ToArray(), Is.EqualTo(payloads));

        // Records of 16 and 17 bytes come first, so the third starts at 33; flip a bit of its length CRC.
        file[33 + 11] ^= 1;
        Assert.That(() => TfRecord.ReadAll(new MemoryStream(file)).ToArray(), Throws.InstanceOf<InvalidDataException>().With.Message.Contains("offset 33"));
        Assert.That(() => TfRecord.ReadAll(new MemoryStream(file[..^2])).ToArray(), Throws.InstanceOf<InvalidDataException>());
    }

    [Test]
    public void FitWritesEpochScalarsAndWeightHistograms()
    {
        using Sequential network = TinyProblems.Regressor(seed: 40);
        using var model = new Model(network);
        model.Compile(new MseLoss(), new Sgd(0.1));
        ArraySource<float> data = TinyProblems.Regression(8, 4, seed: 41);
        var board = new TensorBoard(_directory, histogramEveryEpochs: 2);
        History history = model.Fit(data, data, epochs: 2, callbacks: [board], progress: ProgressMode.None);

        string file = Directory.GetFiles(_directory).Single();
        Assert.That(Path.GetFileName(file), Does.StartWith("events.out.tfevents."));
        Assert.That(file, Is.EqualTo(board.FilePath));
        Event[] events;
        using (FileStream stream = File.OpenRead(file)) events = TfRecord.ReadAll(stream).Select(Event.Parser.ParseFrom).ToArray();

        Assert.That(events[0].FileVersion, Is.EqualTo("brain.Event:2"));
        var scalars = events.Skip(1).Where(e => e.Summary.Value[0].ValueCase == Summary.Types.Value.ValueOneofCase.SimpleValue)
            .Select(e => (e.Step, e.Summary.Value[0].Tag, e.Summary.Value[0].SimpleValue)).ToArray();
        Assert.That(scalars, Has.Length.EqualTo(6));
        for (int epoch = 0; epoch < 2; epoch++)
        {
            Assert.That(scalars, Does.Contain((epoch, "epoch_loss", (float)history["loss"][epoch])));
            Assert.That(scalars, Does.Contain((epoch, "epoch_val_loss", (float)history["val_loss"][epoch])));
            Assert.That(scalars, Does.Contain((epoch, "epoch_lr", 0.1f)));
        }

        var histograms = events.Where(e => e.Summary?.Value[0].Histo is not null).ToArray();
        Assert.That(histograms.Select(e => e.Summary.Value[0].Tag), Is.EqualTo(network.NamedParameters().Select(p => p.Path)));
        foreach (Event e in histograms)
        {
            HistogramProto histogram = e.Summary.Value[0].Histo;
            float[] weights = network.NamedParameters().Single(p => p.Path == e.Summary.Value[0].Tag).Tensor.ToArray<float>();
            Assert.That(e.Step, Is.EqualTo(1));
            Assert.That(histogram.Num, Is.EqualTo(weights.Length));
            Assert.That(histogram.Bucket.Sum(), Is.EqualTo(weights.Length));
            Assert.That(histogram.Min, Is.EqualTo(weights.Min()));
            Assert.That(histogram.Max, Is.EqualTo(weights.Max()));
            Assert.That(histogram.BucketLimit[^1], Is.EqualTo(weights.Max()));
            Assert.That(histogram.Sum, Is.EqualTo(weights.Sum(w => (double)w)).Within(1e-9));
            for (int b = 0; b < histogram.Bucket.Count; b++)
            {
                double low = b == 0 ? double.NegativeInfinity : histogram.BucketLimit[b - 1];
                int inside = weights.Count(w => w > low && w <= histogram.BucketLimit[b]);
                Assert.That(histogram.Bucket[b], Is.EqualTo(inside).Within(b == 0 ? 0 : 1), $"bucket {b}");
            }
        }
    }

    private static uint Masked(uint crc) => ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

using Myelin.Data;
using NUnit.Framework;

namespace Myelin.Tests.Data;

public class DataLoaderTests
{
    // Sample i has the two features (i, -i) and label i % 3, so a batch tells which samples it holds.
    private static InMemoryDataset Numbered(int count) => InMemoryDataset.FromLabels(
        Enumerable.Range(0, count).SelectMany(i => new float[] { i, -i }).ToArray(), [2],
        Enumerable.Range(0, count).Select(i => (long)(i % 3)).ToArray());

    private static List<(float[] Inputs, long[] Targets, long[] Shape)> Collect(IBatchSource source, int epoch)
    {
        var result = new List<(float[], long[], long[])>();
        foreach (Batch batch in source.Epoch(epoch))
        {
            using (batch)
            {
                result.Add((batch.Inputs.ToArray<float>(), batch.Targets.ToArray<long>(), batch.Inputs.Shape.ToArray()));
            }
        }

        return result;
    }

    [TestCase(0)]
    [TestCase(2)]
    public void EverySampleOnceWithItsLabelAndKeptShortLastBatch(int prefetch)
    {
        var loader = new DataLoader(Numbered(10), batchSize: 4, seed: 5, prefetchCount: prefetch);
        var batches = Collect(loader, 0);
        Assert.That(batches.Select(b => b.Shape[0]), Is.EqualTo(new long[] { 4, 4, 2 }));
        float[] ids = batches.SelectMany(b => b.Inputs.Where((_, i) => i % 2 == 0)).ToArray();
        Assert.That(ids.Order(), Is.EqualTo(Enumerable.Range(0, 10).Select(i => (float)i)));
        Assert.That(ids, Is.Not.EqualTo(Enumerable.Range(0, 10).Select(i => (float)i)), "shuffled");
        long[] labels = batches.SelectMany(b => b.Targets).ToArray();
        Assert.That(labels, Is.EqualTo(ids.Select(i => (long)i % 3)));
        Assert.That(loader.SampleCount, Is.EqualTo(10));
    }

    [Test]
    public void DropLastLeavesOutTheShortBatch()
    {
        var loader = new DataLoader(Numbered(10), batchSize: 4, dropLast: true);
        var batches = Collect(loader, 0);
        Assert.That(batches.Select(b => b.Shape[0]), Is.EqualTo(new long[] { 4, 4 }));
        Assert.That(loader.SampleCount, Is.EqualTo(8));
        Assert.That(loader.BatchCount, Is.EqualTo(2));
    }

    [Test]
    public void SeedAndEpochDetermineTheOrderWithOrWithoutPrefetch()
    {
        var transforms = new IBatchTransform[] { new GaussianNoise(0.1) };
        float[] Run(ulong seed, int epoch, int prefetch) => Collect(
            new DataLoader(Numbered(20), 3, seed: seed, transforms: transforms, prefetchCount: prefetch), epoch).SelectMany(b => b.Inputs).ToArray();
        float[] first = Run(7, 1, 2);
        Assert.That(Run(7, 1, 2), Is.EqualTo(first));
        Assert.That(Run(7, 1, 0), Is.EqualTo(first));
        Assert.That(Run(7, 2, 2), Is.Not.EqualTo(first));
        Assert.That(Run(8, 1, 2), Is.Not.EqualTo(first));
        var inOrder = Collect(new DataLoader(Numbered(5), 2, shuffle: false), 3).SelectMany(b => b.Inputs).ToArray();
        Assert.That(inOrder, Is.EqualTo(new float[] { 0, 0, 1, -1, 2, -2, 3, -3, 4, -4 }));
    }

    private sealed class FailingTransform(int failAt) : IBatchTransform
    {
        private int _calls;

        public void Apply(BatchData batch, Generator random)
        {
            if (_calls++ == failAt)
            {
                throw new InvalidOperationException("transform failed on purpose");
            }
        }
    }

    [Test]
    public void AnExceptionOnThePrefetchThreadSurfacesAtItsBatch()
    {
        var loader = new DataLoader(Numbered(10), 2, transforms: [new FailingTransform(2)], prefetchCount: 2);
        int received = 0;
        var error = Assert.Throws<InvalidOperationException>(() =>
        {
            foreach (Batch batch in loader.Epoch(0))
            {
                batch.Dispose();
                received++;
            }
        });
        Assert.That(error!.Message, Is.EqualTo("transform failed on purpose"));
        Assert.That(received, Is.EqualTo(2));
    }

    private sealed class CountingTransform : IBatchTransform
    {
        public int Calls;

        public void Apply(BatchData batch, Generator random) => Interlocked.Increment(ref Calls);
    }

    [Test]
    public void DisposingTheEnumeratorStopsPrefetchAndFreesQueuedBatches()
    {
        var counter = new CountingTransform();
        var loader = new DataLoader(Numbered(1000), 1, transforms: [counter], prefetchCount: 2);
        using (var scope = new TensorScope())
        {
            IEnumerator<Batch> batches = loader.Epoch(0).GetEnumerator();
            Assert.That(batches.MoveNext(), Is.True);
            Batch first = batches.Current;
            batches.Dispose();
            Assert.That(scope.Count, Is.EqualTo(0), "prefetched batches belong to no scope");
            Assert.That(first.Inputs.IsDisposed, Is.False, "a batch handed out is the consumer's");
            first.Dispose();
        }

        int made = counter.Calls;
        Thread.Sleep(50);
        // One handed out, at most two queued and one in the producer's hands when it stopped.
        Assert.That(counter.Calls, Is.EqualTo(made));
        Assert.That(made, Is.LessThanOrEqualTo(4));
    }

    [Test]
    public void RegressionTargetsAndTensorInputs()
    {
        using Tensor features = Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, 3, 2);
        using Tensor targets = Tensor.FromArray(new float[] { 10, 20, 30 }, 3, 1);
        var loader = new DataLoader(InMemoryDataset.FromTensors(features, targets), 2, shuffle: false);
        using Batch batch = loader.Epoch(0).First();
        Assert.That(batch.Targets.Shape.ToArray(), Is.EqualTo(new long[] { 2, 1 }));
        Assert.That(batch.Targets.ToArray<float>(), Is.EqualTo(new float[] { 10, 20 }));
        Assert.That(batch.Inputs.ToArray<float>(), Is.EqualTo(new float[] { 1, 2, 3, 4 }));
    }
}

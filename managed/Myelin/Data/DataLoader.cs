using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace Myelin.Data;

/// <summary>
/// Cuts an <see cref="InMemoryDataset"/> into mini-batches: seeded shuffling per epoch, a batch size, dropping or
/// keeping a short last batch, per-batch transforms, and background prefetch.
/// </summary>
/// <remarks>
/// <para>Shuffling and random transforms draw from Philox generators seeded by the loader's seed, the epoch and the
/// batch index, so an epoch's batches are the same on every run, with or without prefetch.</para>
/// <para>Prefetch: one background thread prepares up to <see cref="PrefetchCount"/> batches ahead in a bounded queue.
/// It does host-side work only (gathering samples, the transforms in plain C#, copying into new tensors) and calls
/// no native kernel, so it never competes with the kernels' own thread pool for more threads than there are cores:
/// it overlaps with the training step on the one core the step leaves idle between kernels, and it blocks as soon
/// as the queue is full. An exception on that thread is rethrown to the consumer at the batch where it happened;
/// disposing the enumerator (leaving a <c>foreach</c> early) stops the thread and disposes batches not handed out.</para>
/// <para>Batches belong to the consumer, who disposes each one (they are in no <see cref="TensorScope"/> when
/// prefetched; without prefetch they are made on the consumer's thread and also join its current scope).</para>
/// </remarks>
public sealed class DataLoader : IBatchSource
{
    private readonly IBatchTransform[] _transforms;

    /// <summary>Creates a loader.</summary>
    /// <param name="dataset">The samples.</param>
    /// <param name="batchSize">Samples per batch.</param>
    /// <param name="shuffle">Whether each epoch visits the samples in a new random order.</param>
    /// <param name="seed">Seed of the shuffling and of random transforms.</param>
    /// <param name="dropLast">Whether a last batch smaller than <paramref name="batchSize"/> is left out (PyTorch's drop_last).</param>
    /// <param name="transforms">Transforms applied to every batch, in order.</param>
    /// <param name="prefetchCount">Batches prepared ahead on a background thread; 0 prepares each batch when asked.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batchSize"/> is not positive or <paramref name="prefetchCount"/> is negative.</exception>
    public DataLoader(InMemoryDataset dataset, int batchSize, bool shuffle = true, ulong seed = 0, bool dropLast = false,
        IEnumerable<IBatchTransform>? transforms = null, int prefetchCount = 2)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        ArgumentOutOfRangeException.ThrowIfNegative(prefetchCount);
        Dataset = dataset;
        BatchSize = batchSize;
        Shuffle = shuffle;
        Seed = seed;
        DropLast = dropLast;
        PrefetchCount = prefetchCount;
        _transforms = transforms?.ToArray() ?? [];
        if (Array.IndexOf(_transforms, null) >= 0)
        {
            throw new ArgumentException("The transforms contain null.", nameof(transforms));
        }
    }

    /// <summary>The samples.</summary>
    public InMemoryDataset Dataset { get; }

    /// <summary>Samples per batch.</summary>
    public int BatchSize { get; }

    /// <summary>Whether each epoch shuffles.</summary>
    public bool Shuffle { get; }

    /// <summary>Seed of the shuffling and random transforms.</summary>
    public ulong Seed { get; }

    /// <summary>Whether a short last batch is left out.</summary>
    public bool DropLast { get; }

    /// <summary>Batches prepared ahead on the background thread (0: none).</summary>
    public int PrefetchCount { get; }

    /// <summary>The transforms applied to every batch.</summary>
    public IReadOnlyList<IBatchTransform> Transforms => _transforms;

    /// <summary>Batches per epoch.</summary>
    public int BatchCount => DropLast ? Dataset.Count / BatchSize : (Dataset.Count + BatchSize - 1) / BatchSize;

    /// <inheritdoc/>
    public long SampleCount => DropLast ? (long)BatchCount * BatchSize : Dataset.Count;

    /// <summary>The order in which <paramref name="epoch"/> visits the samples (a permutation when shuffling).</summary>
    public int[] SampleOrder(int epoch)
    {
        int[] order = Enumerable.Range(0, Dataset.Count).ToArray();
        if (Shuffle)
        {
            Splits.ShuffleInPlace(order, new Generator(MixSeed(Seed, (ulong)epoch, 0)));
        }

        return order;
    }

    /// <inheritdoc/>
    public IEnumerable<Batch> Epoch(int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        return new EpochBatches(this, epoch);
    }

    private BatchData Prepare(int[] order, int epoch, int batchIndex)
    {
        int start = batchIndex * BatchSize;
        int count = Math.Min(BatchSize, order.Length - start);
        ReadOnlySpan<int> indices = order.AsSpan(start, count);
        var inputs = new float[(long)count * Dataset.SampleSize];
        Dataset.GatherFeatures(indices, inputs);
        long[]? labels = null;
        float[]? values = null;
        if (Dataset.HasClassLabels)
        {
            labels = new long[count];
            Dataset.GatherLabels(indices, labels);
        }
        else
        {
            values = new float[(long)count * Dataset.TargetSize];
            Dataset.GatherTargetValues(indices, values);
        }

        var batch = new BatchData(count, inputs, Dataset.SampleShape.ToArray(), labels, values, Dataset.TargetShape.ToArray());
        if (_transforms.Length > 0)
        {
            var random = new Generator(MixSeed(Seed, (ulong)epoch, (ulong)batchIndex + 1));
            foreach (IBatchTransform transform in _transforms)
            {
                transform.Apply(batch, random);
            }
        }

        return batch;
    }

    /// <summary>A 64-bit seed from the loader's seed, the epoch and a stream number (splitmix64 finalizer).</summary>
    internal static ulong MixSeed(ulong seed, ulong epoch, ulong stream)
    {
        ulong z = seed ^ (epoch * 0x9E3779B97F4A7C15UL) ^ (stream * 0xD1B54A32D192ED03UL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private sealed class EpochBatches(DataLoader loader, int epoch) : IEnumerable<Batch>
    {
        public IEnumerator<Batch> GetEnumerator() =>
            loader.PrefetchCount == 0 ? Synchronous().GetEnumerator() : new PrefetchEnumerator(loader, epoch);

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

        private IEnumerable<Batch> Synchronous()
        {
            int[] order = loader.SampleOrder(epoch);
            for (int b = 0; b < loader.BatchCount; b++)
            {
                yield return loader.Prepare(order, epoch, b).ToBatch();
            }
        }
    }

    /// <summary>Runs the producer thread and hands its batches, or its exception, to the consumer in order.</summary>
    private sealed class PrefetchEnumerator : IEnumerator<Batch>
    {
        private readonly BlockingCollection<(Batch? Batch, ExceptionDispatchInfo? Error)> _queue;
        private readonly CancellationTokenSource _stop = new();
        private readonly Thread _thread;
        private Batch? _current;
        private bool _finished;
        private bool _disposed;

        public PrefetchEnumerator(DataLoader loader, int epoch)
        {
            _queue = new BlockingCollection<(Batch?, ExceptionDispatchInfo?)>(loader.PrefetchCount);
            _thread = new Thread(() => Produce(loader, epoch)) { IsBackground = true, Name = "Myelin data prefetch" };
            // Without the execution context the thread inherits no TensorScope, so the consumer alone owns the batches.
            using (ExecutionContext.SuppressFlow())
            {
                _thread.Start();
            }
        }

        public Batch Current => _current ?? throw new InvalidOperationException("Call MoveNext before reading Current.");

        object System.Collections.IEnumerator.Current => Current;

        public bool MoveNext()
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _current = null;
            if (_finished)
            {
                return false;
            }

            if (!_queue.TryTake(out (Batch? Batch, ExceptionDispatchInfo? Error) item, Timeout.Infinite))
            {
                _finished = true;
                return false;
            }

            if (item.Error is not null)
            {
                _finished = true;
                item.Error.Throw();
            }

            _current = item.Batch;
            return true;
        }

        public void Reset() => throw new NotSupportedException("Start a new epoch with DataLoader.Epoch instead.");

        public void Dispose()
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _stop.Cancel();
            _thread.Join();
            while (_queue.TryTake(out (Batch? Batch, ExceptionDispatchInfo? Error) item))
            {
                item.Batch?.Dispose();
            }

            _queue.Dispose();
            _stop.Dispose();
        }

        private void Produce(DataLoader loader, int epoch)
        {
            try
            {
                int[] order = loader.SampleOrder(epoch);
                for (int b = 0; b < loader.BatchCount && !_stop.IsCancellationRequested; b++)
                {
                    Batch batch = loader.Prepare(order, epoch, b).ToBatch();
                    try
                    {
                        _queue.Add((batch, null), _stop.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        batch.Dispose();
                        return;
                    }
                }
            }
            catch (Exception exception)
            {
                try
                {
                    _queue.Add((null, ExceptionDispatchInfo.Capture(exception)), _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    // The consumer has gone; nobody is left to see the error.
                }
            }
            finally
            {
                _queue.CompleteAdding();
            }
        }
    }
}

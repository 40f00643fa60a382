using System.Diagnostics;
using System.Runtime.ExceptionServices;
using Myelin.Native;

namespace Myelin.Execution;

/// <summary>
/// Persistent threads that run the launches of one stage together with the calling thread, created once per
/// <see cref="CompiledGraph"/>. Launches are handed out one at a time from a shared counter; the caller returns when
/// every launch of the stage has finished, and rethrows the first failure (the rest of the stage is skipped).
/// Running a stage allocates nothing, on the caller or on the workers.
/// </summary>
internal sealed class InterOpWorkers : IDisposable
{
    // How long an idle thread polls before it sleeps: stages come back to back, and a wake-up costs microseconds.
    private static readonly long SpinTicks = Stopwatch.Frequency / 20_000;

    private readonly Thread[] _threads;
    private readonly long[] _allocatedBytes;
    private readonly object _wake = new();
    private readonly object _done = new();
    private ExecutionPlan? _plan;
    private DeviceHandle? _device;
    private int _next;
    private int _end;
    private int _engaged;
    private int _pending;
    private long _generation;
    private bool _stopping;
    private Exception? _error;

    /// <summary>Starts <paramref name="threads"/> - 1 workers (the caller is the other thread).</summary>
    public InterOpWorkers(int threads)
    {
        _threads = new Thread[threads - 1];
        _allocatedBytes = new long[_threads.Length];
        for (int i = 0; i < _threads.Length; i++)
        {
            _threads[i] = new Thread(WorkerLoop) { IsBackground = true, Name = $"Myelin inter-op {i + 1}" };
            _threads[i].Start(i);
        }
    }

    /// <summary>
    /// Managed bytes the workers have allocated over their lives, as each last saw after its last stage (a run
    /// after warm-up must leave it unchanged).
    /// </summary>
    public long WorkerAllocatedBytes
    {
        get
        {
            long total = 0;
            for (int i = 0; i < _allocatedBytes.Length; i++) total += Volatile.Read(ref _allocatedBytes[i]);
            return total;
        }
    }

    /// <summary>Worker threads still running (0 once disposed).</summary>
    public int LiveThreads => _threads.Count(t => t.IsAlive);

    /// <summary>Runs launches [<paramref name="begin"/>, <paramref name="end"/>) of <paramref name="plan"/> concurrently.</summary>
    public void Run(ExecutionPlan plan, DeviceHandle device, int begin, int end)
    {
        ObjectDisposedException.ThrowIf(_stopping, this);
        _plan = plan;
        _device = device;
        _next = begin;
        _end = end;
        _error = null;
        lock (_wake)
        {
            _engaged = Math.Min(_threads.Length, end - begin - 1);
            _pending = _engaged;
            _generation++;
            Monitor.PulseAll(_wake);
        }

        RunLaunches();
        long deadline = Stopwatch.GetTimestamp() + SpinTicks;
        while (Volatile.Read(ref _pending) != 0 && Stopwatch.GetTimestamp() < deadline) Thread.SpinWait(20);
        lock (_done)
        {
            while (_pending != 0) Monitor.Wait(_done);
        }

        _plan = null;
        _device = null;
        Exception? error = _error;
        _error = null;
        if (error is not null) ExceptionDispatchInfo.Throw(error);
    }

    /// <summary>Stops and joins the workers.</summary>
    public void Dispose()
    {
        lock (_wake)
        {
            if (_stopping) return;
            _stopping = true;
            Monitor.PulseAll(_wake);
        }

        foreach (Thread thread in _threads) thread.Join();
    }

    private void RunLaunches()
    {
        ExecutionPlan plan = _plan!;
        DeviceHandle device = _device!;
        for (int i = Interlocked.Increment(ref _next) - 1; i < _end; i = Interlocked.Increment(ref _next) - 1)
        {
            try
            {
                plan.Launch(i, device);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _error, e, null);
                Volatile.Write(ref _next, _end);
            }
        }
    }

    private void WorkerLoop(object? state)
    {
        int index = (int)state!;
        long seen = 0;
        for (;;)
        {
            long deadline = Stopwatch.GetTimestamp() + SpinTicks;
            while (Volatile.Read(ref _generation) == seen && Stopwatch.GetTimestamp() < deadline) Thread.SpinWait(20);
            lock (_wake)
            {
                while (_generation == seen && !_stopping) Monitor.Wait(_wake);
                if (_stopping) return;
                seen = _generation;
                if (index >= _engaged) continue;
            }

            RunLaunches();
            Volatile.Write(ref _allocatedBytes[index], GC.GetAllocatedBytesForCurrentThread());
            if (Interlocked.Decrement(ref _pending) == 0)
            {
                lock (_done) Monitor.Pulse(_done);
            }
        }
    }
}

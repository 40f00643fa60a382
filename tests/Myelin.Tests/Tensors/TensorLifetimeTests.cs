using NUnit.Framework;

namespace Myelin.Tests.Tensors;

// Memory counters are process-wide, so these tests run alone and first settle whatever earlier tests left
// to the finalizer.
[NonParallelizable]
public class TensorLifetimeTests
{
    [SetUp]
    public void SettleFinalizers() => CollectGarbage();

    private static void CollectGarbage()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    private static long LiveBytes => Device.Cpu.GetMemoryStats().LiveBytes;

    [Test]
    public void DisposeFreesNativeMemoryAndCanBeRepeated()
    {
        long baseline = LiveBytes;
        Tensor tensor = Tensor.Zeros([1024]);
        Assert.That(LiveBytes, Is.GreaterThanOrEqualTo(baseline + 4096));
        tensor.Dispose();
        tensor.Dispose();
        Assert.That(tensor.IsDisposed, Is.True);
        Assert.That(LiveBytes, Is.EqualTo(baseline));
    }

    [Test]
    public void UsingADisposedTensorThrowsNamingIt()
    {
        Tensor tensor = Tensor.Zeros([2, 3]);
        tensor.Name = "weights";
        tensor.Dispose();
        var exception = Assert.Throws<ObjectDisposedException>(() => tensor.ToArray<float>());
        Assert.That(exception!.ObjectName, Is.EqualTo("weights"));
        Assert.That(exception.Message, Does.Contain("weights"));

        Tensor unnamed = Tensor.Zeros([4, 5]);
        unnamed.Dispose();
        Assert.That(() => unnamed.Relu(), Throws.TypeOf<ObjectDisposedException>().With.Message.Contains("f32 4x5").And.Message.Contains($"#{unnamed.Id}"));
        Assert.That(() => unnamed.Transpose(), Throws.TypeOf<ObjectDisposedException>());
        Assert.That(unnamed.ToString(), Does.Contain("disposed"));
    }

    [Test]
    public void StorageIsFreedWhenTheLastViewIsDisposed()
    {
        long baseline = LiveBytes;
        Tensor original = Tensor.Zeros([64, 64]);
        Tensor view = original.Transpose();
        original.Dispose();
        Assert.That(LiveBytes, Is.GreaterThan(baseline));
        view.Dispose();
        Assert.That(LiveBytes, Is.EqualTo(baseline));
    }

    [Test]
    public void ScopeDisposesEverythingCreatedInsideAndLiveBytesReturnToBaseline()
    {
        long baseline = LiveBytes;
        Tensor a, b, sum;
        using (var scope = new TensorScope())
        {
            a = Tensor.Rand([32, 32], generator: new Generator(1));
            b = a.Transpose();
            sum = a + b * 2.0;
            Assert.That(TensorScope.Current, Is.SameAs(scope));
            Assert.That(scope.Count, Is.EqualTo(4));
            Assert.That(LiveBytes, Is.GreaterThan(baseline));
        }

        Assert.That(a.IsDisposed && b.IsDisposed && sum.IsDisposed, Is.True);
        Assert.That(TensorScope.Current, Is.Null);
        Assert.That(LiveBytes, Is.EqualTo(baseline));
    }

    [Test]
    public void NestedScopesDisposeInnerTensorsFirst()
    {
        using var outer = new TensorScope();
        Tensor outerTensor = Tensor.Zeros([2]);
        Tensor innerTensor;
        using (var inner = new TensorScope())
        {
            Assert.That(inner.Parent, Is.SameAs(outer));
            innerTensor = Tensor.Zeros([2]);
        }

        Assert.That(TensorScope.Current, Is.SameAs(outer));
        Assert.That(innerTensor.IsDisposed, Is.True);
        Assert.That(outerTensor.IsDisposed, Is.False);
        outer.Dispose();
        outer.Dispose();
        Assert.That(outerTensor.IsDisposed, Is.True);
    }

    [Test]
    public void KeepMovesATensorToTheEnclosingScope()
    {
        Tensor kept, moved;
        using (var outer = new TensorScope())
        {
            using (var inner = new TensorScope())
            {
                kept = inner.Keep(Tensor.Ones([3]));
                moved = Tensor.Ones([3]).MoveToOuterScope();
                Assert.That(inner.Count, Is.Zero);
            }

            Assert.That(kept.IsDisposed || moved.IsDisposed, Is.False);
            Assert.That(outer.Count, Is.EqualTo(2));
        }

        Assert.That(kept.IsDisposed && moved.IsDisposed, Is.True);
    }

    [Test]
    public void KeepInTheOutermostScopeHandsOwnershipToTheCaller()
    {
        Tensor result;
        using (var scope = new TensorScope())
        {
            using Tensor temporary = Tensor.Full([2], 3);
            result = scope.Keep(temporary * temporary);
        }

        Assert.That(result.IsDisposed, Is.False);
        Assert.That(result.ToArray<float>(), Is.EqualTo(new[] { 9f, 9f }));
        result.Dispose();
    }

    [Test]
    public void KeepLeavesTensorsOwnedElsewhereAlone()
    {
        using Tensor unscoped = Tensor.Zeros([2]);
        using var outer = new TensorScope();
        Tensor outerTensor = Tensor.Zeros([2]);
        using (var inner = new TensorScope())
        {
            Assert.That(inner.Keep(unscoped), Is.SameAs(unscoped));
            inner.Keep(outerTensor);
            Tensor fromNested;
            using (new TensorScope())
            {
                fromNested = Tensor.Zeros([2]);
                inner.Keep(fromNested);
            }

            Assert.That(fromNested.IsDisposed, Is.False, "kept by an enclosing scope, it moved past the nested one");
        }

        Assert.That(outer.Count, Is.EqualTo(2), "outerTensor stayed, fromNested arrived; unscoped was not adopted");
        Assert.That(unscoped.IsDisposed || outerTensor.IsDisposed, Is.False);
    }

    [Test]
    public void TensorsDisposedByHandLeaveTheScope()
    {
        using var scope = new TensorScope();
        Tensor tensor = Tensor.Zeros([2]);
        tensor.Dispose();
        Assert.That(scope.Count, Is.Zero);
    }

    [Test]
    public async Task ScopeFlowsIntoAwaitedCodeAndTasks()
    {
        using var scope = new TensorScope();
        Tensor fromTask = await Task.Run(() => Tensor.Zeros([2]));
        await Task.Yield();
        Tensor afterAwait = Tensor.Zeros([2]);
        Assert.That(scope.Count, Is.EqualTo(2));
        scope.Dispose();
        Assert.That(fromTask.IsDisposed && afterAwait.IsDisposed, Is.True);
    }

    [Test]
    public void ForgottenTensorsAreFreedByTheGarbageCollector()
    {
        long baseline = LiveBytes;
        long pressureBaseline = MemoryPressure.ReportedBytes;
        CreateAndForget();
        Assert.That(LiveBytes, Is.GreaterThan(baseline));
        CollectGarbage();
        Assert.That(LiveBytes, Is.EqualTo(baseline));
        Assert.That(MemoryPressure.ReportedBytes, Is.EqualTo(pressureBaseline));

        static void CreateAndForget()
        {
            for (int i = 0; i < 10; i++)
            {
                Tensor tensor = Tensor.Zeros([1000]);
                _ = tensor.Transpose(0, 0);
            }
        }
    }

    [Test]
    public void MemoryPressureTracksLiveStorage()
    {
        long before = MemoryPressure.ReportedBytes;
        Tensor tensor = Tensor.Zeros([250], DType.F64);
        Assert.That(MemoryPressure.ReportedBytes - before, Is.EqualTo(2000));
        Tensor view = tensor.Reshape(25, 10);
        Assert.That(MemoryPressure.ReportedBytes - before, Is.EqualTo(2000), "views share storage and add nothing");
        tensor.Dispose();
        view.Dispose();
        Assert.That(MemoryPressure.ReportedBytes, Is.EqualTo(before));
        using (Tensor.Zeros([0]))
        {
            Assert.That(MemoryPressure.ReportedBytes, Is.EqualTo(before), "empty storage reports nothing");
        }
    }
}

using NUnit.Framework;

namespace Myelin.Tests.Core;

public class ShapeTests
{
    [Test]
    public void ElementCountAndRankFollowTheDimensions()
    {
        var shape = new Shape(2, 3, 4);
        Assert.That(shape.Rank, Is.EqualTo(3));
        Assert.That(shape.ElementCount, Is.EqualTo(24));
        Assert.That(Shape.Scalar.ElementCount, Is.EqualTo(1));
        Assert.That(new Shape(5, 0, 7).ElementCount, Is.Zero);
    }

    [Test]
    public void ToStringJoinsDimensionsWithX()
    {
        Assert.That(new Shape(64, 128).ToString(), Is.EqualTo("64x128"));
        Assert.That(new Shape(7).ToString(), Is.EqualTo("7"));
        Assert.That(Shape.Scalar.ToString(), Is.EqualTo("scalar"));
    }

    [Test]
    public void EqualityIsByValue()
    {
        Shape a = [2, 3];
        var b = new Shape(2, 3);
        Assert.That(a, Is.EqualTo(b));
        Assert.That(a == b, Is.True);
        Assert.That(a.GetHashCode(), Is.EqualTo(b.GetHashCode()));
        Assert.That(a != new Shape(3, 2), Is.True);
        Assert.That(a.Equals(null), Is.False);
    }

    [Test]
    public void RejectsNegativeDimensionsTooManyAxesAndOverflow()
    {
        Assert.That(() => new Shape(2, -1), Throws.ArgumentException.With.Message.Contains("2x-1"));
        Assert.That(() => new Shape(1, 1, 1, 1, 1, 1, 1, 1, 1), Throws.ArgumentException.With.Message.Contains("at most 8"));
        Assert.That(() => new Shape(long.MaxValue, 2), Throws.ArgumentException.With.Message.Contains("overflows"));
    }

    [Test]
    public void ContiguousStridesAreRowMajor()
    {
        Assert.That(new Shape(2, 3, 4).ContiguousStrides(), Is.EqualTo(new long[] { 12, 4, 1 }));
        Assert.That(Shape.Scalar.ContiguousStrides(), Is.Empty);
    }

    [Test]
    public void NegativeAxesCountFromTheEnd()
    {
        var shape = new Shape(2, 3, 4);
        Assert.That(shape[-1], Is.EqualTo(4));
        Assert.That(shape.NormalizeAxis(-3), Is.EqualTo(0));
        Assert.That(() => shape.NormalizeAxis(3), Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("2x3x4"));
    }

    [TestCase(new long[] { 2, 3 }, new long[] { 3 }, new long[] { 2, 3 })]
    [TestCase(new long[] { 4, 1, 5 }, new long[] { 3, 1 }, new long[] { 4, 3, 5 })]
    [TestCase(new long[] { }, new long[] { 2, 2 }, new long[] { 2, 2 })]
    [TestCase(new long[] { 0, 1 }, new long[] { 1, 6 }, new long[] { 0, 6 })]
    [TestCase(new long[] { 1 }, new long[] { 0 }, new long[] { 0 })]
    public void BroadcastFollowsNumPyRules(long[] a, long[] b, long[] expected)
    {
        Assert.That(Shape.Broadcast(a, b), Is.EqualTo(new Shape(expected)));
        Assert.That(Shape.Broadcast(b, a), Is.EqualTo(new Shape(expected)));
        Assert.That(new Shape(a).CanBroadcastTo(expected), Is.True);
    }

    [Test]
    public void IncompatibleBroadcastNamesBothShapes()
    {
        var exception = Assert.Throws<ArgumentException>(() => Shape.Broadcast(new Shape(2, 3), new Shape(4, 3)));
        Assert.That(exception!.Message, Does.Contain("2x3").And.Contain("4x3"));
        Assert.That(new Shape(2, 3).CanBroadcastTo(new Shape(3)), Is.False);
    }
}

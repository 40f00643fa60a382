using NUnit.Framework;

namespace Myelin.Tests.Core;

public class GeneratorTests
{
    [Test]
    public void MatchesThePhiloxKnownAnswerForZeroKeyAndCounter()
    {
        // Random123's kat_vectors: philox4x32-10, counter {0,0,0,0}, key {0,0}.
        var generator = new Generator(0);
        uint[] words = [generator.NextUInt32(), generator.NextUInt32(), generator.NextUInt32(), generator.NextUInt32()];
        Assert.That(words, Is.EqualTo(new uint[] { 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8 }));
    }

    [Test]
    public void SameSeedGivesSameSequenceAndOtherSeedsDiffer()
    {
        double[] first = Draw(new Generator(42));
        double[] again = Draw(new Generator(42));
        double[] other = Draw(new Generator(43));
        Assert.That(again, Is.EqualTo(first));
        Assert.That(other, Is.Not.EqualTo(first));

        static double[] Draw(Generator generator) => Enumerable.Range(0, 100).Select(_ => generator.NextDouble()).ToArray();
    }

    [Test]
    public void UniformSamplesLieInUnitIntervalWithUniformMoments()
    {
        var samples = new float[200_000];
        new Generator(7).FillUniform(samples);
        double mean = samples.Average(s => (double)s);
        double variance = samples.Average(s => (s - mean) * (s - mean));
        Assert.That(samples.Min(), Is.GreaterThanOrEqualTo(0f));
        Assert.That(samples.Max(), Is.LessThan(1f));
        // Standard error of the mean is about 0.29 / sqrt(200000) = 0.00065; the bounds are ~8 of them.
        Assert.That(mean, Is.EqualTo(0.5).Within(0.005));
        Assert.That(variance, Is.EqualTo(1.0 / 12).Within(0.003));
    }

    [Test]
    public void NormalSamplesHaveRequestedMeanAndDeviation()
    {
        var samples = new double[200_000];
        new Generator(11).FillNormal(samples, mean: 3, standardDeviation: 2);
        double mean = samples.Average();
        double variance = samples.Average(s => (s - mean) * (s - mean));
        double withinOneDeviation = samples.Count(s => Math.Abs(s - 3) < 2) / (double)samples.Length;
        Assert.That(mean, Is.EqualTo(3).Within(0.03));
        Assert.That(variance, Is.EqualTo(4).Within(0.1));
        Assert.That(withinOneDeviation, Is.EqualTo(0.6827).Within(0.01));
        Assert.That(samples.All(double.IsFinite), Is.True);
    }

    [Test]
    public void DoublesUseMoreThanFloatPrecision()
    {
        var generator = new Generator(5);
        bool anyBeyondFloat = Enumerable.Range(0, 100).Select(_ => generator.NextDouble()).Any(d => (double)(float)d != d);
        Assert.That(anyBeyondFloat, Is.True);
    }
}

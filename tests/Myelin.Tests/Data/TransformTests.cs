using Myelin.Data;
using NUnit.Framework;

namespace Myelin.Tests.Data;

public class TransformTests
{
    private static BatchData Images(float[] values, params long[] sampleShape) =>
        new(values.Length / (int)sampleShape.Aggregate(1L, (a, b) => a * b), values, sampleShape, [0], null, []);

    [Test]
    public void StandardizeAndMinMaxFitOnTrainingDataOnly()
    {
        // Feature 0: 1, 3 (mean 2, std 1); feature 1 constant 5.
        var train = InMemoryDataset.FromLabels(new float[] { 1, 5, 3, 5 }, [2], [0, 1]);
        var test = InMemoryDataset.FromLabels(new float[] { 4, 6 }, [2], [0]);
        Standardize standardize = Standardize.Fit(train);
        Assert.That(standardize.Mean, Is.EqualTo(new float[] { 2, 5 }));
        Assert.That(standardize.Apply(test).Features.ToArray(), Is.EqualTo(new float[] { 2, 1 }));
        MinMax minMax = MinMax.Fit(train, -1, 1);
        Assert.That(minMax.Apply(test).Features.ToArray(), Is.EqualTo(new float[] { 2, 1 }), "a constant feature keeps scale 1 (its range counts as 1)");
        var batch = Images([1, 5], 2);
        minMax.Apply(batch, new Generator(0));
        Assert.That(batch.Inputs, Is.EqualTo(new float[] { -1, -1 }));
        Assert.Throws<ArgumentException>(() => standardize.Apply(Images([1, 2, 3], 3), new Generator(0)));
    }

    [Test]
    public void PerChannelStandardizeFitsOneMeanAndDeviationPerChannelOverAllPixels()
    {
        // Two samples [2, 1, 2]: channel 0 holds 0, 2, 4, 6 (mean 3, std sqrt(5)); channel 1 is constant 7 (scale 1).
        var train = InMemoryDataset.FromLabels(new float[] { 0, 2, 7, 7, 4, 6, 7, 7 }, [2, 1, 2], [0, 1]);
        Standardize standardize = Standardize.FitPerChannel(train);
        Assert.That(standardize.Mean, Is.EqualTo(new float[] { 3, 3, 7, 7 }));
        Assert.That(standardize.Scale, Is.EqualTo(new[] { MathF.Sqrt(5), MathF.Sqrt(5), 1, 1 }).Within(1e-6));
        var test = InMemoryDataset.FromLabels(new float[] { 3 + MathF.Sqrt(5), 3, 8, 7 }, [2, 1, 2], [0]);
        Assert.That(standardize.Apply(test).Features.ToArray(), Is.EqualTo(new float[] { 1, 0, 1, 0 }).Within(1e-6));
        Assert.Throws<ArgumentException>(() => Standardize.FitPerChannel(InMemoryDataset.FromLabels(new float[] { 1, 2 }, [2], [0])), "flat features are not images");
        Assert.Throws<ArgumentException>(() => Standardize.FitPerChannel(InMemoryDataset.FromLabels([], [1, 1, 1], [])), "nothing to fit on");
    }

    [Test]
    public void OneHotTurnsLabelsIntoFloatTargets()
    {
        var batch = new BatchData(3, new float[3], [1], [2, 0, 1], null, []);
        new OneHot(3).Apply(batch, new Generator(0));
        Assert.That(batch.Labels, Is.Null);
        Assert.That(batch.TargetShape, Is.EqualTo(new long[] { 3 }));
        Assert.That(batch.TargetValues, Is.EqualTo(new float[] { 0, 0, 1, 1, 0, 0, 0, 1, 0 }));
        Assert.Throws<InvalidOperationException>(() => new OneHot(2).Apply(new BatchData(1, new float[1], [1], [2], null, []), new Generator(0)));
    }

    [Test]
    public void HorizontalFlipMirrorsEveryChannel()
    {
        var batch = Images([1, 2, 3, 4, 5, 6, 7, 8], 2, 2, 2);
        new RandomHorizontalFlip(1).Apply(batch, new Generator(0));
        Assert.That(batch.Inputs, Is.EqualTo(new float[] { 2, 1, 4, 3, 6, 5, 8, 7 }));
        var never = Images([1, 2], 1, 2);
        new RandomHorizontalFlip(0).Apply(never, new Generator(0));
        Assert.That(never.Inputs, Is.EqualTo(new float[] { 1, 2 }));
    }

    [Test]
    public void RandomCropIsAWindowOfTheZeroPaddedImage()
    {
        float[] image = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        var seen = new HashSet<string>();
        for (ulong seed = 0; seed < 40; seed++)
        {
            var batch = Images((float[])image.Clone(), 1, 3, 3);
            new RandomCrop(padding: 1).Apply(batch, new Generator(seed));
            Assert.That(batch.SampleShape, Is.EqualTo(new long[] { 1, 3, 3 }));
            // The padded image is 5x5; the crop must equal one of its 9 windows.
            bool matches = false;
            for (int top = 0; top <= 2; top++)
            {
                for (int left = 0; left <= 2; left++)
                {
                    float[] window = new float[9];
                    for (int y = 0; y < 3; y++)
                    {
                        for (int x = 0; x < 3; x++)
                        {
                            int r = top + y - 1, c = left + x - 1;
                            window[y * 3 + x] = r is >= 0 and < 3 && c is >= 0 and < 3 ? image[r * 3 + c] : 0;
                        }
                    }

                    matches |= window.SequenceEqual(batch.Inputs);
                }
            }

            Assert.That(matches, Is.True, string.Join(",", batch.Inputs));
            seen.Add(string.Join(",", batch.Inputs));
        }

        Assert.That(seen.Count, Is.GreaterThan(4), "different seeds crop at different places");
        Assert.Throws<InvalidOperationException>(() => new RandomCrop(0, 4, 4).Apply(Images(new float[9], 3, 3), new Generator(0)));
    }

    [Test]
    public void RotationByNinetyDegreesTurnsTheImageCounterClockwise()
    {
        float[] image = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        var rotated = new float[9];
        RandomRotation.Rotate(image, 3, 3, 90, rotated);
        // Counter-clockwise: the right column becomes the top row.
        Assert.That(rotated, Is.EqualTo(new float[] { 3, 6, 9, 2, 5, 8, 1, 4, 7 }).Within(1e-5f));
    }

    [Test]
    public void SmallRotationInterpolatesBilinearly()
    {
        // A 2x2 image rotated 45 degrees: centre (0.5, 0.5); output pixel (0, 0) comes from (0.5, 0.5 - sqrt(0.5)).
        float[] image = [1, 2, 3, 4];
        var rotated = new float[4];
        RandomRotation.Rotate(image, 2, 2, 45, rotated);
        double h = Math.Sqrt(0.5);
        double sourceY = 0.5 - h; // between row -1 (zeros) and row 0, at x 0.5 between 1 and 2
        double expected = (1 - (sourceY + 1)) * 0 + (sourceY + 1) * 1.5;
        Assert.That(rotated[0], Is.EqualTo(expected).Within(1e-5));
        var batch = Images([1, 2, 3, 4], 2, 2);
        new RandomRotation(0).Apply(batch, new Generator(3));
        Assert.That(batch.Inputs, Is.EqualTo(new float[] { 1, 2, 3, 4 }).Within(1e-6f));
    }

    [Test]
    public void GaussianNoiseHasTheRequestedMoments()
    {
        var batch = new BatchData(1, new float[100_000], [100_000], [0], null, []);
        new GaussianNoise(0.5, mean: 2).Apply(batch, new Generator(1));
        double mean = batch.Inputs.Average(v => (double)v);
        double variance = batch.Inputs.Average(v => (v - mean) * (v - mean));
        Assert.That(mean, Is.EqualTo(2).Within(0.01));
        Assert.That(variance, Is.EqualTo(0.25).Within(0.01));
    }

    [Test]
    public void ImageTransformsRejectFlatSamples()
    {
        var error = Assert.Throws<InvalidOperationException>(() => new RandomHorizontalFlip().Apply(Images([1, 2], 2), new Generator(0)));
        Assert.That(error!.Message, Does.Contain("RandomHorizontalFlip").And.Contain("reshape"));
    }
}

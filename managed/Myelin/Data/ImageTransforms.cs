namespace Myelin.Data;

/// <summary>
/// The image layout the image transforms work on: every sample's last two axes are height and width, and any axes
/// before them (channels) are planes transformed alike.
/// </summary>
internal static class ImageLayout
{
    internal static (int Planes, int Height, int Width) Of(BatchData batch, string transform)
    {
        long[] shape = batch.SampleShape;
        if (shape.Length < 2)
        {
            throw new InvalidOperationException(
                $"{transform} needs image samples [..., height, width] but the samples have shape {Shape.Create(shape)}; reshape the dataset first.");
        }

        int height = checked((int)shape[^2]);
        int width = checked((int)shape[^1]);
        int planes = height * width == 0 ? 0 : batch.SampleSize / (height * width);
        return (planes, height, width);
    }
}

/// <summary>Mirrors each image left to right with probability <see cref="Probability"/> (all channels together).</summary>
public sealed class RandomHorizontalFlip : IBatchTransform
{
    /// <summary>Creates the transform; torchvision's default probability is 0.5.</summary>
    public RandomHorizontalFlip(double probability = 0.5)
    {
        if (!(probability is >= 0 and <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(probability), probability, "The flip probability must lie in [0, 1].");
        }

        Probability = probability;
    }

    /// <summary>The chance that a sample is flipped.</summary>
    public double Probability { get; }

    /// <inheritdoc/>
    public void Apply(BatchData batch, Generator random)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(random);
        (int planes, int height, int width) = ImageLayout.Of(batch, nameof(RandomHorizontalFlip));
        int sampleSize = batch.SampleSize;
        for (int s = 0; s < batch.Count; s++)
        {
            if (random.NextDouble() >= Probability)
            {
                continue;
            }

            for (int row = 0; row < planes * height; row++)
            {
                batch.Inputs.AsSpan(s * sampleSize + row * width, width).Reverse();
            }
        }
    }
}

/// <summary>
/// Pads each image with <see cref="Padding"/> zeros on every side and cuts out a window at a random place, as
/// torchvision's RandomCrop(size, padding): the window is the image's own size unless a height and width are given.
/// </summary>
public sealed class RandomCrop : IBatchTransform
{
    /// <summary>Creates the transform; a <paramref name="height"/> or <paramref name="width"/> of 0 keeps the image's size.</summary>
    public RandomCrop(int padding, int height = 0, int width = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(padding);
        ArgumentOutOfRangeException.ThrowIfNegative(height);
        ArgumentOutOfRangeException.ThrowIfNegative(width);
        Padding = padding;
        Height = height;
        Width = width;
    }

    /// <summary>Zeros added on each side before cropping.</summary>
    public int Padding { get; }

    /// <summary>The crop height, or 0 for the image's height.</summary>
    public int Height { get; }

    /// <summary>The crop width, or 0 for the image's width.</summary>
    public int Width { get; }

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">The crop is larger than the padded image.</exception>
    public void Apply(BatchData batch, Generator random)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(random);
        (int planes, int height, int width) = ImageLayout.Of(batch, nameof(RandomCrop));
        int cropHeight = Height == 0 ? height : Height;
        int cropWidth = Width == 0 ? width : Width;
        int paddedHeight = height + 2 * Padding, paddedWidth = width + 2 * Padding;
        if (cropHeight > paddedHeight || cropWidth > paddedWidth)
        {
            throw new InvalidOperationException(
                $"RandomCrop of {cropHeight}x{cropWidth} does not fit images of {height}x{width} padded by {Padding}.");
        }

        int inSize = batch.SampleSize, outPlane = cropHeight * cropWidth;
        var output = new float[(long)batch.Count * planes * outPlane];
        for (int s = 0; s < batch.Count; s++)
        {
            // Offsets into the padded image; padded row r is image row r - Padding.
            int top = (int)(random.NextDouble() * (paddedHeight - cropHeight + 1));
            int left = (int)(random.NextDouble() * (paddedWidth - cropWidth + 1));
            for (int p = 0; p < planes; p++)
            {
                int source = s * inSize + p * height * width;
                int destination = (s * planes + p) * outPlane;
                for (int y = 0; y < cropHeight; y++)
                {
                    int sourceRow = top + y - Padding;
                    if (sourceRow < 0 || sourceRow >= height)
                    {
                        continue;
                    }

                    for (int x = 0; x < cropWidth; x++)
                    {
                        int sourceColumn = left + x - Padding;
                        if (sourceColumn >= 0 && sourceColumn < width)
                        {
                            output[destination + y * cropWidth + x] = batch.Inputs[source + sourceRow * width + sourceColumn];
                        }
                    }
                }
            }
        }

        batch.Inputs = output;
        batch.SampleShape = [.. batch.SampleShape[..^2], cropHeight, cropWidth];
    }
}

/// <summary>
/// Rotates each image about its centre by an angle drawn uniformly from [-<see cref="MaxDegrees"/>, <see cref="MaxDegrees"/>]
/// (positive is counter-clockwise, as torchvision), sampling bilinearly and filling with zeros outside the image.
/// Meant for small angles, as augmentation; torchvision's default is nearest-neighbour sampling, bilinear is kept
/// here because it blurs small rotations less.
/// </summary>
public sealed class RandomRotation : IBatchTransform
{
    /// <summary>Creates the transform for angles up to <paramref name="maxDegrees"/> either way (0 to 180).</summary>
    public RandomRotation(double maxDegrees)
    {
        if (!(maxDegrees is >= 0 and <= 180))
        {
            throw new ArgumentOutOfRangeException(nameof(maxDegrees), maxDegrees, "The largest rotation must lie in [0, 180] degrees.");
        }

        MaxDegrees = maxDegrees;
    }

    /// <summary>The largest rotation, in degrees, either way.</summary>
    public double MaxDegrees { get; }

    /// <inheritdoc/>
    public void Apply(BatchData batch, Generator random)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(random);
        (int planes, int height, int width) = ImageLayout.Of(batch, nameof(RandomRotation));
        int plane = height * width;
        var source = new float[plane];
        for (int s = 0; s < batch.Count; s++)
        {
            double degrees = (2 * random.NextDouble() - 1) * MaxDegrees;
            for (int p = 0; p < planes; p++)
            {
                Span<float> image = batch.Inputs.AsSpan((s * planes + p) * plane, plane);
                image.CopyTo(source);
                Rotate(source, height, width, degrees, image);
            }
        }
    }

    /// <summary>
    /// Writes <paramref name="image"/> (<paramref name="height"/> x <paramref name="width"/>, row-major) rotated
    /// counter-clockwise by <paramref name="degrees"/> about its centre into <paramref name="destination"/>.
    /// </summary>
    public static void Rotate(ReadOnlySpan<float> image, int height, int width, double degrees, Span<float> destination)
    {
        if (image.Length != height * width || destination.Length != height * width)
        {
            throw new ArgumentException($"Rotate needs {height}x{width} = {height * width} values in both spans but got {image.Length} and {destination.Length}.");
        }

        double radians = degrees * Math.PI / 180;
        double cos = Math.Cos(radians), sin = Math.Sin(radians);
        double centreX = (width - 1) / 2.0, centreY = (height - 1) / 2.0;
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                // The inverse rotation maps each output pixel back to where it comes from (y grows downwards).
                double dx = x - centreX, dy = y - centreY;
                double sourceX = centreX + cos * dx - sin * dy;
                double sourceY = centreY + sin * dx + cos * dy;
                destination[y * width + x] = (float)Bilinear(image, height, width, sourceY, sourceX);
            }
        }
    }

    private static double Bilinear(ReadOnlySpan<float> image, int height, int width, double y, double x)
    {
        int y0 = (int)Math.Floor(y), x0 = (int)Math.Floor(x);
        double fy = y - y0, fx = x - x0;
        return (1 - fy) * ((1 - fx) * Pixel(image, height, width, y0, x0) + fx * Pixel(image, height, width, y0, x0 + 1))
            + fy * ((1 - fx) * Pixel(image, height, width, y0 + 1, x0) + fx * Pixel(image, height, width, y0 + 1, x0 + 1));
    }

    private static double Pixel(ReadOnlySpan<float> image, int height, int width, int y, int x) =>
        y >= 0 && y < height && x >= 0 && x < width ? image[y * width + x] : 0;
}

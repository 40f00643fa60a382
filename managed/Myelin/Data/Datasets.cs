using System.IO.Compression;

namespace Myelin.Data;

/// <summary>Fashion-MNIST (Zalando Research, MIT license): 28x28 grey images of clothing in 10 classes, in IDX files.</summary>
public static class FashionMnist
{
    /// <summary>Where the Debian package dataset-fashion-mnist installs the files.</summary>
    public const string DefaultDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>The class names, by label.</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>
    /// Loads the training (60000) and test (10000) sets from <paramref name="directory"/> (default
    /// <see cref="DefaultDirectory"/>), gzip or raw files; samples are [1, 28, 28] in [0, 1].
    /// </summary>
    /// <exception cref="FileNotFoundException">A file is missing; the message says how to get the dataset.</exception>
    public static (InMemoryDataset Train, InMemoryDataset Test) Load(string? directory = null)
    {
        directory ??= DefaultDirectory;
        InMemoryDataset train = IdxArray.LoadImageClassification(Locate(directory, "train-images-idx3-ubyte"), Locate(directory, "train-labels-idx1-ubyte"));
        InMemoryDataset test = IdxArray.LoadImageClassification(Locate(directory, "t10k-images-idx3-ubyte"), Locate(directory, "t10k-labels-idx1-ubyte"));
        return (train, test);
    }

    /// <summary>The path of <paramref name="name"/> (with or without .gz) in <paramref name="directory"/>.</summary>
    /// <exception cref="FileNotFoundException">Neither form exists; the message says how to get the dataset.</exception>
    public static string Locate(string directory, string name)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(name);
        foreach (string candidate in new[] { name + ".gz", name })
        {
            string path = Path.Combine(directory, candidate);
            if (File.Exists(path))
            {
                return path;
            }
        }

        throw new FileNotFoundException(
            $"Fashion-MNIST file {name}(.gz) is not in {directory}. Install the dataset with `sudo apt-get install dataset-fashion-mnist` "
            + $"(Debian/Ubuntu; it goes to {DefaultDirectory}), or download the four files from "
            + "https://github.com/zalandoresearch/fashion-mnist and give their directory.",
            Path.Combine(directory, name + ".gz"));
    }
}

/// <summary>
/// The UCI "Optical Recognition of Handwritten Digits" test set (E. Alpaydin and C. Kaynak, 1998; CC BY 4.0),
/// embedded in this library: 1797 images of 8x8 pixels with values 0..16, labels 0-9. See Data/Resources/README.md.
/// </summary>
public static class Digits
{
    private const string ResourceName = "Myelin.Data.digits.csv.gz";

    /// <summary>The number of samples.</summary>
    public const int SampleCount = 1797;

    /// <summary>Loads the samples: features [64] (pixel values 0..16, row by row; reshape to [1, 8, 8] for images), labels 0-9.</summary>
    public static InMemoryDataset Load()
    {
        using Stream resource = typeof(Digits).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"The embedded resource {ResourceName} is missing from {typeof(Digits).Assembly.GetName().Name}.");
        using var gzip = new GZipStream(resource, CompressionMode.Decompress);
        using var reader = new StreamReader(gzip);
        return CsvDataset.Read(reader, new CsvOptions { HasHeader = false }, "digits.csv.gz").Dataset;
    }
}

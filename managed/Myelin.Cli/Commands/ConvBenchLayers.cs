using System.Globalization;
using System.Text.RegularExpressions;

namespace Myelin.Cli.Commands;

/// <summary>
/// One 2-D convolution of a network and how many times the network runs it: input C x H x W, M filters of
/// Kh x Kw over C/Groups channels, the same stride and padding on both axes. <paramref name="Batch"/> is the
/// layer's own N (layers given on the command line), or null for the run's <c>--batch</c> (named sets).
/// </summary>
internal sealed record ConvLayer(string Name, long? Batch, long C, long H, long W, long M, long Kh, long Kw, long Stride, long Pad, long Groups, int Count)
{
    public long Ho => (H + 2 * Pad - Kh) / Stride + 1;

    public long Wo => (W + 2 * Pad - Kw) / Stride + 1;

    /// <summary>Multiply-adds of one image: M x C/G x Kh x Kw per output position.</summary>
    public double MacsPerImage => (double)M * (C / Groups) * Kh * Kw * Ho * Wo;
}

/// <summary>A named set of convolution layers, such as a network's.</summary>
internal sealed record ConvLayerSet(string Name, IReadOnlyList<ConvLayer> Layers);

/// <summary>The named layer sets (<c>resnet18</c>, <c>mobilenet_v2</c>) and the parser of <c>--layers</c>.</summary>
internal static partial class ConvBenchLayers
{
    /// <summary>Name of the set that collects the layers given as <c>NAME=NxCxHxW:MxKhxKw[:stride,pad,groups]</c>.</summary>
    public const string CustomSetName = "custom";

    public static readonly IReadOnlyList<string> SetNames = ["resnet18", "mobilenet_v2"];

    /// <summary>
    /// ResNet-18's convolutions at 224x224, distinct shapes with their counts: the table kResNet18 of
    /// tests/benchmarks/conv_layers.hpp (the C++ comparisons' layers), copied so every benchmark times the same shapes.
    /// </summary>
    private static readonly ConvLayer[] s_resnet18 =
    [
        Square("conv1 7x7/2", 3, 64, 224, 7, 2, 3, 1),
        Square("layer1 3x3", 64, 64, 56, 3, 1, 1, 4),
        Square("layer2 3x3/2", 64, 128, 56, 3, 2, 1, 1),
        Square("layer2 3x3", 128, 128, 28, 3, 1, 1, 3),
        Square("layer2 down 1x1/2", 64, 128, 56, 1, 2, 0, 1),
        Square("layer3 3x3/2", 128, 256, 28, 3, 2, 1, 1),
        Square("layer3 3x3", 256, 256, 14, 3, 1, 1, 3),
        Square("layer3 down 1x1/2", 128, 256, 28, 1, 2, 0, 1),
        Square("layer4 3x3/2", 256, 512, 14, 3, 2, 1, 1),
        Square("layer4 3x3", 512, 512, 7, 3, 1, 1, 3),
        Square("layer4 down 1x1/2", 256, 512, 14, 1, 2, 0, 1),
    ];

    /// <summary>
    /// torchvision's MobileNet-v2 inverted-residual settings (expansion t, output channels c, repeats n, first
    /// stride s); the first block of each row has stride s, the rest stride 1.
    /// </summary>
    private static readonly (int T, int C, int N, int S)[] s_mobilenetV2Blocks =
        [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)];

    public static ConvLayerSet Named(string name) => name switch
    {
        "resnet18" => new ConvLayerSet(name, s_resnet18),
        "mobilenet_v2" => new ConvLayerSet(name, MobileNetV2()),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "not a named layer set"),
    };

    /// <summary>
    /// MobileNet-v2 (torchvision, 224x224): the 3x3/2 stem to 32 channels, 17 inverted residual blocks (1x1 expand
    /// unless t = 1, 3x3 depthwise, 1x1 project) and the final 1x1 to 1280: 52 convolutions, merged by shape.
    /// </summary>
    private static ConvLayer[] MobileNetV2()
    {
        var layers = new List<ConvLayer> { Square("stem 3x3/2", 3, 32, 224, 3, 2, 1, 1) };
        long channels = 32, size = 112;
        for (int row = 0; row < s_mobilenetV2Blocks.Length; row++)
        {
            (int t, int c, int n, int s) = s_mobilenetV2Blocks[row];
            for (int i = 0; i < n; i++)
            {
                int stride = i == 0 ? s : 1;
                long hidden = channels * t;
                string block = $"stage{row + 1}";
                if (t != 1)
                {
                    layers.Add(Square($"{block} expand 1x1", channels, hidden, size, 1, 1, 0, 1));
                }

                layers.Add(Square($"{block} depthwise 3x3{(stride == 1 ? "" : $"/{stride}")}", hidden, hidden, size, 3, stride, 1, 1, groups: hidden));
                size = (size + 2 - 3) / stride + 1;
                layers.Add(Square($"{block} project 1x1", hidden, c, size, 1, 1, 0, 1));
                channels = c;
            }
        }

        layers.Add(Square("final 1x1", channels, 1280, size, 1, 1, 0, 1));
        // Equal shapes run once with their count (the first one's name), as in the ResNet-18 table.
        return [.. layers.GroupBy(l => l with { Name = "", Count = 0 }).Select(g => g.First() with { Count = g.Sum(l => l.Count) })];
    }

    private static ConvLayer Square(string name, long inChannels, long outChannels, long size, long kernel, long stride, long pad, int count, long groups = 1) =>
        new(name, null, inChannels, size, size, outChannels, kernel, kernel, stride, pad, groups, count);

    /// <summary>
    /// Parses <c>--layers</c>: comma-separated set names and layers <c>NAME=NxCxHxW:MxKhxKw[:stride,pad,groups]</c>
    /// (stride 1, pad 0, groups 1 when left out), the layers collected in one set named <c>custom</c>. The commas
    /// inside a layer's <c>stride,pad,groups</c> are told apart from the list's by what follows them.
    /// </summary>
    /// <exception cref="FormatException">An item is neither; the message names it and the expected forms.</exception>
    public static ConvLayerSet[] ParseList(string text)
    {
        // An item that is only digits continues the stride,pad,groups of the layer before it.
        var items = new List<string>();
        foreach (string token in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (items.Count > 0 && token.Length > 0 && token.All(char.IsAsciiDigit) && items[^1].Contains('='))
            {
                items[^1] += "," + token;
            }
            else
            {
                items.Add(token);
            }
        }

        var sets = new List<ConvLayerSet>();
        var custom = new List<ConvLayer>();
        foreach (string item in items)
        {
            if (SetNames.Contains(item.ToLowerInvariant()))
            {
                sets.Add(Named(item.ToLowerInvariant()));
            }
            else if (item.Contains('='))
            {
                if (custom.Count == 0) sets.Add(new ConvLayerSet(CustomSetName, custom));
                custom.Add(ParseLayer(item));
            }
            else
            {
                throw new FormatException($"unknown layer set '{item}': expected {string.Join(" or ", SetNames)}, or a layer NAME=NxCxHxW:MxKhxKw[:stride,pad,groups]");
            }
        }

        return [.. sets];
    }

    private static ConvLayer ParseLayer(string item)
    {
        Match match = LayerPattern().Match(item);
        long Value(string group, long fallback) => match.Groups[group].Success ? long.Parse(match.Groups[group].Value, CultureInfo.InvariantCulture) : fallback;
        if (!match.Success)
        {
            throw new FormatException($"invalid layer '{item}': expected NAME=NxCxHxW:MxKhxKw[:stride,pad,groups] with positive sizes, such as conv=1x64x56x56:64x3x3:1,1,1");
        }

        var layer = new ConvLayer(match.Groups["name"].Value, Value("n", 0), Value("c", 0), Value("h", 0), Value("w", 0), Value("m", 0), Value("kh", 0), Value("kw", 0),
            Value("stride", 1), Value("pad", 0), Value("groups", 1), Count: 1);
        string? problem = layer switch
        {
            _ when new[] { layer.Batch!.Value, layer.C, layer.H, layer.W, layer.M, layer.Kh, layer.Kw, layer.Stride, layer.Groups }.Any(v => v < 1) =>
                "sizes, stride and groups must be at least 1",
            _ when layer.C % layer.Groups != 0 || layer.M % layer.Groups != 0 => $"groups {layer.Groups} must divide C = {layer.C} and M = {layer.M}",
            _ when layer.H + 2 * layer.Pad < layer.Kh || layer.W + 2 * layer.Pad < layer.Kw => "the kernel is larger than the padded input",
            _ => null,
        };
        return problem is null ? layer : throw new FormatException($"invalid layer '{item}': {problem}");
    }

    [GeneratedRegex(@"^(?<name>[^=]+)=(?<n>\d{1,12})[xX](?<c>\d{1,12})[xX](?<h>\d{1,12})[xX](?<w>\d{1,12}):(?<m>\d{1,12})[xX](?<kh>\d{1,12})[xX](?<kw>\d{1,12})(?::(?<stride>\d{1,12}),(?<pad>\d{1,12}),(?<groups>\d{1,12}))?$")]
    private static partial Regex LayerPattern();
}

using Myelin.Bindings.Generator;
using NUnit.Framework;

namespace Myelin.Tests.Bindings;

[TestFixture]
public sealed class GeneratedBindingsTests
{
    [Test]
    public void CommittedBindingsMatchTheHeader()
    {
        BindingTestSupport.RequireLibClang();
        string root = BindingTestSupport.RepositoryRoot();
        string committedPath = Path.Combine(root, "bindings", "Myelin.Native", "NativeMethods.g.cs");

        string generated = BindingGenerator.Generate(Path.Combine(root, "native", "include", "myelin.h"));
        // A checkout may turn "\n" into "\r\n" (bindings/.gitattributes asks it not to); that is no difference.
        string committed = File.ReadAllText(committedPath).Replace("\r\n", "\n", StringComparison.Ordinal);

        if (generated != committed)
        {
            Assert.Fail(DescribeFirstDifference(committed, generated) + $"\nRegenerate from the repository root with:\n  {BindingTestSupport.RegenerateCommand}");
        }
    }

    private static string DescribeFirstDifference(string committed, string generated)
    {
        string[] committedLines = committed.Split('\n');
        string[] generatedLines = generated.Split('\n');
        for (int i = 0; i < Math.Max(committedLines.Length, generatedLines.Length); i++)
        {
            string? a = i < committedLines.Length ? committedLines[i] : null;
            string? b = i < generatedLines.Length ? generatedLines[i] : null;
            if (a != b)
            {
                return $"NativeMethods.g.cs is out of date with native/include/myelin.h; first difference at line {i + 1}:\n" +
                    $"  committed: {a ?? "<end of file>"}\n  generated: {b ?? "<end of file>"}";
            }
        }

        return "NativeMethods.g.cs differs from the generated text.";
    }
}

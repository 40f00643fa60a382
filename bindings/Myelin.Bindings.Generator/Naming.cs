using System.Text;

namespace Myelin.Bindings.Generator;

/// <summary>The naming rules of bindings/README.md, applied to C identifiers.</summary>
public static class Naming
{
    public const string Prefix = "mln_";

    private static readonly HashSet<string> s_keywords =
    [
        "abstract", "as", "base", "bool", "break", "byte", "case", "catch", "char", "checked", "class",
        "const", "continue", "decimal", "default", "delegate", "do", "double", "else", "enum", "event",
        "explicit", "extern", "false", "finally", "fixed", "float", "for", "foreach", "goto", "if",
        "implicit", "in", "int", "interface", "internal", "is", "lock", "long", "namespace", "new", "null",
        "object", "operator", "out", "override", "params", "private", "protected", "public", "readonly",
        "ref", "return", "sbyte", "sealed", "short", "sizeof", "stackalloc", "static", "string", "struct",
        "switch", "this", "throw", "true", "try", "typeof", "uint", "ulong", "unchecked", "unsafe", "ushort",
        "using", "virtual", "void", "volatile", "while",
    ];

    /// <summary>
    /// PascalCase of `_`-separated words: each word lower-cased and capitalized, a letter after a digit
    /// capitalized (AVX512F -> Avx512F, SSE4_2 -> Sse42), and the word dtype written DType.
    /// </summary>
    public static string Pascal(string snake)
    {
        var result = new StringBuilder(snake.Length);
        foreach (string word in snake.Split('_', StringSplitOptions.RemoveEmptyEntries))
        {
            string lower = word.ToLowerInvariant();
            if (lower == "dtype")
            {
                result.Append("DType");
                continue;
            }

            for (int i = 0; i < lower.Length; i++)
            {
                bool capitalize = i == 0 || (char.IsAsciiDigit(lower[i - 1]) && char.IsAsciiLetter(lower[i]));
                result.Append(capitalize ? char.ToUpperInvariant(lower[i]) : lower[i]);
            }
        }

        return result.ToString();
    }

    /// <summary>camelCase (out_count -> outCount), escaped with @ where it is a C# keyword.</summary>
    public static string Camel(string snake)
    {
        string pascal = Pascal(snake);
        string camel = pascal.Length == 0 ? pascal : char.ToLowerInvariant(pascal[0]) + pascal[1..];
        return s_keywords.Contains(camel) ? "@" + camel : camel;
    }

    /// <summary>The C# name of a C type or function: the mln_ prefix dropped, then PascalCased.</summary>
    public static string TypeOrFunction(string cName) =>
        Pascal(cName.StartsWith(Prefix, StringComparison.Ordinal) ? cName[Prefix.Length..] : cName);

    /// <summary>The SafeHandle type of an opaque handle: mln_device -> DeviceHandle.</summary>
    public static string Handle(string cName) => TypeOrFunction(cName) + "Handle";
}

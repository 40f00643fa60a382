namespace Myelin.Bindings.Generator;

/// <summary>
/// Finds the comment that documents a declaration, from the header's comment tokens.
/// </summary>
/// <remarks>
/// myelin.h uses plain <c>/* */</c> comments, and clang's own attachment (getRawCommentText with
/// -fparse-all-comments) hands a trailing <c>/* ... */</c> after one enum constant to the next one and
/// a section banner to the declaration below it. The rule here is explicit instead: a comment block
/// documents the declaration on the line right below it (nothing else on the comment's lines, no blank
/// line between), or, for enum constants and fields, a comment on the same line right after it.
/// </remarks>
internal sealed class DocComments
{
    private readonly List<Token> _tokens;

    public DocComments(List<Token> tokens) => _tokens = tokens;

    public string? Leading(int declarationLine)
    {
        // Tokens are in file order, so EndLine never decreases: find the last one above the declaration.
        int i = _tokens.FindLastIndex(t => t.EndLine < declarationLine);
        var block = new List<Token>();
        int expectedEndLine = declarationLine - 1;
        while (i >= 0 && _tokens[i].Kind == CXTokenKind.Comment && _tokens[i].EndLine == expectedEndLine && StartsLine(i))
        {
            block.Add(_tokens[i]);
            expectedEndLine = _tokens[i].StartLine - 1;
            i--;
        }

        block.Reverse();
        return Render(block);
    }

    public string? Trailing(int declarationEndOffset, int declarationEndLine)
    {
        int i = _tokens.FindIndex(t => t.Offset >= declarationEndOffset);
        if (i >= 0 && _tokens[i].Kind == CXTokenKind.Punctuation && _tokens[i].Spelling is "," or ";")
        {
            i++;
        }

        return i >= 0 && i < _tokens.Count && _tokens[i].Kind == CXTokenKind.Comment && _tokens[i].StartLine == declarationEndLine
            ? Render([_tokens[i]])
            : null;
    }

    private bool StartsLine(int i) => i == 0 || _tokens[i - 1].EndLine < _tokens[i].StartLine;

    /// <summary>The text of the comments without their markers, one string with "\n" between lines.</summary>
    internal static string? Render(IReadOnlyList<Token> comments)
    {
        var lines = new List<string>();
        foreach (Token comment in comments)
        {
            lines.AddRange(StripMarkers(comment.Spelling));
        }

        int first = lines.FindIndex(l => l.Length > 0);
        int last = lines.FindLastIndex(l => l.Length > 0);
        return first < 0 ? null : string.Join('\n', lines.GetRange(first, last - first + 1));
    }

    private static IEnumerable<string> StripMarkers(string comment)
    {
        if (comment.StartsWith("//", StringComparison.Ordinal))
        {
            return [comment.TrimStart('/').TrimStart('!', '<').Trim()];
        }

        string body = comment[2..^2].TrimStart('*', '!').TrimStart('<');
        return body.Replace("\r\n", "\n").Split('\n').Select((line, index) =>
        {
            string text = line.Trim();
            // Continuation lines of a block comment usually start with " * ".
            return index > 0 && text.StartsWith('*') ? text[1..].Trim() : text;
        });
    }
}

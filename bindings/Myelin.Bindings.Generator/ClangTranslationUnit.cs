using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Myelin.Bindings.Generator;

/// <summary>A parsed header: owns the libclang index and translation unit.</summary>
internal sealed unsafe class ClangTranslationUnit : IDisposable
{
    private void* _index;
    private void* _unit;

    private ClangTranslationUnit(void* index, void* unit, string path)
    {
        _index = index;
        _unit = unit;
        Path = path;
    }

    public string Path { get; }

    public void* Handle => _unit;

    public CXCursor Cursor => LibClang.clang_getTranslationUnitCursor(_unit);

    /// <summary>Parses <paramref name="path"/> as C11; throws if clang reports an error.</summary>
    public static ClangTranslationUnit Parse(string path, IReadOnlyList<string> arguments)
    {
        LibClangLoader.Load();
        void* index = LibClang.clang_createIndex(0, 0);
        nint* args = stackalloc nint[arguments.Count];
        nint fileName = Marshal.StringToCoTaskMemUTF8(path);
        try
        {
            for (int i = 0; i < arguments.Count; i++)
            {
                args[i] = Marshal.StringToCoTaskMemUTF8(arguments[i]);
            }

            void* unit = null;
            int error = LibClang.clang_parseTranslationUnit2(
                index, (byte*)fileName, (byte**)args, arguments.Count, null, 0,
                CXTranslationUnitFlags.DetailedPreprocessingRecord | CXTranslationUnitFlags.SkipFunctionBodies, &unit);
            if (error != 0 || unit == null)
            {
                LibClang.clang_disposeIndex(index);
                throw new BindingGeneratorException($"{path}: libclang could not parse the file (CXErrorCode {error}).");
            }

            var result = new ClangTranslationUnit(index, unit, path);
            string errors = result.ErrorDiagnostics();
            if (errors.Length > 0)
            {
                result.Dispose();
                throw new BindingGeneratorException($"{path}: clang reported errors:\n{errors}");
            }

            return result;
        }
        finally
        {
            Marshal.FreeCoTaskMem(fileName);
            for (int i = 0; i < arguments.Count; i++)
            {
                Marshal.FreeCoTaskMem(args[i]);
            }
        }
    }

    private string ErrorDiagnostics()
    {
        var lines = new List<string>();
        uint count = LibClang.clang_getNumDiagnostics(_unit);
        for (uint i = 0; i < count; i++)
        {
            void* diagnostic = LibClang.clang_getDiagnostic(_unit, i);
            try
            {
                if (LibClang.clang_getDiagnosticSeverity(diagnostic) >= CXDiagnosticSeverity.Error)
                {
                    lines.Add("  " + LibClang.Take(
                        LibClang.clang_formatDiagnostic(diagnostic, LibClang.clang_defaultDiagnosticDisplayOptions())));
                }
            }
            finally
            {
                LibClang.clang_disposeDiagnostic(diagnostic);
            }
        }

        return string.Join('\n', lines);
    }

    /// <summary>The direct children of <paramref name="parent"/>, in source order.</summary>
    public static List<CXCursor> Children(CXCursor parent)
    {
        var children = new List<CXCursor>();
        GCHandle state = GCHandle.Alloc(children);
        try
        {
            LibClang.clang_visitChildren(parent, &CollectChild, (void*)GCHandle.ToIntPtr(state));
        }
        finally
        {
            state.Free();
        }

        return children;
    }

    // Only collects: all the work happens in managed code afterwards, because an exception must
    // never unwind through libclang's native frames.
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static CXChildVisitResult CollectChild(CXCursor cursor, CXCursor parent, void* clientData)
    {
        var children = (List<CXCursor>)GCHandle.FromIntPtr((nint)clientData).Target!;
        children.Add(cursor);
        return CXChildVisitResult.Continue;
    }

    /// <summary>Line (1-based) and byte offset in the main file where <paramref name="location"/> is expanded.</summary>
    public static (int Line, int Offset) Position(CXSourceLocation location)
    {
        uint line, column, offset;
        LibClang.clang_getExpansionLocation(location, null, &line, &column, &offset);
        return ((int)line, (int)offset);
    }

    /// <summary>Every token of the main file, comments included (clang_tokenize keeps them).</summary>
    public List<Token> TokenizeFile()
    {
        nint fileName = Marshal.StringToCoTaskMemUTF8(Path);
        void* file;
        try
        {
            file = LibClang.clang_getFile(_unit, (byte*)fileName);
        }
        finally
        {
            Marshal.FreeCoTaskMem(fileName);
        }

        uint length = (uint)new FileInfo(Path).Length;
        CXSourceRange range = LibClang.clang_getRange(
            LibClang.clang_getLocationForOffset(_unit, file, 0), LibClang.clang_getLocationForOffset(_unit, file, length));
        CXToken* tokens = null;
        uint count = 0;
        LibClang.clang_tokenize(_unit, range, &tokens, &count);
        try
        {
            var result = new List<Token>((int)count);
            for (uint i = 0; i < count; i++)
            {
                CXSourceRange extent = LibClang.clang_getTokenExtent(_unit, tokens[i]);
                (int startLine, int startOffset) = Position(LibClang.clang_getRangeStart(extent));
                (int endLine, _) = Position(LibClang.clang_getRangeEnd(extent));
                result.Add(new Token(
                    LibClang.clang_getTokenKind(tokens[i]), LibClang.Take(LibClang.clang_getTokenSpelling(_unit, tokens[i])),
                    startLine, endLine, startOffset));
            }

            return result;
        }
        finally
        {
            LibClang.clang_disposeTokens(_unit, tokens, count);
        }
    }

    /// <summary>The tokens of one declaration (used for macro bodies).</summary>
    public List<string> TokenSpellings(CXCursor cursor)
    {
        CXToken* tokens = null;
        uint count = 0;
        LibClang.clang_tokenize(_unit, LibClang.clang_getCursorExtent(cursor), &tokens, &count);
        try
        {
            var result = new List<string>((int)count);
            for (uint i = 0; i < count; i++)
            {
                result.Add(LibClang.Take(LibClang.clang_getTokenSpelling(_unit, tokens[i])));
            }

            return result;
        }
        finally
        {
            LibClang.clang_disposeTokens(_unit, tokens, count);
        }
    }

    public void Dispose()
    {
        if (_unit != null)
        {
            LibClang.clang_disposeTranslationUnit(_unit);
            _unit = null;
        }

        if (_index != null)
        {
            LibClang.clang_disposeIndex(_index);
            _index = null;
        }
    }
}

internal sealed record Token(CXTokenKind Kind, string Spelling, int StartLine, int EndLine, int Offset);

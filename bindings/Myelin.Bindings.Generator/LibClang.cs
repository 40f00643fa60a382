using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Myelin.Bindings.Generator;

// The small part of libclang's C API (clang-c/Index.h, LLVM 14) that the generator uses.
// Struct layouts and enum values are copied from that header; all are stable across LLVM versions.

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct CXString
{
    public void* Data;
    public uint PrivateFlags;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct CXCursor
{
    public CXCursorKind Kind;
    public int XData;
    public void* Data0;
    public void* Data1;
    public void* Data2;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct CXType
{
    public CXTypeKind Kind;
    public void* Data0;
    public void* Data1;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct CXSourceLocation
{
    public void* PtrData0;
    public void* PtrData1;
    public uint IntData;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct CXSourceRange
{
    public void* PtrData0;
    public void* PtrData1;
    public uint BeginIntData;
    public uint EndIntData;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct CXToken
{
    public uint IntData0;
    public uint IntData1;
    public uint IntData2;
    public uint IntData3;
    public void* PtrData;
}

internal enum CXCursorKind
{
    StructDecl = 2,
    UnionDecl = 3,
    EnumDecl = 5,
    FieldDecl = 6,
    EnumConstantDecl = 7,
    FunctionDecl = 8,
    VarDecl = 9,
    ParmDecl = 10,
    TypedefDecl = 20,
    MacroDefinition = 501,
}

internal enum CXTypeKind
{
    Invalid = 0,
    Void = 2,
    Bool = 3,
    CharU = 4,
    UChar = 5,
    UShort = 8,
    UInt = 9,
    ULong = 10,
    ULongLong = 11,
    CharS = 13,
    SChar = 14,
    Short = 16,
    Int = 17,
    Long = 18,
    LongLong = 19,
    Float = 21,
    Double = 22,
    Pointer = 101,
    Record = 105,
    Enum = 106,
    Typedef = 107,
    FunctionNoProto = 110,
    FunctionProto = 111,
    ConstantArray = 112,
    IncompleteArray = 114,
    Elaborated = 119,
}

internal enum CXTokenKind
{
    Punctuation = 0,
    Keyword = 1,
    Identifier = 2,
    Literal = 3,
    Comment = 4,
}

internal enum CXChildVisitResult
{
    Break = 0,
    Continue = 1,
    Recurse = 2,
}

internal enum CXDiagnosticSeverity
{
    Ignored = 0,
    Note = 1,
    Warning = 2,
    Error = 3,
    Fatal = 4,
}

[Flags]
internal enum CXTranslationUnitFlags : uint
{
    None = 0,
    DetailedPreprocessingRecord = 0x01,
    SkipFunctionBodies = 0x40,
}

internal static unsafe partial class LibClang
{
    // Resolved by LibClangLoader's DllImportResolver to whichever libclang it found.
    internal const string Name = "libclang";

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial byte* clang_getCString(CXString text);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial void clang_disposeString(CXString text);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial void* clang_createIndex(int excludeDeclarationsFromPch, int displayDiagnostics);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial void clang_disposeIndex(void* index);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial int clang_parseTranslationUnit2(
        void* index, byte* sourceFilename, byte** commandLineArgs, int numCommandLineArgs,
        void* unsavedFiles, uint numUnsavedFiles, CXTranslationUnitFlags options, void** outTranslationUnit);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial void clang_disposeTranslationUnit(void* translationUnit);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial uint clang_getNumDiagnostics(void* translationUnit);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial void* clang_getDiagnostic(void* translationUnit, uint index);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial CXDiagnosticSeverity clang_getDiagnosticSeverity(void* diagnostic);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial CXString clang_formatDiagnostic(void* diagnostic, uint options);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial uint clang_defaultDiagnosticDisplayOptions();

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial void clang_disposeDiagnostic(void* diagnostic);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial CXCursor clang_getTranslationUnitCursor(void* translationUnit);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial uint clang_visitChildren(
        CXCursor parent, delegate* unmanaged[Cdecl]<CXCursor, CXCursor, void*, CXChildVisitResult> visitor, void* clientData);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial CXString clang_getCursorSpelling(CXCursor cursor);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial CXString clang_getCursorUSR(CXCursor cursor);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial CXSourceLocation clang_getCursorLocation(CXCursor cursor);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial CXSourceRange clang_getCursorExtent(CXCursor cursor);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial int clang_Location_isFromMainFile(CXSourceLocation location);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial CXSourceLocation clang_getRangeStart(CXSourceRange range);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial CXSourceLocation clang_getRangeEnd(CXSourceRange range);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial CXSourceRange clang_getRange(CXSourceLocation begin, CXSourceLocation end);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial void clang_getExpansionLocation(
        CXSourceLocation location, void** file, uint* line, uint* column, uint* offset);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial void* clang_getFile(void* translationUnit, byte* fileName);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial CXSourceLocation clang_getLocationForOffset(void* translationUnit, void* file, uint offset);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial int clang_Cursor_isNull(CXCursor cursor);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial int clang_isCursorDefinition(CXCursor cursor);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial CXCursor clang_getCursorDefinition(CXCursor cursor);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial uint clang_Cursor_isAnonymous(CXCursor cursor);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial uint clang_Cursor_isBitField(CXCursor cursor);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial uint clang_Cursor_isMacroFunctionLike(CXCursor cursor);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial uint clang_Cursor_isMacroBuiltin(CXCursor cursor);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial CXType clang_getCursorType(CXCursor cursor);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial CXType clang_getCursorResultType(CXCursor cursor);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial int clang_Cursor_getNumArguments(CXCursor cursor);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial CXCursor clang_Cursor_getArgument(CXCursor cursor, uint index);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial CXType clang_getTypedefDeclUnderlyingType(CXCursor cursor);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial CXType clang_getEnumDeclIntegerType(CXCursor cursor);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial long clang_getEnumConstantDeclValue(CXCursor cursor);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial CXString clang_getTypeSpelling(CXType type);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial CXType clang_getCanonicalType(CXType type);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial CXType clang_getPointeeType(CXType type);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial CXType clang_Type_getNamedType(CXType type);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial CXCursor clang_getTypeDeclaration(CXType type);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial uint clang_isConstQualifiedType(CXType type);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial long clang_getArraySize(CXType type);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial CXType clang_getArrayElementType(CXType type);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial long clang_Type_getSizeOf(CXType type);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial uint clang_isFunctionTypeVariadic(CXType type);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial void clang_tokenize(void* translationUnit, CXSourceRange range, CXToken** tokens, uint* numTokens);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial void clang_disposeTokens(void* translationUnit, CXToken* tokens, uint numTokens);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial CXTokenKind clang_getTokenKind(CXToken token);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial CXString clang_getTokenSpelling(void* translationUnit, CXToken token);

    [LibraryImport(Name)]
    [UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    public static partial CXSourceRange clang_getTokenExtent(void* translationUnit, CXToken token);

    /// <summary>Copies a CXString into a .NET string and disposes it.</summary>
    public static string Take(CXString text)
    {
        try
        {
            byte* chars = clang_getCString(text);
            return chars == null ? string.Empty : Marshal.PtrToStringUTF8((nint)chars) ?? string.Empty;
        }
        finally
        {
            clang_disposeString(text);
        }
    }

    public static string Spelling(CXCursor cursor) => Take(clang_getCursorSpelling(cursor));

    public static string Spelling(CXType type) => Take(clang_getTypeSpelling(type));
}

using System.Text.RegularExpressions;

namespace Myelin.Bindings.Generator;

/// <summary>Where a C type appears; the same C type maps differently by position.</summary>
internal enum TypeUse
{
    Parameter,
    /// <summary>The single parameter of mln_X_destroy: the raw handle that SafeHandle.ReleaseHandle passes.</summary>
    DestroyParameter,
    Return,
    Field,
    /// <summary>The target of a pointer (the `T` in `T*`).</summary>
    Pointee,
}

/// <summary>A mapped type: its C# spelling and whether it needs string marshalling.</summary>
internal readonly record struct MappedType(string Name, bool IsString = false);

/// <summary>Maps clang types to C# types by type kind, following bindings/README.md.</summary>
internal sealed partial class TypeMapper
{
    // Builtin C types whose width C# states exactly. `long` and `unsigned long` are not here: their
    // width differs between Windows and Unix, so the header must spell them as fixed-width typedefs.
    private static readonly Dictionary<CXTypeKind, string> s_builtins = new()
    {
        [CXTypeKind.Void] = "void",
        [CXTypeKind.Bool] = "byte", // C's _Bool is one byte; C# bool would need marshalling.
        [CXTypeKind.CharS] = "byte", // char is a UTF-8 code unit.
        [CXTypeKind.CharU] = "byte",
        [CXTypeKind.SChar] = "sbyte",
        [CXTypeKind.UChar] = "byte",
        [CXTypeKind.Short] = "short",
        [CXTypeKind.UShort] = "ushort",
        [CXTypeKind.Int] = "int",
        [CXTypeKind.UInt] = "uint",
        [CXTypeKind.LongLong] = "long",
        [CXTypeKind.ULongLong] = "ulong",
        [CXTypeKind.Float] = "float",
        [CXTypeKind.Double] = "double",
    };

    // Typedefs whose width follows the pointer size, which their canonical type on the generating
    // machine would hide (size_t is `unsigned long` on Linux but `unsigned long long` on Win64).
    private static readonly Dictionary<string, string> s_pointerSized = new()
    {
        ["size_t"] = "nuint",
        ["uintptr_t"] = "nuint",
        ["ptrdiff_t"] = "nint",
        ["intptr_t"] = "nint",
        ["ssize_t"] = "nint",
    };

    // Element types C# allows in a fixed buffer.
    private static readonly HashSet<string> s_fixedElements =
        ["bool", "byte", "sbyte", "short", "ushort", "int", "uint", "long", "ulong", "char", "float", "double"];

    [GeneratedRegex("^u?int(8|16|32|64)_t$")]
    private static partial Regex FixedWidthTypedef();

    private readonly Dictionary<string, string> _tagNames = new(StringComparer.Ordinal);

    /// <summary>Records the C name of a tag declared without one (`typedef enum { ... } mln_x;`).</summary>
    public void NameAnonymousTag(CXCursor declaration, string cName) => _tagNames[Usr(declaration)] = cName;

    /// <summary>The C name of an enum or struct declaration: its tag, or the typedef that named it.</summary>
    public string CNameOf(CXCursor declaration) =>
        _tagNames.TryGetValue(Usr(declaration), out string? name) ? name : LibClang.Spelling(declaration);

    public static bool IsOpaque(CXCursor recordDeclaration) =>
        LibClang.clang_Cursor_isNull(LibClang.clang_getCursorDefinition(recordDeclaration)) != 0;

    public static bool IsFixedBufferElement(string csharpType) => s_fixedElements.Contains(csharpType);

    /// <summary>Maps <paramref name="type"/>; <paramref name="declaration"/> names the C declaration in errors.</summary>
    public MappedType Map(CXType type, TypeUse use, string declaration)
    {
        switch (type.Kind)
        {
            case CXTypeKind.Elaborated:
                return Map(LibClang.clang_Type_getNamedType(type), use, declaration);

            case CXTypeKind.Typedef:
                return MapTypedef(type, use, declaration);

            case CXTypeKind.Enum:
                return new(Naming.TypeOrFunction(CNameOf(LibClang.clang_getTypeDeclaration(type))));

            case CXTypeKind.Record:
                CXCursor record = LibClang.clang_getTypeDeclaration(type);
                if (IsOpaque(record))
                {
                    throw Unmappable(declaration, type, "an opaque struct can only be used through a pointer");
                }

                return new(Naming.TypeOrFunction(CNameOf(record)));

            case CXTypeKind.Pointer:
                return MapPointer(type, use, declaration);

            case CXTypeKind.Long or CXTypeKind.ULong:
                throw Unmappable(declaration, type, "its width differs between platforms; use int32_t/int64_t or size_t");

            case CXTypeKind.FunctionProto or CXTypeKind.FunctionNoProto:
                throw Unmappable(declaration, type, "function pointers are not supported");

            default:
                if (s_builtins.TryGetValue(type.Kind, out string? builtin))
                {
                    if (builtin == "void" && use is not (TypeUse.Return or TypeUse.Pointee))
                    {
                        throw Unmappable(declaration, type, "void is only a result or a pointer target");
                    }

                    return new(builtin);
                }

                throw Unmappable(declaration, type, $"type kind {type.Kind} is not supported");
        }
    }

    private MappedType MapTypedef(CXType type, TypeUse use, string declaration)
    {
        CXCursor typedef = LibClang.clang_getTypeDeclaration(type);
        string name = LibClang.Spelling(typedef);
        if (s_pointerSized.TryGetValue(name, out string? pointerSized))
        {
            return new(pointerSized);
        }

        if (FixedWidthTypedef().IsMatch(name))
        {
            // int64_t is `long` on Linux and `long long` on Windows; its size and sign decide, not its kind.
            CXType canonical = LibClang.clang_getCanonicalType(type);
            bool signed = !name.StartsWith('u');
            return new(LibClang.clang_Type_getSizeOf(canonical) switch
            {
                1 => signed ? "sbyte" : "byte",
                2 => signed ? "short" : "ushort",
                4 => signed ? "int" : "uint",
                8 => signed ? "long" : "ulong",
                long size => throw Unmappable(declaration, type, $"{name} has size {size}"),
            });
        }

        return Map(LibClang.clang_getTypedefDeclUnderlyingType(typedef), use, declaration);
    }

    private MappedType MapPointer(CXType type, TypeUse use, string declaration)
    {
        CXType pointee = LibClang.clang_getPointeeType(type);
        CXType canonicalPointee = LibClang.clang_getCanonicalType(pointee);

        if (OpaqueRecordName(canonicalPointee) is string handleCName)
        {
            return use switch
            {
                TypeUse.Parameter or TypeUse.Return => new(Naming.Handle(handleCName)),
                TypeUse.DestroyParameter => new("nint"),
                _ => throw Unmappable(declaration, type, "an opaque handle can only be a parameter or a result"),
            };
        }

        if (canonicalPointee.Kind == CXTypeKind.Pointer
            && OpaqueRecordName(LibClang.clang_getCanonicalType(LibClang.clang_getPointeeType(canonicalPointee))) is string outCName)
        {
            return use == TypeUse.Parameter
                ? new("out " + Naming.Handle(outCName))
                : throw Unmappable(declaration, type, "a handle's address can only be an out-parameter");
        }

        if (canonicalPointee.Kind is CXTypeKind.CharS or CXTypeKind.CharU
            && LibClang.clang_isConstQualifiedType(pointee) != 0 && use == TypeUse.Parameter)
        {
            // An input string; results and out-strings stay byte* because the library owns them.
            return new("string", IsString: true);
        }

        MappedType target = Map(pointee, TypeUse.Pointee, declaration);
        if (target.Name.StartsWith("out ", StringComparison.Ordinal))
        {
            throw Unmappable(declaration, type, "pointer to a handle's address is not supported");
        }

        return new(target.Name + "*");
    }

    private string? OpaqueRecordName(CXType canonical)
    {
        if (canonical.Kind != CXTypeKind.Record)
        {
            return null;
        }

        CXCursor record = LibClang.clang_getTypeDeclaration(canonical);
        return IsOpaque(record) ? CNameOf(record) : null;
    }

    internal static BindingGeneratorException Unmappable(string declaration, CXType type, string reason) =>
        new($"{declaration}: cannot map type '{LibClang.Spelling(type)}': {reason}.");

    private static string Usr(CXCursor cursor) => LibClang.Take(LibClang.clang_getCursorUSR(cursor));
}

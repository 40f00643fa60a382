using System.Globalization;
using System.Text.RegularExpressions;

namespace Myelin.Bindings.Generator;

/// <summary>Reads a C header through libclang into a <see cref="HeaderModel"/>.</summary>
public static partial class HeaderReader
{
    /// <summary>Object-like macros with this prefix and an integer literal value become constants.</summary>
    public const string ConstantPrefix = "MLN_";

    // -fparse-all-comments is not needed: DocComments reads comment tokens itself.
    private static readonly string[] s_clangArguments = ["-x", "c", "-std=c11"];

    [GeneratedRegex(@"^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)[uUlL]*$")]
    private static partial Regex IntegerLiteral();

    [GeneratedRegex(@"^mln_(\w+)_destroy$")]
    private static partial Regex DestroyFunction();

    public static HeaderModel Read(string headerPath)
    {
        using ClangTranslationUnit unit = ClangTranslationUnit.Parse(Path.GetFullPath(headerPath), s_clangArguments);
        return new Reader(unit).Run();
    }

    private sealed class Reader
    {
        private readonly ClangTranslationUnit _unit;
        private readonly DocComments _docs;
        private readonly TypeMapper _types = new();
        private readonly List<ConstantModel> _constants = [];
        private readonly List<EnumModel> _enums = [];
        private readonly List<StructModel> _structs = [];
        private readonly List<HandleModel> _handles = [];
        private readonly List<FunctionModel> _functions = [];
        private readonly HashSet<string> _emittedTags = new(StringComparer.Ordinal);
        private readonly Dictionary<string, string> _csharpNames = new(StringComparer.Ordinal);

        public Reader(ClangTranslationUnit unit)
        {
            _unit = unit;
            _docs = new DocComments(unit.TokenizeFile());
        }

        public HeaderModel Run()
        {
            foreach (CXCursor cursor in ClangTranslationUnit.Children(_unit.Cursor))
            {
                // Declarations from included headers (stdint.h, ...) are not part of the ABI.
                if (LibClang.clang_Location_isFromMainFile(LibClang.clang_getCursorLocation(cursor)) == 0)
                {
                    continue;
                }

                switch (cursor.Kind)
                {
                    case CXCursorKind.MacroDefinition:
                        ReadMacro(cursor);
                        break;
                    case CXCursorKind.EnumDecl when IsNamedDefinition(cursor):
                        ReadEnum(cursor, LibClang.Spelling(cursor));
                        break;
                    case CXCursorKind.StructDecl when IsNamedDefinition(cursor):
                        ReadStruct(cursor, LibClang.Spelling(cursor));
                        break;
                    case CXCursorKind.UnionDecl:
                        throw new BindingGeneratorException($"{LibClang.Spelling(cursor)}: unions are not supported.");
                    case CXCursorKind.TypedefDecl:
                        ReadTypedef(cursor);
                        break;
                    case CXCursorKind.FunctionDecl:
                        ReadFunction(cursor);
                        break;
                    case CXCursorKind.VarDecl:
                        throw new BindingGeneratorException($"{LibClang.Spelling(cursor)}: global variables are not supported.");
                }
            }

            // Functions are named last so that a clash with a constant is known whatever the order:
            // mln_abi_version() and MLN_ABI_VERSION would both be AbiVersion in NativeMethods, and the
            // constant keeps the plain name (README: "Get" is prefixed to the function).
            var constants = _constants.Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
            List<FunctionModel> functions = _functions
                .Select(f => f with { Name = Claim(constants.Contains(f.Name) ? "Get" + f.Name : f.Name, f.CName) })
                .ToList();
            return new HeaderModel(_constants, _enums, _structs, _handles, functions);
        }

        private static bool IsNamedDefinition(CXCursor cursor) =>
            LibClang.clang_isCursorDefinition(cursor) != 0 && !IsAnonymousTag(cursor);

        // clang_Cursor_isAnonymous only knows anonymous struct/union members; an unnamed enum or
        // struct is spelled "" by clang 14 and "enum (unnamed at ...)" by later versions.
        private static bool IsAnonymousTag(CXCursor cursor)
        {
            string spelling = LibClang.Spelling(cursor);
            return spelling.Length == 0 || spelling.Contains("(unnamed", StringComparison.Ordinal)
                || spelling.Contains("(anonymous", StringComparison.Ordinal) || LibClang.clang_Cursor_isAnonymous(cursor) != 0;
        }

        private void ReadMacro(CXCursor cursor)
        {
            string name = LibClang.Spelling(cursor);
            if (!name.StartsWith(ConstantPrefix, StringComparison.Ordinal)
                || LibClang.clang_Cursor_isMacroFunctionLike(cursor) != 0
                || LibClang.clang_Cursor_isMacroBuiltin(cursor) != 0)
            {
                return;
            }

            // The tokens are the name and then the body; only `#define MLN_X <integer literal>` is a constant
            // (this leaves out MLN_API, whose body is an attribute, and empty guard-style macros).
            List<string> tokens = _unit.TokenSpellings(cursor);
            if (tokens.Count != 2 || !IntegerLiteral().IsMatch(tokens[1]))
            {
                return;
            }

            long value = ParseInteger(name, tokens[1]);
            string type = value is >= int.MinValue and <= int.MaxValue ? "int" : "long";
            _constants.Add(new ConstantModel(
                name, Claim(Naming.Pascal(name[ConstantPrefix.Length..]), name), type, value, LeadingDoc(cursor)));
        }

        private static long ParseInteger(string macro, string literal)
        {
            string digits = literal.TrimEnd('u', 'U', 'l', 'L');
            try
            {
                return digits.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
                    ? long.Parse(digits[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture)
                    : digits.Length > 1 && digits[0] == '0'
                        ? Convert.ToInt64(digits, 8)
                        : long.Parse(digits, CultureInfo.InvariantCulture);
            }
            catch (OverflowException)
            {
                throw new BindingGeneratorException($"{macro}: {literal} does not fit in a 64-bit integer.");
            }
        }

        private void ReadTypedef(CXCursor cursor)
        {
            string name = LibClang.Spelling(cursor);
            CXType underlying = LibClang.clang_getCanonicalType(LibClang.clang_getTypedefDeclUnderlyingType(cursor));
            if (underlying.Kind is not (CXTypeKind.Enum or CXTypeKind.Record))
            {
                // Scalar and pointer typedefs produce nothing: their uses map through to the underlying type.
                return;
            }

            CXCursor tag = LibClang.clang_getTypeDeclaration(underlying);
            if (underlying.Kind == CXTypeKind.Record && TypeMapper.IsOpaque(tag))
            {
                string tagName = _types.CNameOf(tag);
                if (_handles.All(h => h.CName != tagName))
                {
                    _handles.Add(new HandleModel(tagName, Claim(Naming.Handle(tagName), tagName)));
                }

                return;
            }

            if (IsAnonymousTag(tag) && LibClang.clang_isCursorDefinition(tag) != 0)
            {
                _types.NameAnonymousTag(tag, name);
                if (underlying.Kind == CXTypeKind.Enum)
                {
                    ReadEnum(tag, name, cursor);
                }
                else
                {
                    ReadStruct(tag, name, cursor);
                }
            }
        }

        private void ReadEnum(CXCursor cursor, string cName, CXCursor? documented = null)
        {
            if (!_emittedTags.Add(cName))
            {
                return;
            }

            // The README's rule: MLN_<ENUM>_ is dropped from every constant.
            string memberPrefix = cName.ToUpperInvariant() + "_";
            var members = new List<EnumMemberModel>();
            var memberNames = new HashSet<string>(StringComparer.Ordinal);
            foreach (CXCursor child in ClangTranslationUnit.Children(cursor))
            {
                if (child.Kind != CXCursorKind.EnumConstantDecl)
                {
                    continue;
                }

                string constant = LibClang.Spelling(child);
                if (!constant.StartsWith(memberPrefix, StringComparison.Ordinal))
                {
                    throw new BindingGeneratorException(
                        $"{constant}: a constant of enum {cName} must start with {memberPrefix}.");
                }

                string name = Naming.Pascal(constant[memberPrefix.Length..]);
                if (name.Length == 0 || !char.IsAsciiLetter(name[0]) || !memberNames.Add(name))
                {
                    throw new BindingGeneratorException(
                        $"{constant}: its C# name '{name}' is not a valid, unique identifier in enum {cName}.");
                }

                long value = LibClang.clang_getEnumConstantDeclValue(child);
                if (value is < int.MinValue or > int.MaxValue)
                {
                    throw new BindingGeneratorException($"{constant}: value {value} does not fit the enum's int.");
                }

                members.Add(new EnumMemberModel(constant, name, value, LeadingDoc(child) ?? TrailingDoc(child)));
            }

            bool isFlags = cName.EndsWith("_features", StringComparison.Ordinal) || cName.EndsWith("_flags", StringComparison.Ordinal);
            _enums.Add(new EnumModel(
                cName, Claim(Naming.TypeOrFunction(cName), cName), isFlags, members, LeadingDoc(documented ?? cursor)));
        }

        private void ReadStruct(CXCursor cursor, string cName, CXCursor? documented = null)
        {
            if (!_emittedTags.Add(cName))
            {
                return;
            }

            var fields = new List<FieldModel>();
            bool isUnsafe = false;
            foreach (CXCursor child in ClangTranslationUnit.Children(cursor))
            {
                if (child.Kind != CXCursorKind.FieldDecl)
                {
                    // A nested struct/union definition shows up as a child too; its field reports it.
                    continue;
                }

                string field = LibClang.Spelling(child);
                string where = $"{cName}.{field}";
                if (LibClang.clang_Cursor_isBitField(child) != 0)
                {
                    throw new BindingGeneratorException($"{where}: bit-fields are not supported.");
                }

                CXType type = LibClang.clang_getCursorType(child);
                long? length = null;
                string csharpType;
                if (type.Kind == CXTypeKind.ConstantArray)
                {
                    // clang has already evaluated the size expression (MLN_MAX_RANK -> 8).
                    length = LibClang.clang_getArraySize(type);
                    csharpType = _types.Map(LibClang.clang_getArrayElementType(type), TypeUse.Field, where).Name;
                    if (!TypeMapper.IsFixedBufferElement(csharpType))
                    {
                        throw TypeMapper.Unmappable(where, type, $"a fixed buffer cannot hold {csharpType}");
                    }
                }
                else if (LibClang.clang_getCanonicalType(type).Kind is CXTypeKind.ConstantArray or CXTypeKind.IncompleteArray)
                {
                    throw TypeMapper.Unmappable(where, type, "only arrays of constant size, declared in the field, are supported");
                }
                else
                {
                    csharpType = _types.Map(type, TypeUse.Field, where).Name;
                }

                isUnsafe |= length is not null || csharpType.EndsWith('*');
                fields.Add(new FieldModel(field, Naming.Pascal(field), csharpType, length, LeadingDoc(child) ?? TrailingDoc(child)));
            }

            _structs.Add(new StructModel(cName, Claim(Naming.TypeOrFunction(cName), cName), fields, isUnsafe, LeadingDoc(documented ?? cursor)));
        }

        private void ReadFunction(CXCursor cursor)
        {
            string cName = LibClang.Spelling(cursor);
            CXType functionType = LibClang.clang_getCursorType(cursor);
            if (functionType.Kind == CXTypeKind.FunctionNoProto)
            {
                throw new BindingGeneratorException($"{cName}: declare it with a prototype ({cName}(void) for no parameters).");
            }

            if (LibClang.clang_isFunctionTypeVariadic(functionType) != 0)
            {
                throw new BindingGeneratorException($"{cName}: variadic functions are not supported.");
            }

            int count = LibClang.clang_Cursor_getNumArguments(cursor);
            Match destroy = DestroyFunction().Match(cName);
            var parameters = new List<ParameterModel>(count);
            bool usesStrings = false;
            for (uint i = 0; i < count; i++)
            {
                CXCursor parameter = LibClang.clang_Cursor_getArgument(cursor, i);
                string parameterName = LibClang.Spelling(parameter);
                if (parameterName.Length == 0)
                {
                    parameterName = $"arg{i}";
                }

                // mln_X_destroy(mln_X*) takes the raw pointer: it is what SafeHandle.ReleaseHandle holds.
                CXType type = LibClang.clang_getCursorType(parameter);
                bool isDestroyParameter = destroy.Success && count == 1 && IsPointerToHandle(type, "mln_" + destroy.Groups[1].Value);
                MappedType mapped = _types.Map(
                    type, isDestroyParameter ? TypeUse.DestroyParameter : TypeUse.Parameter, $"{cName}({parameterName})");
                usesStrings |= mapped.IsString;
                parameters.Add(new ParameterModel(parameterName, Naming.Camel(parameterName), mapped.Name));
            }

            string returnType = _types.Map(LibClang.clang_getCursorResultType(cursor), TypeUse.Return, cName).Name;
            _functions.Add(new FunctionModel(
                cName, Naming.TypeOrFunction(cName), returnType, parameters, usesStrings, LeadingDoc(cursor)));
        }

        private bool IsPointerToHandle(CXType type, string handleCName)
        {
            CXType canonical = LibClang.clang_getCanonicalType(type);
            if (canonical.Kind != CXTypeKind.Pointer)
            {
                return false;
            }

            CXType pointee = LibClang.clang_getCanonicalType(LibClang.clang_getPointeeType(canonical));
            if (pointee.Kind != CXTypeKind.Record)
            {
                return false;
            }

            CXCursor record = LibClang.clang_getTypeDeclaration(pointee);
            return TypeMapper.IsOpaque(record) && _types.CNameOf(record) == handleCName;
        }

        /// <summary>Reserves a C# name so that two declarations can never map to the same one.</summary>
        private string Claim(string csharpName, string cName)
        {
            if (!_csharpNames.TryAdd(csharpName, cName))
            {
                throw new BindingGeneratorException(
                    $"{cName}: its C# name {csharpName} is already used by {_csharpNames[csharpName]}.");
            }

            return csharpName;
        }

        private string? LeadingDoc(CXCursor cursor)
        {
            (int line, _) = ClangTranslationUnit.Position(LibClang.clang_getRangeStart(LibClang.clang_getCursorExtent(cursor)));
            return _docs.Leading(line);
        }

        private string? TrailingDoc(CXCursor cursor)
        {
            (int line, int offset) = ClangTranslationUnit.Position(LibClang.clang_getRangeEnd(LibClang.clang_getCursorExtent(cursor)));
            return _docs.Trailing(offset, line);
        }
    }
}

namespace Myelin.Bindings.Generator;

// What the generator read from the header, already in C# terms. Lists keep declaration order so
// that the output is deterministic.

public sealed record ConstantModel(string CName, string Name, string Type, long Value, string? Doc);

public sealed record EnumMemberModel(string CName, string Name, long Value, string? Doc);

public sealed record EnumModel(string CName, string Name, bool IsFlags, IReadOnlyList<EnumMemberModel> Members, string? Doc);

/// <summary>A struct field; <see cref="FixedLength"/> is set for a C array, which becomes a fixed buffer.</summary>
public sealed record FieldModel(string CName, string Name, string Type, long? FixedLength, string? Doc);

public sealed record StructModel(string CName, string Name, IReadOnlyList<FieldModel> Fields, bool IsUnsafe, string? Doc);

public sealed record HandleModel(string CName, string Name);

/// <summary>A parameter; <see cref="Type"/> may carry a modifier ("out DeviceHandle").</summary>
public sealed record ParameterModel(string CName, string Name, string Type);

public sealed record FunctionModel(
    string CName, string Name, string ReturnType, IReadOnlyList<ParameterModel> Parameters, bool UsesStrings, string? Doc);

public sealed record HeaderModel(
    IReadOnlyList<ConstantModel> Constants,
    IReadOnlyList<EnumModel> Enums,
    IReadOnlyList<StructModel> Structs,
    IReadOnlyList<HandleModel> Handles,
    IReadOnlyList<FunctionModel> Functions);

/// <summary>A declaration of the header that has no mapping to C#; the message names it.</summary>
public sealed class BindingGeneratorException : Exception
{
    public BindingGeneratorException(string message) : base(message)
    {
    }
}

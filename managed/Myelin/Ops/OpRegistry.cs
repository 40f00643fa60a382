using System.Reflection;
using Myelin.Graphs;

namespace Myelin.Ops;

/// <summary>
/// Every op Myelin knows, by name. Each op is one <see cref="OpDef"/> subclass with a parameterless
/// constructor; the registry finds them by reflection, so adding an op touches only its own file.
/// </summary>
public static class OpRegistry
{
    private static readonly Lazy<IReadOnlyDictionary<string, OpDef>> s_ops = new(Discover);

    /// <summary>All registered ops by name.</summary>
    public static IReadOnlyDictionary<string, OpDef> All => s_ops.Value;

    /// <summary>The op named <paramref name="name"/>.</summary>
    /// <exception cref="GraphValidationException">No such op.</exception>
    public static OpDef Get(string name) => All.TryGetValue(name, out OpDef? op)
        ? op
        : throw new GraphValidationException($"Unknown op '{name}'; {All.Count} ops are registered (see OpRegistry.All).");

    /// <summary>The op for an ONNX (domain, op_type) at <paramref name="opset"/>, or null.</summary>
    public static OpDef? FindOnnx(string domain, string opType, int opset) =>
        All.Values.FirstOrDefault(op => op.Domain == domain && op.OpType == opType && op.SinceVersion <= opset && (op.UntilVersion is null || opset <= op.UntilVersion));

    private static IReadOnlyDictionary<string, OpDef> Discover()
    {
        var ops = new SortedDictionary<string, OpDef>(StringComparer.Ordinal);
        foreach (Type type in typeof(OpDef).Assembly.GetTypes())
        {
            if (type.IsAbstract || !typeof(OpDef).IsAssignableFrom(type) || type.GetConstructor(BindingFlags.Public | BindingFlags.Instance, Type.EmptyTypes) is null)
            {
                continue;
            }

            var op = (OpDef)Activator.CreateInstance(type)!;
            if (!ops.TryAdd(op.Name, op))
            {
                throw new InvalidOperationException($"Two op definitions are named '{op.Name}': {ops[op.Name].GetType().Name} and {type.Name}.");
            }
        }

        return ops;
    }
}

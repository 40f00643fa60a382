using Myelin.Native;

namespace Myelin.Execution;

/// <summary>
/// A kernel failed while a compiled graph ran. The message names the node (or the returned output being copied)
/// and carries the cause's message; the plan stays usable for later runs.
/// </summary>
public sealed class NodeExecutionException : MyelinException
{
    /// <summary>Creates the exception for a launch of <paramref name="what"/> that failed with <paramref name="cause"/>.</summary>
    /// <param name="what">What the launch runs, such as "node 'conv1' (Conv)" or "output 'y'".</param>
    /// <param name="nodeName">The node's name, or null for the copy of a returned output.</param>
    /// <param name="cause">The failure.</param>
    public NodeExecutionException(string what, string? nodeName, Exception cause)
        : base(cause is MyelinException myelin ? myelin.Status : Status.Internal, $"{what} failed: {cause.Message}", cause)
    {
        NodeName = nodeName;
    }

    /// <summary>The node whose kernel failed, or null when copying a returned output failed.</summary>
    public string? NodeName { get; }
}

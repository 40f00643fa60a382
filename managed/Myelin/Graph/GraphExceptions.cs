namespace Myelin.Graphs;

/// <summary>A graph is malformed: a node's inputs or attributes do not fit its op. The message names the node.</summary>
public sealed class GraphValidationException : MyelinException
{
    /// <summary>Creates the exception.</summary>
    public GraphValidationException(string message, string? nodeName = null, Exception? innerException = null)
        : base(Status.InvalidArgument, message, innerException)
    {
        NodeName = nodeName;
    }

    /// <summary>The node at fault, when one is.</summary>
    public string? NodeName { get; }
}

/// <summary>A feed given to <see cref="Execution.CompiledGraph.Run"/> is missing, extra, or of the wrong dtype or shape.</summary>
public sealed class FeedException : MyelinException
{
    /// <summary>Creates the exception.</summary>
    public FeedException(string feedName, string message)
        : base(Status.InvalidArgument, message)
    {
        FeedName = feedName;
    }

    /// <summary>The feed at fault.</summary>
    public string FeedName { get; }
}

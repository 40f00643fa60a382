namespace Myelin;

/// <summary>
/// Disposes every tensor created inside it: <c>using var scope = new TensorScope();</c>.
/// </summary>
/// <remarks>
/// <para>The current scope flows with the thread and the async flow (an <see cref="AsyncLocal{T}"/>), so tensors
/// made by awaited code and by tasks started inside the scope belong to it. Scopes nest: a new scope becomes
/// current until it is disposed, and then its parent is current again.</para>
/// <para>Tensors that an operation returns belong to the scope current when they were made. To let one outlive
/// its scope, call <see cref="Keep"/> (or <see cref="Tensor.MoveToOuterScope"/>): it moves to the parent scope,
/// or to no scope at all at the outermost level, where the caller disposes it.</para>
/// <para>Disposing a tensor yourself inside a scope is fine, and so is disposing a scope twice.</para>
/// </remarks>
public sealed class TensorScope : IDisposable
{
    private static readonly AsyncLocal<TensorScope?> s_current = new();

    private readonly HashSet<Tensor> _tensors = new(ReferenceEqualityComparer.Instance);
    private readonly Lock _sync = new();
    private bool _disposed;

    /// <summary>Opens a scope and makes it current.</summary>
    public TensorScope()
    {
        Parent = Current;
        s_current.Value = this;
    }

    /// <summary>The innermost open scope of this flow, or null.</summary>
    public static TensorScope? Current
    {
        get
        {
            // A scope disposed out of order (before a scope nested in it) hands its tensors' ownership upward.
            TensorScope? scope = s_current.Value;
            while (scope is not null && scope._disposed)
            {
                scope = scope.Parent;
            }

            return scope;
        }
    }

    /// <summary>The scope that was current when this one opened.</summary>
    public TensorScope? Parent { get; }

    /// <summary>Number of live tensors this scope will dispose.</summary>
    public int Count
    {
        get
        {
            lock (_sync)
            {
                return _tensors.Count;
            }
        }
    }

    /// <summary>
    /// Lets <paramref name="tensor"/> outlive this scope: if this scope (or one nested in it) owns it, it moves to
    /// <see cref="Parent"/>, or to no scope when this is the outermost one, and the caller disposes it. A tensor
    /// that this scope does not own is left where it is. Returns the tensor.
    /// </summary>
    public Tensor Keep(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        tensor.ThrowIfDisposed();
        TensorScope? owner = tensor.Scope;
        if (owner is null || !owner.IsWithin(this))
        {
            return tensor;
        }

        owner.Remove(tensor);
        TensorScope? target = Parent;
        while (target is not null && target._disposed)
        {
            target = target.Parent;
        }

        target?.Add(tensor);
        return tensor;
    }

    /// <summary>Whether this scope is <paramref name="ancestor"/> or nested in it.</summary>
    private bool IsWithin(TensorScope ancestor)
    {
        for (TensorScope? scope = this; scope is not null; scope = scope.Parent)
        {
            if (ReferenceEquals(scope, ancestor))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Disposes the tensors of this scope and makes its parent current again.</summary>
    public void Dispose()
    {
        Tensor[] tensors;
        lock (_sync)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            tensors = [.. _tensors];
            _tensors.Clear();
        }

        if (ReferenceEquals(s_current.Value, this))
        {
            s_current.Value = Current;
        }

        foreach (Tensor tensor in tensors)
        {
            tensor.Scope = null;
            tensor.Dispose();
        }
    }

    internal void Add(Tensor tensor)
    {
        lock (_sync)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _tensors.Add(tensor);
            tensor.Scope = this;
        }
    }

    internal void Remove(Tensor tensor)
    {
        lock (_sync)
        {
            _tensors.Remove(tensor);
            tensor.Scope = null;
        }
    }
}

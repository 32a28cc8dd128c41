using Dicp.Tensors;

namespace Dicp.Autograd;

/// <summary>A recorded op whose backward pass is a static function of the output, the inputs and a saved value.</summary>
/// <remarks>
/// Instances are pooled per <typeparamref name="TSaved"/> and per thread: <see cref="Rent"/> takes one from the pool of
/// the recording thread, <see cref="Recycle"/> gives it back to the pool of the thread that frees it.
/// </remarks>
/// <typeparam name="TSaved">What the forward pass saved for backward.</typeparam>
internal sealed class OpNode<TSaved> : Node
{
    private const int MaxPooled = 4096;
    [ThreadStatic] private static Stack<OpNode<TSaved>>? _pool;
    private TSaved _saved = default!;
    private BackwardFn<TSaved>? _backward;

    /// <summary>A node (pooled when possible) for op <paramref name="op"/> over <paramref name="inputs"/>.</summary>
    public static OpNode<TSaved> Rent(string op, ReadOnlySpan<Tensor> inputs, in TSaved saved, BackwardFn<TSaved> backward)
    {
        var node = _pool is { Count: > 0 } pool ? pool.Pop() : new OpNode<TSaved>();
        node.SetInputs(op, inputs);
        node._saved = saved;
        node._backward = backward;
        return node;
    }

    /// <inheritdoc/>
    public override void Backward(Tensor output) => _backward!(output, Inputs, _saved);

    /// <inheritdoc/>
    public override void Recycle()
    {
        if (_backward is null) return; // already in the pool
        ClearInputs();
        _saved = default!;
        _backward = null;
        var pool = _pool ??= new Stack<OpNode<TSaved>>();
        if (pool.Count < MaxPooled) pool.Push(this);
    }
}

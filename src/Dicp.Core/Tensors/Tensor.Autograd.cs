using Dicp.Autograd;
using Dicp.Kernels;

namespace Dicp.Tensors;

public partial class Tensor
{
    /// <summary>Marks this tensor as the output of a recorded op (the node comes from a pool: no allocation when warm).</summary>
    /// <param name="op">The op's name.</param>
    /// <param name="inputs">The op's inputs (copied into the node).</param>
    /// <param name="saved">What <paramref name="backward"/> needs from the forward pass.</param>
    /// <param name="backward">A <c>static</c> lambda: reads this tensor's gradient and accumulates into the inputs'.</param>
    internal Tensor Record<TSaved>(string op, ReadOnlySpan<Tensor> inputs, in TSaved saved, BackwardFn<TSaved> backward)
    {
        RequiresGrad = true;
        GradFn = OpNode<TSaved>.Rent(op, inputs, saved, backward);
        return this;
    }

    /// <summary>Back-propagates from a one-element tensor (seed gradient 1).</summary>
    /// <exception cref="InvalidOperationException">The tensor has more than one element or does not require gradients.</exception>
    public void Backward()
    {
        if (Size != 1) throw new InvalidOperationException($"Backward() without a seed gradient needs a one-element tensor, got shape {ShapeUtil.Format(_shape)}.");
        Backward([1f]);
    }

    /// <summary>Back-propagates a seed gradient <c>∂loss/∂this</c> through the recorded graph.</summary>
    /// <remarks>
    /// Gradients accumulate (+=) into every reachable tensor that requires them; leaves keep theirs until
    /// <see cref="ZeroGrad"/>. The graph is released afterwards (as PyTorch's <c>retain_graph=False</c>).
    /// </remarks>
    /// <param name="seed">Row-major gradient with this tensor's shape.</param>
    public void Backward(ReadOnlySpan<float> seed)
    {
        if (!RequiresGrad) throw new InvalidOperationException("Backward() on a tensor that does not require gradients: no input of the computation had RequiresGrad set, or it ran under GradMode.NoGrad().");
        if (seed.Length != Size) throw new ArgumentException($"Seed gradient has {seed.Length} elements, tensor {ShapeUtil.Format(_shape)} has {Size}.", nameof(seed));
        var order = TopologicalOrder(this); // throws before any gradient is touched if the graph was freed
        try
        {
            RunBackward(order, seed);
        }
        finally
        {
            order.Clear();
            _orderCache = order; // reused by the next Backward on this thread (no per-step allocation)
        }
    }

    [ThreadStatic] private static List<Tensor>? _orderCache;
    [ThreadStatic] private static HashSet<Tensor>? _visitedCache;
    [ThreadStatic] private static Stack<(Tensor T, int Next)>? _stackCache;

    private void RunBackward(List<Tensor> order, ReadOnlySpan<float> seed)
    {
        var g = GradSpan;
        for (var i = 0; i < g.Length; i++) g[i] += seed[i];

        using (GradMode.NoGrad())
        {
            for (var i = order.Count - 1; i >= 0; i--)
            {
                var t = order[i];
                var node = t.GradFn!;
                if (t.Grad is not null) node.Backward(t);
                t.GradFn = Node.Released;         // free the graph as we go; a second backward through it throws
                node.Recycle();                   // back to its pool for the next step's forward pass
                if (!ReferenceEquals(t, this)) { BufferPool.Return(t.Grad); t.Grad = null; } // intermediates do not keep gradients
            }
        }
    }

    private static InvalidOperationException SecondBackward() => new(
        "Backward() reached a part of the graph that an earlier Backward() already freed. Recompute the forward pass, " +
        "or sum the losses and call Backward() once.");

    /// <summary>Non-leaf tensors reachable from <paramref name="root"/>, inputs before outputs.</summary>
    private static List<Tensor> TopologicalOrder(Tensor root)
    {
        // The collections are taken from per-thread caches (and the slots emptied, so a nested call gets fresh ones).
        var order = _orderCache ?? [];
        _orderCache = null;
        if (root.GradFn is null) return order;
        if (ReferenceEquals(root.GradFn, Node.Released)) { _orderCache = order; throw SecondBackward(); }
        var visited = _visitedCache ?? new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        var stack = _stackCache ?? new Stack<(Tensor T, int Next)>();
        _visitedCache = null;
        _stackCache = null;
        try
        {
            Visit(root, order, visited, stack);
        }
        finally
        {
            visited.Clear();
            stack.Clear();
            _visitedCache = visited;
            _stackCache = stack;
        }
        return order;
    }

    private static void Visit(Tensor root, List<Tensor> order, HashSet<Tensor> visited, Stack<(Tensor T, int Next)> stack)
    {
        stack.Push((root, 0));
        visited.Add(root);
        while (stack.Count > 0)
        {
            var (t, next) = stack.Pop();
            var node = t.GradFn!;
            if (next < node.InputCount)
            {
                stack.Push((t, next + 1));
                var child = node.Input(next);
                if (ReferenceEquals(child.GradFn, Node.Released)) throw SecondBackward();
                if (child.GradFn is not null && visited.Add(child)) stack.Push((child, 0));
            }
            else
            {
                order.Add(t);
            }
        }
    }
}

using Dicp.Tensors;

namespace Dicp.Autograd;

/// <summary>One recorded operation of the dynamic tape: its name, its inputs and how to back-propagate into them.</summary>
/// <remarks>
/// Nodes are pooled (see <see cref="OpNode{TSaved}"/>): each belongs to exactly one output tensor (its
/// <see cref="Tensor.GradFn"/>) and goes back to its pool when that tensor lets go of it — after its backward ran, or
/// when the output's <see cref="TensorScope"/> ends — so a warm training step records its graph without allocating.
/// </remarks>
internal abstract class Node
{
    private Tensor[] _inputs = [];

    /// <summary>The op's name (for messages and debugging).</summary>
    public string Op { get; private set; } = "";

    /// <summary>Number of inputs.</summary>
    public int InputCount { get; private set; }

    /// <summary>Input <paramref name="i"/> (0 ≤ i &lt; <see cref="InputCount"/>).</summary>
    public Tensor Input(int i) => _inputs[i];

    /// <summary>The inputs as a span.</summary>
    protected ReadOnlySpan<Tensor> Inputs => _inputs.AsSpan(0, InputCount);

    /// <summary>Reads <paramref name="output"/>'s gradient and accumulates (+=) into the inputs' gradients.</summary>
    public abstract void Backward(Tensor output);

    /// <summary>Drops every reference the node holds and gives it back to its pool; it must not be used afterwards.</summary>
    public abstract void Recycle();

    /// <summary>Stands in for a node whose graph was already back-propagated and freed.</summary>
    public static Node Released { get; } = new ReleasedNode();

    /// <summary>Sets the name and copies the inputs (the input array is kept across reuses).</summary>
    protected void SetInputs(string op, ReadOnlySpan<Tensor> inputs)
    {
        Op = op;
        if (_inputs.Length < inputs.Length) _inputs = new Tensor[inputs.Length];
        inputs.CopyTo(_inputs);
        InputCount = inputs.Length;
    }

    /// <summary>Forgets the inputs (so a pooled node keeps no tensor alive).</summary>
    protected void ClearInputs()
    {
        Array.Clear(_inputs, 0, InputCount);
        InputCount = 0;
        Op = "";
    }

    private sealed class ReleasedNode : Node
    {
        public ReleasedNode() => Op = "released";

        public override void Backward(Tensor output) { }

        public override void Recycle() { } // shared sentinel: never pooled
    }
}

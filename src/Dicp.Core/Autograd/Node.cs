using Dicp.Tensors;

namespace Dicp.Autograd;

/// <summary>One recorded operation of the dynamic tape: its inputs and the closure that back-propagates into them.</summary>
/// <remarks>The closure reads the output's gradient and accumulates (+=) into the inputs' gradients.</remarks>
internal sealed class Node(string op, Tensor[] inputs, Action backward)
{
    public string Op { get; } = op;
    public Tensor[] Inputs { get; } = inputs;
    public Action Backward { get; } = backward;

    /// <summary>Stands in for a node whose graph was already back-propagated and freed.</summary>
    public static Node Released { get; } = new("released", [], static () => { });
}

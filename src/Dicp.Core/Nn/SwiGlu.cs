using Dicp.Tensors;

namespace Dicp.Nn;

/// <summary>The SwiGLU feed-forward <c>w3(silu(w1·x) ⊙ w2·x)</c>, all three Linear layers without bias (keys <c>w1</c>, <c>w2</c>, <c>w3</c>).</summary>
public sealed class SwiGlu : Module
{
    /// <summary>Creates the layer D → hidden → D.</summary>
    public SwiGlu(int dModel, int hidden, Generator generator)
    {
        W1 = RegisterModule("w1", new Linear(dModel, hidden, bias: false, generator));
        W2 = RegisterModule("w2", new Linear(dModel, hidden, bias: false, generator));
        W3 = RegisterModule("w3", new Linear(hidden, dModel, bias: false, generator));
    }

    /// <summary>Gate projection.</summary>
    public Linear W1 { get; }

    /// <summary>Value projection.</summary>
    public Linear W2 { get; }

    /// <summary>Output projection.</summary>
    public Linear W3 { get; }

    /// <summary>Applies the layer to x (…, D).</summary>
    public Tensor Forward(Tensor x) => W3.Forward(Ops.SwiGlu(W1.Forward(x), W2.Forward(x)));
}

/// <summary>The block's MLP wrapper, holding the SwiGLU under the key <c>swiglu</c> as the reference does.</summary>
public sealed class Mlp : Module
{
    /// <summary>Creates the MLP D → hidden → D.</summary>
    public Mlp(int dModel, int hidden, Generator generator) => SwiGlu = RegisterModule("swiglu", new SwiGlu(dModel, hidden, generator));

    /// <summary>The SwiGLU layer.</summary>
    public SwiGlu SwiGlu { get; }

    /// <summary>Applies the MLP.</summary>
    public Tensor Forward(Tensor x) => SwiGlu.Forward(x);
}

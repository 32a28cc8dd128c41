using Dicp.Tensors;

namespace Dicp.Nn;

/// <summary>RMSNorm with dropout on its input during training, as the reference backbone (key <c>weight</c>, init 1).</summary>
/// <remarks><c>y = w ⊙ x̃ / √(mean(x̃²) + ε)</c> with x̃ = dropout_p(x) in training and x̃ = x in evaluation.</remarks>
public sealed class RmsNorm : Module
{
    /// <summary>Creates the norm over a last dimension of size <paramref name="dim"/>.</summary>
    public RmsNorm(int dim, float eps = 1e-5f, float inputDropout = 0f)
    {
        if (dim <= 0) throw new ArgumentOutOfRangeException(nameof(dim), $"RmsNorm needs a positive size, got {dim}.");
        Eps = eps;
        InputDropout = inputDropout;
        Weight = RegisterParameter("weight", new Parameter(dim));
        Init.Constant(Weight, 1f);
    }

    /// <summary>ε inside the square root.</summary>
    public float Eps { get; }

    /// <summary>Dropout probability on the input in training mode.</summary>
    public float InputDropout { get; }

    /// <summary>The scale (dim).</summary>
    public Parameter Weight { get; }

    /// <summary>Applies the norm over the last axis.</summary>
    public Tensor Forward(Tensor x) => Forward(x, dropout: true);

    /// <summary>Applies the norm, with the input dropout (in training mode) only when <paramref name="dropout"/>.</summary>
    internal Tensor Forward(Tensor x, bool dropout)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (dropout && Training && InputDropout > 0f) return Ops.DropoutRmsNorm(x, InputDropout, Generator, Weight, Eps); // fused, same values as Dropout then RmsNorm
        return Ops.RmsNorm(x, Weight, Eps);
    }
}

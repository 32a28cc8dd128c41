using Dicp.Tensors;

namespace Dicp.Nn;

/// <summary>A lookup table of learned vectors (PyTorch's <c>nn.Embedding</c>; key <c>weight</c>, initialised N(0, 1)).</summary>
public sealed class Embedding : Module
{
    /// <summary>Creates a table of <paramref name="numEmbeddings"/> vectors of size <paramref name="dim"/>.</summary>
    public Embedding(int numEmbeddings, int dim, Generator generator)
    {
        if (numEmbeddings <= 0 || dim <= 0) throw new ArgumentOutOfRangeException(nameof(numEmbeddings), $"Embedding needs positive sizes, got ({numEmbeddings}, {dim}).");
        Weight = RegisterParameter("weight", new Parameter(numEmbeddings, dim));
        Init.Normal(Weight, generator);
    }

    /// <summary>The table (num_embeddings, dim).</summary>
    public Parameter Weight { get; }

    /// <summary>Looks up ids with shape <paramref name="idsShape"/> → (…ids shape, dim).</summary>
    public Tensor Forward(ReadOnlySpan<int> ids, ReadOnlySpan<int> idsShape) => Ops.Embedding(Weight, ids, idsShape);
}

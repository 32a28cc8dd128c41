using Dicp.Tensors;

namespace Dicp.Benchmarks;

/// <summary>A fixed batch of random Darkroom-shaped inputs and targets (generated once from a seed; values are irrelevant to timing).</summary>
public sealed class SyntheticBatch
{
    /// <summary>Transition features (B, C, 10): s (2 coords in 0..8), one-hot a (5), r (0/1), s' (2 coords).</summary>
    public required Tensor Context { get; init; }

    /// <summary>Query state ids (B) in [0, 81).</summary>
    public required int[] QueryStates { get; init; }

    /// <summary>Query action ids (B) in [0, 5).</summary>
    public required int[] QueryActions { get; init; }

    /// <summary>Action targets (B) in [0, 5).</summary>
    public required int[] TargetActions { get; init; }

    /// <summary>Reward targets (B) in {0, 1}.</summary>
    public required int[] TargetRewards { get; init; }

    /// <summary>Next-state targets (B) in [0, 81).</summary>
    public required int[] TargetNextStates { get; init; }

    /// <summary>Batch size.</summary>
    public int Batch => QueryStates.Length;

    /// <summary>Draws a batch of <paramref name="batch"/> windows with <paramref name="contextLength"/> transitions each.</summary>
    public static SyntheticBatch Create(int batch, int contextLength, long seed)
    {
        var g = new Generator(seed);
        var ctx = new float[batch * contextLength * DicpAdModel.TransitionFeatures];
        for (var i = 0; i < batch * contextLength; i++)
        {
            var f = ctx.AsSpan(i * DicpAdModel.TransitionFeatures, DicpAdModel.TransitionFeatures);
            f[0] = g.NextInt(9); f[1] = g.NextInt(9);         // s
            f[2 + g.NextInt(DicpAdModel.NumActions)] = 1f;    // one-hot a
            f[7] = g.NextInt(2);                              // r
            f[8] = g.NextInt(9); f[9] = g.NextInt(9);         // s'
        }
        int[] Ints(int n) => Enumerable.Range(0, batch).Select(_ => g.NextInt(n)).ToArray();
        return new SyntheticBatch
        {
            Context = new Tensor(ctx, [batch, contextLength, DicpAdModel.TransitionFeatures]),
            QueryStates = Ints(DicpAdModel.NumStates),
            QueryActions = Ints(DicpAdModel.NumActions),
            TargetActions = Ints(DicpAdModel.NumActions),
            TargetRewards = Ints(DicpAdModel.NumRewards),
            TargetNextStates = Ints(DicpAdModel.NumStates),
        };
    }
}

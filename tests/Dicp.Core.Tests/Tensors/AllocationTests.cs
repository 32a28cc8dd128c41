using Dicp.Autograd;
using Dicp.Nn;
using Dicp.Optim;
using Dicp.Tensors;
using Dicp.Tests.TestUtil;
using Xunit;
using O = Dicp.Tensors.Ops;

namespace Dicp.Tests.Tensors;

/// <summary>
/// A warm training step (and a warm inference forward) inside a <see cref="TensorScope"/> allocates no managed memory:
/// graph nodes, op results and their buffers all come from pools.
/// </summary>
[Collection(SerialCollection.Name)]
public class AllocationTests
{
    // Head size 8 (the fused attention path); batch 32 × 64 tokens is large enough for the GEMMs, the attention and
    // the norms to take their parallel paths.
    private static CausalTokenModel NewModel() =>
        new(7, new TransformerConfig(DModel: 16, NLayer: 2, NHead: 2, NInner: 32, Dropout: 0.1f, MaxSeqLen: 64), seed: 5);

    /// <summary>
    /// Managed bytes <paramref name="window"/> allocates on this thread. A window during which another thread's kernel
    /// loop was in flight (<see cref="Dicp.Kernels.ParallelLoop.ContendedLoops"/>: this thread's loops then fall back to
    /// <c>Parallel.For</c>, which allocates) says nothing about the code under test and is run again, at most three
    /// times; a window without contention is what the assertion sees.
    /// </summary>
    private static long Allocated(Action window)
    {
        for (var attempt = 0; ; attempt++)
        {
            var contended = Dicp.Kernels.ParallelLoop.ContendedLoops;
            var before = GC.GetAllocatedBytesForCurrentThread();
            window();
            var bytes = GC.GetAllocatedBytesForCurrentThread() - before;
            var others = Dicp.Kernels.ParallelLoop.ContendedLoops - contended;
            if (others == 0) return bytes;
            Assert.True(attempt < 2, $"another thread's kernel loops were in flight during all three measurements ({others} contended loops in the last)");
        }
    }

    private static int[] Tokens(int count)
    {
        var g = new Generator(3);
        var tokens = new int[count];
        for (var i = 0; i < tokens.Length; i++) tokens[i] = g.NextInt(7);
        return tokens;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // the recomputing attention path (probability budget 0); this collection runs alone, so the process-wide setting is safe to change
    public void AWarmTrainingStepAllocatesNothing(bool recomputeAttention)
    {
        var budget = O.AttentionProbabilityBudgetBytes;
        if (recomputeAttention) O.AttentionProbabilityBudgetBytes = 0;
        try { WarmTrainingStep(); }
        finally { O.AttentionProbabilityBudgetBytes = budget; }
    }

    private static void WarmTrainingStep()
    {
        const int Batch = 32, T = 64;
        var model = NewModel();
        var parameters = model.Parameters().ToArray();
        var optimizer = new AdamW(parameters);
        var tokens = Tokens(Batch * T);
        float Step()
        {
            using var scope = TensorScope.Begin();
            optimizer.ZeroGrad();
            var loss = O.CrossEntropy(O.Reshape(model.Forward(tokens, Batch, T), -1, 7), tokens, labelSmoothing: 0.1f);
            loss.Backward();
            GradClip.ClipGradNorm(parameters, 1f);
            optimizer.Step();
            return loss.Item();
        }

        var first = Step();
        for (var i = 0; i < 3; i++) Step();
        var last = 0f;
        var bytes = Allocated(() => { for (var i = 0; i < 3; i++) last = Step(); });

        Assert.Equal(0, bytes);
        Assert.True(last < first, $"the loss should fall over 7 AdamW steps or more: {first} → {last}");
    }

    [Fact]
    public void AWarmInferenceForwardAllocatesNothing()
    {
        const int Batch = 32, T = 64;
        var model = NewModel();
        model.Eval();
        var tokens = Tokens(Batch * T);
        float Forward()
        {
            using var scope = TensorScope.Begin();
            using var noGrad = GradMode.NoGrad();
            return model.Forward(tokens, Batch, T)[5];
        }

        var first = Forward();
        for (var i = 0; i < 3; i++) Forward();
        var same = true;
        var bytes = Allocated(() => { for (var i = 0; i < 3; i++) same &= Forward() == first; });

        Assert.Equal(0, bytes);
        Assert.True(same, "an evaluation-mode forward is deterministic");
    }
}

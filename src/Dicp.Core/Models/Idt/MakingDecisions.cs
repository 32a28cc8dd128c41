using Dicp.Nn;
using Dicp.Tensors;

namespace Dicp.Models;

/// <summary>
/// IDT's Making-Decisions module (key <c>h_decision_transformer</c>, as the reference names it): a return-conditioned
/// high-level Transformer that predicts the distribution of each segment's decision z.
/// </summary>
/// <remarks>
/// Per segment three tokens <c>[embed_return(R), embed_state(s), embed_z(z-dist)]</c>, with R the return-to-go and s
/// the state at the segment's first step and z-dist the segment's reviewed distribution (Linear(2·dim_z, d)); the
/// segment's own z-dist token comes after its state token, so a prediction sees only earlier decisions.
/// <c>pred_z_dist</c> = Linear(d, 2·dim_z) reads the state tokens. Own backbone, MaxSeqLen 3·⌈n_transit / c⌉.
/// </remarks>
public sealed class MakingDecisions : Module
{
    internal MakingDecisions(IdtModel owner, Generator g)
    {
        var c = owner.Config;
        int d = c.EmbeddingDim;
        Transformer = RegisterModule("transformer", new Transformer(owner.Backbone(3 * owner.Segments), g));
        EmbedReturn = RegisterModule("embed_return", new Linear(1, d, bias: true, g));
        State = owner.StateInput("embed_state", g, RegisterModule);
        EmbedZ = RegisterModule("embed_z", new Linear(2 * c.LatentDim, d, bias: true, g));
        PredZDist = RegisterModule("pred_z_dist", new Linear(d, 2 * c.LatentDim, bias: true, g));
    }

    /// <summary>The module's backbone (key <c>transformer</c>).</summary>
    public Transformer Transformer { get; }

    /// <summary>The return-to-go embedding (key <c>embed_return</c>): Linear(1, d).</summary>
    public Linear EmbedReturn { get; }

    /// <summary>The z-distribution embedding (key <c>embed_z</c>): Linear(2·dim_z, d).</summary>
    public Linear EmbedZ { get; }

    /// <summary>The z-distribution head (key <c>pred_z_dist</c>): Linear(d, 2·dim_z).</summary>
    public Linear PredZDist { get; }

    internal IdtInput State { get; }

    /// <summary>
    /// The predicted z-distributions (B, K, 2·dim_z) of K segments: returns (B, K), first states (B, K, O) and the
    /// segments' reviewed z-distributions (B, K, 2·dim_z) (the last one may be anything: no prediction sees it).
    /// </summary>
    internal Tensor Forward(ReadOnlySpan<float> returns, ReadOnlySpan<float> states, Tensor zDists, int batch, int segments, bool inference)
    {
        int d = EmbedReturn.OutFeatures;
        var r = EmbedReturn.Forward(new Tensor(returns[..(batch * segments)].ToArray(), [batch, segments, 1])); // (B, K, d)
        var s = State.Forward(states, batch, segments);                                                          // (B, K, d)
        var z = EmbedZ.Forward(zDists);                                                                          // (B, K, d)
        var x = Ops.Reshape(Ops.Concat([Ops.Reshape(r, batch, segments, 1, d), Ops.Reshape(s, batch, segments, 1, d),
            Ops.Reshape(z, batch, segments, 1, d)], 2), batch, 3 * segments, d);                                 // (B, 3K, d)
        var h = Ops.Reshape(IdtModel.RunBackbone(Transformer, x, inference), batch, segments, 3, d);             // (B, K, 3, d)
        return PredZDist.Forward(Ops.Reshape(Ops.Slice(h, 2, 1, 1), batch, segments, d));                       // (B, K, 2·dim_z)
    }
}

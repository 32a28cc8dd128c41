namespace Dicp.Models;

/// <summary>
/// Everything needed to build an in-context model: its family, its heads, the environment's sizes and the backbone.
/// Serialised as JSON into checkpoints and as YAML in run configurations (snake_case keys in both).
/// </summary>
/// <param name="Model"><c>"ad"</c>, <c>"dpt"</c> or <c>"idt"</c>.</param>
/// <param name="Dynamics">DICP world-model heads (reward and next observation) on or off.</param>
/// <param name="ReturnToGo">Also predict the return-to-go of the query action (needs <paramref name="Dynamics"/>).</param>
/// <param name="ObservationSize">Floats per observation (2 for grid worlds).</param>
/// <param name="StateClasses">Grid cells for state embeddings and next-state classification (81), or 0 for continuous observations.</param>
/// <param name="ActionCount">Discrete actions (5 for grid worlds), or 0 for continuous actions.</param>
/// <param name="ActionSize">Floats per continuous action (ignored when <paramref name="ActionCount"/> &gt; 0).</param>
/// <param name="RewardClasses">Reward classes for a categorical reward head (2 for grid worlds), or 0 for regression.</param>
/// <param name="RewardMax">Upper clip of a regressed reward (10 for Meta-World).</param>
/// <param name="NTransit">The reference's <c>n_transit</c>: steps per training sample; the window keeps <c>n_transit − 1</c> transitions.</param>
/// <param name="EmbeddingDim">Backbone width d.</param>
/// <param name="Layers">Transformer blocks.</param>
/// <param name="Heads">Attention heads.</param>
/// <param name="Inner">SwiGLU hidden size <c>n_inner</c>.</param>
/// <param name="Dropout">Dropout p (norm inputs and attention).</param>
/// <param name="DynamicsCoefficient">λ in loss = imitation + λ · dynamics.</param>
/// <param name="LabelSmoothing">Label smoothing of the categorical losses.</param>
/// <param name="LearnVariance">Continuous policy: Gaussian head with learned log-variance (NLL) instead of MSE on the mean.</param>
/// <param name="SegmentLength">IDT: low-level steps per high-level decision (c).</param>
/// <param name="LatentDim">IDT: dim_z.</param>
/// <param name="RewardMin">Lower clip of a regressed reward: 0 as in the reference (Meta-World rewards are in [0, 10]); negative for
/// tasks with negative rewards (Point-Robot's −distance), so that the reward head can rank their candidates.</param>
/// <param name="LatentNoisePerStep">IDT: draw a fresh ε for the decision z at every low-level step, in training and at
/// evaluation, as the reference does (default true; the c steps of a segment then share z's distribution, not its
/// sample); false draws one ε per segment, shared by its c steps (Dicp's earlier choice).</param>
/// <param name="AlignedWindows">IDT: training windows start only on multiples of c (segments then begin with episodes when
/// the horizon is a multiple of c; c times fewer distinct windows); false (default) lets them start at any step, as the
/// reference does.</param>
/// <param name="SlidingImagination">DICP-IDT planning: a candidate imagined h steps ahead keeps only the last c − 1 steps
/// of (segment's real steps ++ imagined ones) under the segment's z, so its Decisions-to-Go sequence never exceeds the
/// trained 4c tokens (Dicp's earlier choice). false (default), as the reference: the sequence holds all of the segment's
/// real steps then all the imagined ones (up to 8c − 1 tokens), imagined step i ≥ 1 reading the segment's i-th sample of
/// z, and plans imagine at most c steps.</param>
/// <param name="SourceObservationSize">Floats per observation of the environment and its learning histories, of which the
/// model reads the first <paramref name="ObservationSize"/> (Meta-World: 39, of which the reference reads 11; 18 for
/// hammer, stick-push and stick-pull). 0: the same as <paramref name="ObservationSize"/> (no selection). The selection is
/// applied to training windows, evaluation contexts and planner queries alike.</param>
/// <param name="LearnTransition">With <paramref name="Dynamics"/>: include the next-observation loss (the reference's
/// <c>learn_transition</c>). The reference's ML1 configurations turn it off (loss = action + λ · reward); the next-state
/// head then still exists but is not trained.</param>
public sealed record ModelConfig(
    string Model = "ad",
    bool Dynamics = false,
    bool ReturnToGo = false,
    int ObservationSize = 2,
    int StateClasses = 81,
    int ActionCount = 5,
    int ActionSize = 1,
    int RewardClasses = 2,
    float RewardMax = 10f,
    int NTransit = 80,
    int EmbeddingDim = 32,
    int Layers = 4,
    int Heads = 4,
    int Inner = 128,
    float Dropout = 0.1f,
    float DynamicsCoefficient = 1f,
    float LabelSmoothing = 0f,
    bool LearnVariance = true,
    int SegmentLength = 10,
    int LatentDim = 8,
    float RewardMin = 0f,
    bool LatentNoisePerStep = true,
    bool AlignedWindows = false,
    bool SlidingImagination = false,
    int SourceObservationSize = 0,
    bool LearnTransition = true)
{
    /// <summary>Floats per observation the model is fed by environments and histories (<see cref="SourceObservationSize"/>, else <see cref="ObservationSize"/>).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public int InputObservationSize => SourceObservationSize > 0 ? SourceObservationSize : ObservationSize;
}

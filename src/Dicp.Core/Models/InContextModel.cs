using Dicp.Environments;
using Dicp.Nn;
using Dicp.Tensors;

namespace Dicp.Models;

/// <summary>
/// The common body of the AD and DPT in-context models: the reference backbone under <c>transformer</c>, the token
/// embeddings and the heads, with or without DICP dynamics heads, for grid worlds and continuous tasks.
/// </summary>
/// <remarks>
/// <para>State-dict keys, in the reference's registration order (listed in the models guide of the source repository): <c>transformer.blocks.{i}.…</c>;
/// <c>embed_context</c> (Linear F → d over a transition's features); <c>embed_query_state</c> (grid AD: Embedding(StateClasses, d)
/// on the cell <c>x·side + y</c>; otherwise Linear(O, d) — registered but unused by DPT, as in the reference);
/// <c>pred_action</c> (Linear(d, ActionCount), or Linear(d, 2A) = [mean | log-variance] with <c>LearnVariance</c>, else
/// Linear(d, A)); <c>embed_query_action</c> (with dynamics, and always for DPT: Embedding(ActionCount, d), or Linear(A, d));
/// with dynamics <c>pred_reward</c> (Linear(d, RewardClasses), or Linear(d, 1) clipped to [RewardMin, RewardMax]) and
/// <c>pred_next_state</c> (Linear(d, StateClasses), or Linear(d, O)); with <c>ReturnToGo</c> <c>pred_return</c> (Linear(d, 1)).
/// The <c>pred_*</c> heads take a plural name (<c>pred_actions</c>, <c>pred_rewards</c>, <c>pred_next_states</c>,
/// <c>pred_returns</c>) for continuous AD and for DPT, as the reference's models do.</para>
/// <para>A transition's features are <c>[s (O), a (one-hot ActionCount, or the A raw floats), r (1), s' (O)]</c>, so
/// F = 2·O + (ActionCount or A) + 1 (10 for grid worlds).</para>
/// </remarks>
public abstract partial class InContextModel : Module, ITrainableInContextModel
{
    private readonly Embedding? _queryStateTable, _queryActionTable;
    private readonly Linear? _queryStateLinear, _queryActionLinear;

    /// <summary>Builds the modules; every initial value comes from <paramref name="seed"/>.</summary>
    /// <param name="config">The configuration (validated).</param>
    /// <param name="seed">Seeds the initialisation and the dropout generator.</param>
    /// <exception cref="ArgumentException">The configuration is invalid.</exception>
    protected InContextModel(ModelConfig config, int seed)
    {
        InContextModels.Validate(config);
        Config = config;
        var g = new Generator(seed);
        Layout = new ModelLayout(config);
        ActionSpace = Layout.ActionSpace();
        int d = config.EmbeddingDim, o = config.ObservationSize;
        BackboneConfig = new TransformerConfig(d, config.Layers, config.Heads, config.Inner, config.Dropout, MaxSeqLen: config.NTransit + 1);

        // Registration order and names follow the reference: embed_context, embed_query_state, pred_action(s),
        // embed_query_action, pred_reward(s), pred_next_state(s) (singular for grid AD, plural for continuous AD and DPT).
        string Key(string stem) => Layout.HeadKey(stem);
        Transformer = RegisterModule("transformer", new Transformer(BackboneConfig, g));
        EmbedContext = RegisterModule("embed_context", new Linear(TransitionFeatures, d, bias: true, g));
        if (Layout.QueryStateTable) _queryStateTable = RegisterModule("embed_query_state", new Embedding(config.StateClasses, d, g));
        else _queryStateLinear = RegisterModule("embed_query_state", new Linear(o, d, bias: true, g)); // DPT: registered, unused (as the reference)
        PredAction = RegisterModule(Key("pred_action"), new Linear(d, Layout.ActionOutputs, bias: true, g));
        if (Layout.HasQueryActionEmbedding) // DPT registers it even without dynamics, as the reference
        {
            if (DiscreteActions) _queryActionTable = RegisterModule("embed_query_action", new Embedding(config.ActionCount, d, g));
            else _queryActionLinear = RegisterModule("embed_query_action", new Linear(config.ActionSize, d, bias: true, g));
        }
        if (config.Dynamics)
        {
            PredReward = RegisterModule(Key("pred_reward"), new Linear(d, Layout.RewardOutputs, bias: true, g));
            PredNextState = RegisterModule(Key("pred_next_state"), new Linear(d, Layout.NextStateOutputs, bias: true, g));
            if (config.ReturnToGo) PredReturn = RegisterModule(Key("pred_return"), new Linear(d, 1, bias: true, g));
        }
        DropoutGenerator = g.Derive(0xD1C9);
        SetGenerator(DropoutGenerator);
    }

    /// <summary>
    /// The generator dropout draws its mask keys from (derived from the seed). Save and restore its state
    /// (<see cref="Generator.GetState"/>/<see cref="Generator.SetState"/>) with a checkpoint for exact resume.
    /// </summary>
    public Generator DropoutGenerator { get; }

    /// <summary>The configuration the model was built from.</summary>
    public ModelConfig Config { get; }

    /// <summary>The backbone's hyperparameters (MaxSeqLen = n_transit + 1, the longest token sequence).</summary>
    public TransformerConfig BackboneConfig { get; }

    /// <summary>The backbone (key <c>transformer</c>).</summary>
    public Transformer Transformer { get; }

    /// <summary>The transition embedding (key <c>embed_context</c>): Linear(F, d).</summary>
    public Linear EmbedContext { get; }

    /// <summary>The policy head (key <c>pred_action</c> or <c>pred_actions</c>).</summary>
    public Linear PredAction { get; }

    /// <summary>The reward head (key <c>pred_reward</c>), or null without dynamics.</summary>
    public Linear? PredReward { get; }

    /// <summary>The next-observation head (key <c>pred_next_state</c>), or null without dynamics.</summary>
    public Linear? PredNextState { get; }

    /// <summary>The return-to-go head (key <c>pred_return</c>), or null.</summary>
    public Linear? PredReturn { get; }

    /// <summary>Whether observations are grid cells (categorical state embedding and next-state head).</summary>
    public bool IsGrid => Layout.IsGrid;

    /// <summary>The grid's side (√StateClasses), or 0.</summary>
    public int GridSide => Layout.GridSide;

    /// <summary>Whether actions are discrete.</summary>
    public bool DiscreteActions => Layout.DiscreteActions;

    /// <summary>A: the floats per action in buffers (1 for discrete actions).</summary>
    public int ActionSize => Layout.ActionSize;

    /// <summary>The floats an action takes inside a transition's features (one-hot size, or A).</summary>
    public int ActionFeatures => Layout.ActionFeatures;

    /// <summary>F = 2·O + ActionFeatures + 1: the width of a transition's features.</summary>
    public int TransitionFeatures => Layout.TransitionFeatures;

    /// <summary>P: the floats of a policy distribution (logits, or mean then log-variance).</summary>
    public int PolicySize => Layout.PolicySize;

    /// <summary>Whether the query-state token comes first (DPT) or after the transitions (AD).</summary>
    internal bool QueryFirst => Layout.QueryFirst;

    /// <summary>Sizes, encodings and training targets derived from <see cref="Config"/> (shared with the TorchSharp backend).</summary>
    internal ModelLayout Layout { get; }

    /// <inheritdoc/>
    public string Name => Layout.Name;

    /// <inheritdoc/>
    public int ObservationSize => Config.ObservationSize;

    /// <inheritdoc />
    public int InputObservationSize => Config.InputObservationSize;

    /// <inheritdoc/>
    public Space ActionSpace { get; }

    /// <inheritdoc/>
    public int WindowTransitions => Config.NTransit - 1;

    /// <inheritdoc/>
    public bool HasDynamics => Config.Dynamics;

    /// <inheritdoc/>
    public bool HasReturnToGo => Config.Dynamics && Config.ReturnToGo;

    /// <inheritdoc/>
    public Module Network => this;

    /// <inheritdoc/>
    public int SampleSteps => Config.NTransit;

    /// <inheritdoc/>
    public IInContextSession CreateSession(int environments, SessionOptions? options = null) =>
        new InContextSession(this, environments, options ?? SessionOptions.Default);
}

using Dicp.Environments;
using Dicp.Nn;
using Dicp.Tensors;

namespace Dicp.Models;

/// <summary>
/// The In-context Decision Transformer (IDT), and DICP-IDT with <see cref="ModelConfig.Dynamics"/>: a hierarchical
/// in-context model whose high-level Transformer makes one decision z per segment of c low-level steps, conditioned on
/// the return-to-go, and whose low-level Transformer acts (and, with dynamics, predicts rewards and next states) under z.
/// </summary>
/// <remarks>
/// <para>Three modules, each on its own backbone: <see cref="ReviewingDecisions"/> (key <c>reviewing_decisions</c>),
/// <see cref="MakingDecisions"/> (key <c>h_decision_transformer</c>) and <see cref="DecisionsToGo"/> (key
/// <c>decisions_to_go</c>); the full key list is in the models guide of the source repository (section IDT).</para>
/// <para>Training on a window of n = n_transit steps, K = n / c segments (n must be a multiple of c): the reviewed
/// distributions <c>q_k = reviewing(segment k)</c>; the predicted ones <c>p_k = making(R, s, q)[k]</c> (from R and s at
/// segment k's first step and q_0 … q_{k−1}); <c>z_{k,t} = mean(p_k) + ε_{k,t} ⊙ exp(logvar(p_k) / 2)</c> with a fresh
/// ε_{k,t} ~ N(0, I) from the module generator for every low-level step t, as the reference (with
/// <see cref="ModelConfig.LatentNoisePerStep"/> false one ε_k shared by the segment's c steps); Decisions-to-Go runs
/// every segment under its z with teacher-forced actions and rewards. The loss covers every step's action (+ λ · reward
/// and next state); z is trained only through it. Windows start at any step (segments need not begin with episodes),
/// or on multiples of c with <see cref="ModelConfig.AlignedWindows"/>.</para>
/// </remarks>
public sealed partial class IdtModel : Module, ITrainableInContextModel
{
    /// <summary>Creates a freshly initialised model (<c>config.Model</c> must be <c>"idt"</c>).</summary>
    /// <param name="config">The configuration.</param>
    /// <param name="seed">Seeds the initialisation and the module generator (dropout and ε).</param>
    /// <exception cref="ArgumentException">The configuration is invalid.</exception>
    public IdtModel(ModelConfig config, int seed)
    {
        InContextModels.Validate(config);
        if (config.Model != "idt") throw new ArgumentException($"ModelConfig.Model must be 'idt' for IdtModel, got '{config.Model}'.", nameof(config));
        Config = config;
        Seed = seed;
        Layout = new ModelLayout(config);
        ActionSpace = Layout.ActionSpace();
        var g = new Generator(seed);
        Reviewing = RegisterModule("reviewing_decisions", new ReviewingDecisions(this, g));
        Making = RegisterModule("h_decision_transformer", new MakingDecisions(this, g));
        ToGo = RegisterModule("decisions_to_go", new DecisionsToGo(this, g));
        SetGenerator(g.Derive(0x1D7));
    }

    /// <summary>The configuration the model was built from.</summary>
    public ModelConfig Config { get; }

    /// <summary>The seed the model was built with (sessions derive nothing from it; see <see cref="SessionOptions.Seed"/>).</summary>
    public int Seed { get; }

    /// <summary>Reviewing-Decisions (key <c>reviewing_decisions</c>).</summary>
    public ReviewingDecisions Reviewing { get; }

    /// <summary>Making-Decisions (key <c>h_decision_transformer</c>).</summary>
    public MakingDecisions Making { get; }

    /// <summary>Decisions-to-Go (key <c>decisions_to_go</c>).</summary>
    public DecisionsToGo ToGo { get; }

    /// <summary>K = n_transit / c: the segments of a training window and the high-level context's capacity.</summary>
    public int Segments => Layout.Segments;

    /// <summary>Whether observations are grid cells.</summary>
    public bool IsGrid => Layout.IsGrid;

    /// <summary>The grid's side (√StateClasses), or 0.</summary>
    public int GridSide => Layout.GridSide;

    /// <summary>Whether actions are discrete.</summary>
    public bool DiscreteActions => Layout.DiscreteActions;

    /// <summary>A: floats per action in buffers (1 for discrete actions).</summary>
    public int ActionSize => Layout.ActionSize;

    /// <summary>P: floats of a policy distribution (logits, or mean then log-variance).</summary>
    public int PolicySize => Layout.PolicySize;

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
    /// <remarks>n_transit − 1, the history a full high-level context spans (K segments, the last one in progress).</remarks>
    public int WindowTransitions => Config.NTransit - 1;

    /// <inheritdoc/>
    public bool HasDynamics => Config.Dynamics;

    /// <inheritdoc/>
    /// <remarks>Always false: IDT conditions on the return-to-go instead of predicting it.</remarks>
    public bool HasReturnToGo => false;

    /// <inheritdoc/>
    public Module Network => this;

    /// <inheritdoc/>
    public int SampleSteps => Config.NTransit;

    /// <inheritdoc/>
    /// <remarks>c: IDT windows are taken over return-sorted episodes and carry returns-to-go.</remarks>
    public int ReturnConditionedSegment => Layout.ReturnConditionedSegment;

    /// <inheritdoc/>
    /// <remarks>1 (windows start at any step, as the reference), or c with <see cref="ModelConfig.AlignedWindows"/>.</remarks>
    public int WindowStartStride => Layout.WindowStartStride;

    /// <inheritdoc/>
    /// <exception cref="ArgumentException"><see cref="SessionOptions.TargetReturns"/> is missing or has the wrong length.</exception>
    public IInContextSession CreateSession(int environments, SessionOptions? options = null) =>
        new IdtSession(this, environments, options ?? SessionOptions.Default);

    internal TransformerConfig Backbone(int maxSeqLen) =>
        new(Config.EmbeddingDim, Config.Layers, Config.Heads, Config.Inner, Config.Dropout, MaxSeqLen: maxSeqLen);

    internal IdtInput StateInput(string name, Generator g, Func<string, Module, Module> register) => IsGrid
        ? IdtInput.Categorical((Embedding)register(name, new Embedding(Config.StateClasses, Config.EmbeddingDim, g)), 2, CellIndex)
        : IdtInput.Continuous((Linear)register(name, new Linear(Config.ObservationSize, Config.EmbeddingDim, bias: true, g)));

    internal IdtInput ActionInput(string name, Generator g, Func<string, Module, Module> register) => DiscreteActions
        ? IdtInput.Categorical((Embedding)register(name, new Embedding(Config.ActionCount, Config.EmbeddingDim, g)), 1, v => ActionIndex(v[0]))
        : IdtInput.Continuous((Linear)register(name, new Linear(Config.ActionSize, Config.EmbeddingDim, bias: true, g)));

    internal IdtInput RewardInput(string name, Generator g, Func<string, Module, Module> register) => Config.RewardClasses > 0
        ? IdtInput.Categorical((Embedding)register(name, new Embedding(Config.RewardClasses, Config.EmbeddingDim, g)), 1, v => RewardClass(v[0]))
        : IdtInput.Continuous((Linear)register(name, new Linear(1, Config.EmbeddingDim, bias: true, g)));

    /// <summary>Runs a backbone, without dropout when <paramref name="inference"/> (whatever the training mode).</summary>
    internal static Tensor RunBackbone(Transformer transformer, Tensor x, bool inference) =>
        transformer.Forward(x, inference ? KvContext.Inference : null);

    /// <summary>The grid cell <c>x·side + y</c> of an (x, y) observation.</summary>
    /// <exception cref="ArgumentException">The observation is not a cell of the grid.</exception>
    public int CellIndex(ReadOnlySpan<float> state) => Layout.CellIndex(state);

    /// <summary>The index of a discrete action stored as a float.</summary>
    /// <exception cref="ArgumentException">The value is not an integer in [0, ActionCount).</exception>
    public int ActionIndex(float action) => Layout.ActionIndex(action);

    /// <summary>The class of a categorical reward (its value).</summary>
    /// <exception cref="ArgumentException">The reward is not an integer in [0, RewardClasses).</exception>
    public int RewardClass(float reward) => Layout.RewardClass(reward, RewardRole);

    internal const string RewardRole = "reward input";
}

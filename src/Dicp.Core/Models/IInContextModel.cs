using Dicp.Environments;

namespace Dicp.Models;

/// <summary>
/// A trained in-context model (AD, DPT or IDT, with or without DICP world-model heads) as evaluation and planners see
/// it, independent of its backbone.
/// </summary>
/// <remarks>
/// Observations and actions are flat float vectors as in <see cref="IEnvironment"/>: a discrete action is one float
/// holding its index. A model keeps no per-environment state itself; <see cref="CreateSession"/> opens the contexts.
/// </remarks>
public interface IInContextModel
{
    /// <summary>A short name, e.g. <c>"dicp-ad"</c>.</summary>
    string Name { get; }

    /// <summary>The floats per observation.</summary>
    int ObservationSize { get; }

    /// <summary>
    /// The floats per observation of the environments the model is evaluated on (and of its training histories); the
    /// model reads their first <see cref="ObservationSize"/> (<see cref="ModelConfig.SourceObservationSize"/>).
    /// </summary>
    int InputObservationSize => ObservationSize;

    /// <summary>The action space the policy head covers (<see cref="DiscreteSpace"/> or <see cref="BoxSpace"/>).</summary>
    Space ActionSpace { get; }

    /// <summary>The number of real transitions the context window keeps: the reference's <c>n_transit − 1</c>.</summary>
    int WindowTransitions { get; }

    /// <summary>Whether the model has DICP dynamics heads (reward and next observation).</summary>
    bool HasDynamics { get; }

    /// <summary>Whether the model also predicts the return-to-go of a candidate action.</summary>
    bool HasReturnToGo { get; }

    /// <summary>Opens one empty context per environment for in-context evaluation and planning.</summary>
    /// <param name="environments">The number of environments stepped together (at least 1).</param>
    /// <param name="options">Inference settings; <see cref="SessionOptions.Default"/> when null.</param>
    IInContextSession CreateSession(int environments, SessionOptions? options = null);
}

/// <summary>Inference settings of an <see cref="IInContextSession"/>.</summary>
/// <param name="SharedPrefix">
/// KV-cached imagination (default): each environment's real context is encoded once per window shape and each rollout
/// node's own tokens once (keys and values cached per layer), so a stepped action runs one token.
/// <c>false</c> recomputes the whole window for every candidate, as the reference does (the test oracle); both give
/// the same predictions within 1e-5.
/// </param>
/// <param name="MaxCandidates">The largest candidate batch per environment <see cref="IInContextSession.Predict"/> accepts (rollout steps of a caching session are not limited).</param>
/// <param name="TargetReturns">
/// Return-conditioned models (IDT): the initial return-to-go of each environment, which the session restores at every
/// episode start: the task's max return for grid worlds, 10 × horizon for continuous tasks (the reference's choice).
/// Required by IDT (one value per environment); ignored by AD and DPT.
/// </param>
/// <param name="Seed">Seeds the session's own sampling (IDT's latent decisions); ignored by AD and DPT.</param>
/// <param name="ImaginationReserve">
/// r ≥ 0 (default 0: today's behaviour, the whole window): AD and DPT sessions show every query (the policy, and the
/// world model at every imagined depth) at most <see cref="IInContextModel.WindowTransitions"/> − r real transitions,
/// the most recent ones, so that imagination up to depth r fits the window without sliding it. The KV-cached
/// imagination then chains each node onto its parent's cached keys and values (a node runs only its new tokens: O(H)
/// backbone tokens per path of depth H ≤ r instead of O(H²)). The price is a shorter real context: the model conditions
/// on r fewer past transitions than it was trained to use at full window, which may weaken in-context improvement; the
/// real window itself still holds all W transitions (<see cref="IInContextSession.ContextLength"/>). Must be below
/// <see cref="IInContextModel.WindowTransitions"/>. IDT sessions need no reserve (their imagination keeps the whole
/// segment and never slides) and reject a non-zero one with <see cref="ModelConfig.SlidingImagination"/>.
/// </param>
public sealed record SessionOptions(bool SharedPrefix = true, int MaxCandidates = 64, IReadOnlyList<float>? TargetReturns = null, int Seed = 0,
    int ImaginationReserve = 0)
{
    /// <summary>The default settings.</summary>
    public static SessionOptions Default { get; } = new();
}

/// <summary>
/// The contexts of a batch of environments stepped together: the real transitions seen so far (a sliding window of the
/// last <see cref="IInContextModel.WindowTransitions"/>), the policy for the current observation, and the world model's
/// predictions for candidate actions.
/// </summary>
/// <remarks>
/// Buffers are row-major. <c>E</c> is <see cref="Environments"/>, <c>O</c> the observation size, <c>A</c> the action
/// size (1 for discrete actions), <c>P</c> the policy parameter count: the number of actions for a discrete space
/// (logits), <c>2·A</c> for a box (mean, then log-variance). Sessions are not thread-safe.
/// </remarks>
public interface IInContextSession
{
    /// <summary>The model the session belongs to.</summary>
    IInContextModel Model { get; }

    /// <summary>The number of environments (contexts).</summary>
    int Environments { get; }

    /// <summary>The number of real transitions currently in environment <paramref name="environment"/>'s window.</summary>
    int ContextLength(int environment);

    /// <summary>Whether environment <paramref name="environment"/>'s window holds <see cref="IInContextModel.WindowTransitions"/> transitions.</summary>
    bool IsWindowFull(int environment);

    /// <summary>
    /// The real transitions appended to environment <paramref name="environment"/> since the session began or was
    /// <see cref="Reset"/>, not capped by the window (planners start from it: the reference plans from step n_transit).
    /// The default returns <see cref="ContextLength"/>, exact only while the window has not slid.
    /// </summary>
    long StepsSeen(int environment) => ContextLength(environment);

    /// <summary>Empties every context.</summary>
    void Reset();

    /// <summary>Appends one real transition per environment, sliding each window.</summary>
    /// <param name="states">(E, O) the observations the actions were taken in.</param>
    /// <param name="actions">(E, A) the actions taken.</param>
    /// <param name="rewards">(E) the rewards received.</param>
    /// <param name="nextStates">(E, O) the true next observations (the terminal observation at an episode's end).</param>
    /// <param name="dones">(E) whether the episode ended with this transition.</param>
    /// <exception cref="ArgumentException">A buffer has the wrong length.</exception>
    void Append(ReadOnlySpan<float> states, ReadOnlySpan<float> actions, ReadOnlySpan<float> rewards,
        ReadOnlySpan<float> nextStates, ReadOnlySpan<bool> dones);

    /// <summary>The policy's action distribution for each environment's current observation, given its context.</summary>
    /// <param name="observations">(E, O) the current observations.</param>
    /// <param name="distribution">Receives (E, P): logits, or mean then log-variance.</param>
    void Policy(ReadOnlySpan<float> observations, Span<float> distribution);

    /// <summary>
    /// The world model's predictions for a batch of candidates of one environment, each candidate being the real
    /// window followed by <see cref="CandidateBatch.Depth"/> imagined transitions of its own, then a query observation
    /// and a query action.
    /// </summary>
    /// <remarks>
    /// The window slides over imagined transitions exactly as over real ones: the model sees the last
    /// <see cref="IInContextModel.WindowTransitions"/> of (real ++ imagined), the real part limited to its last W − r
    /// transitions with <see cref="SessionOptions.ImaginationReserve"/> r. Predictions are deterministic decodes
    /// (argmax for discrete heads, the mean or clipped value for continuous ones).
    /// </remarks>
    /// <param name="environment">The environment whose real context the candidates share.</param>
    /// <param name="candidates">The candidates.</param>
    /// <param name="predictions">Receives the predictions; sized for at least <c>candidates.Count</c>.</param>
    /// <exception cref="InvalidOperationException">The model has no dynamics heads.</exception>
    /// <exception cref="ArgumentException">The batch does not fit the model or the session's buffers.</exception>
    void Predict(int environment, CandidateBatch candidates, CandidatePredictions predictions);

    /// <summary>
    /// The root of an imagination tree over environment <paramref name="environment"/>'s real context, queried at
    /// <paramref name="observation"/> (the environment's current observation). Valid until the next <see cref="Append"/>
    /// or <see cref="Reset"/>.
    /// </summary>
    /// <param name="environment">The environment.</param>
    /// <param name="observation">(O) the observation the root is queried at.</param>
    /// <exception cref="ArgumentException">The observation has the wrong length.</exception>
    Rollout Root(int environment, ReadOnlySpan<float> observation) => RolloutReplay.Root(this, environment, observation, StepsSeen(environment));

    /// <summary>
    /// Imagines one step from each of N nodes (of any environments and depths; a node may repeat): for node i and action
    /// i, the world model's predictions given the node's context (the real window, slid over the node's imagined
    /// transitions as over real ones: the model sees the last <see cref="IInContextModel.WindowTransitions"/>), and the
    /// child node that extends the path by the predicted transition.
    /// </summary>
    /// <remarks>
    /// Deterministic decodes as in <see cref="Predict"/>; the policy written for i is the one at node i's observation.
    /// The default replays every node's whole path through <see cref="Predict"/>; KV-caching sessions encode each
    /// environment's real prefix once per depth and each node's own tokens once, then run one token per action.
    /// </remarks>
    /// <param name="nodes">The N nodes, all made by this session's <see cref="Root"/> (or below) since its last change.</param>
    /// <param name="actions">(N, A) the action taken at each node.</param>
    /// <param name="predictions">Receives the N predictions.</param>
    /// <param name="children">Receives the N children.</param>
    /// <exception cref="ArgumentException">A buffer has the wrong length, or a node belongs to another session.</exception>
    /// <exception cref="InvalidOperationException">A node is stale, or the model has no dynamics heads.</exception>
    void Step(ReadOnlySpan<Rollout> nodes, ReadOnlySpan<float> actions, CandidatePredictions predictions, Span<Rollout> children) =>
        RolloutReplay.Step(this, nodes, actions, predictions, children);
}

/// <summary>
/// Candidates of one environment that share its real context: N imagined paths of equal depth, each ending in a query
/// observation and a query action. The arrays are owned by the caller and may be reused between calls.
/// </summary>
/// <param name="Count">N, the number of candidates used (the arrays may be larger).</param>
/// <param name="Depth">h ≥ 0, the imagined transitions before the query of every candidate.</param>
/// <param name="ImaginedStates">(N, h, O) states of the imagined transitions.</param>
/// <param name="ImaginedActions">(N, h, A) actions of the imagined transitions.</param>
/// <param name="ImaginedRewards">(N, h) predicted rewards of the imagined transitions.</param>
/// <param name="ImaginedNextStates">(N, h, O) predicted next observations of the imagined transitions.</param>
/// <param name="QueryStates">(N, O) the observation each candidate action is taken in.</param>
/// <param name="QueryActions">(N, A) the candidate actions.</param>
public sealed record CandidateBatch(int Count, int Depth, float[] ImaginedStates, float[] ImaginedActions,
    float[] ImaginedRewards, float[] ImaginedNextStates, float[] QueryStates, float[] QueryActions);

/// <summary>What the world model predicts for each candidate of a <see cref="CandidateBatch"/> (row-major, caller-owned).</summary>
/// <param name="Rewards">(N) the predicted reward (argmax class value, or the regression clipped to the reward range).</param>
/// <param name="NextStates">(N, O) the predicted next observation (decoded from the argmax cell for grid worlds).</param>
/// <param name="ReturnsToGo">(N) the predicted return-to-go, or null when the model has none.</param>
/// <param name="Policy">(N, P) the policy's distribution at the candidate's query observation (same layout as <see cref="IInContextSession.Policy"/>).</param>
public sealed record CandidatePredictions(float[] Rewards, float[] NextStates, float[]? ReturnsToGo, float[] Policy);

namespace Dicp.Models;

/// <summary>
/// What a <see cref="ModelConfig"/> implies about tokens, head sizes and training targets, derived once for every
/// backend: Dicp's engine (<see cref="InContextModel"/>, <see cref="IdtModel"/>) and the TorchSharp backend read their
/// sizes, encodings, key names and loss targets from here, so the two cannot drift apart.
/// </summary>
/// <remarks>
/// A transition's features are <c>[s (O), a (one-hot ActionCount, or the A raw floats), r (1), s' (O)]</c>; grid cells
/// are <c>x·side + y</c>; discrete actions and categorical rewards are classes equal to their value.
/// </remarks>
internal sealed class ModelLayout
{
    /// <summary>Derives the layout of <paramref name="config"/>.</summary>
    public ModelLayout(ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config;
        Name = (config.Dynamics ? "dicp-" : "") + config.Model;
        IsGrid = config.StateClasses > 0;
        GridSide = IsGrid ? (int)Math.Round(Math.Sqrt(config.StateClasses)) : 0;
        DiscreteActions = config.ActionCount > 0;
        ActionSize = DiscreteActions ? 1 : config.ActionSize;
        ActionFeatures = DiscreteActions ? config.ActionCount : config.ActionSize;
        TransitionFeatures = 2 * config.ObservationSize + ActionFeatures + 1;
        PolicySize = DiscreteActions ? config.ActionCount : 2 * config.ActionSize;
        ActionOutputs = DiscreteActions ? config.ActionCount : config.LearnVariance ? 2 * config.ActionSize : config.ActionSize;
        RewardOutputs = config.RewardClasses > 0 ? config.RewardClasses : 1;
        NextStateOutputs = IsGrid ? config.StateClasses : config.ObservationSize;
        QueryFirst = config.Model == "dpt";
    }

    /// <summary>The configuration.</summary>
    public ModelConfig Config { get; }

    /// <summary>The model's name: <c>ad</c>, <c>dpt</c>, <c>idt</c>, with <c>dicp-</c> before it with dynamics.</summary>
    public string Name { get; }

    /// <summary>Whether observations are grid cells (categorical state embeddings and next-state head).</summary>
    public bool IsGrid { get; }

    /// <summary>The grid's side (√StateClasses), or 0.</summary>
    public int GridSide { get; }

    /// <summary>Whether actions are discrete.</summary>
    public bool DiscreteActions { get; }

    /// <summary>A: floats per action in buffers (1 for discrete actions).</summary>
    public int ActionSize { get; }

    /// <summary>Floats an action takes inside a transition's features (one-hot size, or A).</summary>
    public int ActionFeatures { get; }

    /// <summary>F = 2·O + ActionFeatures + 1.</summary>
    public int TransitionFeatures { get; }

    /// <summary>P: floats of a policy distribution (logits, or mean then log-variance).</summary>
    public int PolicySize { get; }

    /// <summary>Outputs of <c>pred_action</c>: ActionCount logits, 2A (mean | log-variance) with LearnVariance, else A.</summary>
    public int ActionOutputs { get; }

    /// <summary>Outputs of <c>pred_reward</c>: RewardClasses, or 1 (regression).</summary>
    public int RewardOutputs { get; }

    /// <summary>Outputs of <c>pred_next_state</c>: StateClasses, or O.</summary>
    public int NextStateOutputs { get; }

    /// <summary>AD/DPT: whether the query-state token comes first (DPT) or after the transitions (AD).</summary>
    public bool QueryFirst { get; }

    /// <summary>AD/DPT: the <c>pred_*</c> heads take plural names (DPT and continuous AD), as the reference's models.</summary>
    public bool PluralHeads => QueryFirst || !IsGrid;

    /// <summary>AD/DPT: the key of a head, e.g. <c>pred_action</c> or <c>pred_actions</c>.</summary>
    public string HeadKey(string stem) => PluralHeads ? stem + "s" : stem;

    /// <summary>AD/DPT: <c>embed_query_state</c> is an Embedding over cells (grid AD) rather than a Linear(O, d).</summary>
    public bool QueryStateTable => IsGrid && !QueryFirst;

    /// <summary>AD/DPT: <c>embed_query_action</c> exists (with dynamics, and always for DPT, as the reference).</summary>
    public bool HasQueryActionEmbedding => Config.Dynamics || QueryFirst;

    /// <summary>The dynamics loss includes the next-observation term (the reference's <c>learn_transition</c>).</summary>
    public bool NextStateInLoss => Config.LearnTransition;

    /// <summary>The models' action space: the discrete actions, or a box [−1, 1]^A.</summary>
    public Dicp.Environments.Space ActionSpace() => DiscreteActions
        ? new Dicp.Environments.DiscreteSpace(Config.ActionCount)
        : new Dicp.Environments.BoxSpace(Enumerable.Repeat(-1f, Config.ActionSize).ToArray(), Enumerable.Repeat(1f, Config.ActionSize).ToArray());

    /// <summary>AD/DPT: the first token position and the count of positions whose outputs predict the action (AD: the query state; DPT: the n − 1 transition tokens).</summary>
    public (int Start, int Count) TrainingActionPositions(int steps) => QueryFirst ? (1, steps - 1) : (steps - 1, 1);

    /// <summary>The index of a discrete action stored as a float.</summary>
    /// <exception cref="ArgumentException">The value is not an integer in [0, ActionCount).</exception>
    public int ActionIndex(float action) => ModelSupport.ActionIndex(Name, Config.ActionCount, action);

    /// <summary>The grid cell <c>x·side + y</c> of an (x, y) observation.</summary>
    /// <exception cref="ArgumentException">The observation is not a cell of the grid.</exception>
    public int CellIndex(ReadOnlySpan<float> state) => ModelSupport.CellIndex(Name, GridSide, state);

    /// <summary>The class of a categorical reward (its value); <paramref name="role"/> names the head or input in the error.</summary>
    /// <exception cref="ArgumentException">The reward is not an integer in [0, RewardClasses).</exception>
    public int RewardClass(float reward, string role) => ModelSupport.RewardClass(Name, Config.RewardClasses, reward, role);

    /// <summary>Writes a transition's features <c>[s, a (one-hot or raw), r, s']</c> into <paramref name="destination"/> (F floats).</summary>
    /// <exception cref="ArgumentException">A discrete action is not an integer in [0, ActionCount).</exception>
    public void EncodeTransition(ReadOnlySpan<float> state, ReadOnlySpan<float> action, float reward, ReadOnlySpan<float> nextState, Span<float> destination)
    {
        int o = Config.ObservationSize, af = ActionFeatures;
        state[..o].CopyTo(destination);
        var a = destination.Slice(o, af);
        if (DiscreteActions)
        {
            a.Clear();
            a[ActionIndex(action[0])] = 1f;
        }
        else action[..af].CopyTo(a);
        destination[o + af] = reward;
        nextState[..o].CopyTo(destination.Slice(o + af + 1, o));
    }

    /// <summary>Writes the policy distribution of one row of <c>pred_action</c> output: logits, or mean then log-variance (0 without <c>LearnVariance</c>).</summary>
    public void WritePolicy(ReadOnlySpan<float> head, Span<float> destination)
    {
        if (DiscreteActions || Config.LearnVariance) { head[..PolicySize].CopyTo(destination); return; }
        head[..Config.ActionSize].CopyTo(destination);
        destination.Slice(Config.ActionSize, Config.ActionSize).Clear();
    }

    /// <summary>Decodes one row of <c>pred_next_state</c> output: the argmax cell as (x, y), or the regression.</summary>
    public void DecodeNextState(ReadOnlySpan<float> head, Span<float> destination)
    {
        if (IsGrid)
        {
            var cell = System.Numerics.Tensors.TensorPrimitives.IndexOfMax(head[..Config.StateClasses]);
            destination[0] = cell / GridSide;
            destination[1] = cell % GridSide;
        }
        else head[..Config.ObservationSize].CopyTo(destination);
    }

    /// <summary>
    /// AD/DPT training inputs of a batch of windows of n steps: the features (B, n − 1, F) of transitions 0 … n − 2, and
    /// the query state (B, O) and query action (B, A) of step n − 1.
    /// </summary>
    public (float[] Features, float[] QueryStates, float[] QueryActions) EncodeWindows(WindowBatch batch)
    {
        int bsz = batch.BatchSize, n = batch.Steps, o = Config.ObservationSize, a = ActionSize, f = TransitionFeatures;
        var features = new float[bsz * Math.Max(n - 1, 1) * f];
        var qs = new float[bsz * o];
        var qa = new float[bsz * a];
        for (var b = 0; b < bsz; b++)
        {
            for (var t = 0; t < n - 1; t++)
            {
                var i = b * n + t;
                EncodeTransition(batch.States.AsSpan(i * o, o), batch.Actions.AsSpan(i * a, a), batch.Rewards[i],
                    batch.NextStates.AsSpan(i * o, o), features.AsSpan((b * (n - 1) + t) * f, f));
            }
            var last = b * n + n - 1;
            batch.States.AsSpan(last * o, o).CopyTo(qs.AsSpan(b * o));
            batch.Actions.AsSpan(last * a, a).CopyTo(qa.AsSpan(b * a));
        }
        return (features, qs, qa);
    }

    /// <summary>
    /// AD/DPT training targets of the query step n − 1 of each window: the action (a class repeated over the
    /// <paramref name="actionPositions"/> positions — AD: the action taken; DPT: <see cref="WindowBatch.OptimalActions"/> —
    /// or the A floats), and with dynamics its reward, next observation (with classes where the heads are categorical)
    /// and return-to-go.
    /// </summary>
    /// <exception cref="ArgumentException">A label is missing or outside its classes.</exception>
    public QueryTargets QueryTargets(WindowBatch batch, int actionPositions, string rewardRole)
    {
        int bsz = batch.BatchSize, n = batch.Steps, o = Config.ObservationSize, a = ActionSize;
        int[]? classes = null;
        float[]? values = null;
        if (DiscreteActions)
        {
            classes = new int[bsz * actionPositions];
            for (var b = 0; b < bsz; b++) classes.AsSpan(b * actionPositions, actionPositions).Fill(ActionTarget(batch, b));
        }
        else
        {
            values = new float[bsz * a];
            for (var b = 0; b < bsz; b++) batch.Actions.AsSpan((b * n + n - 1) * a, a).CopyTo(values.AsSpan(b * a));
        }
        if (!Config.Dynamics) return new QueryTargets(classes, values, null);
        var r = new float[bsz];
        var s2 = new float[bsz * o];
        float[]? g = null;
        for (var b = 0; b < bsz; b++)
        {
            r[b] = batch.Rewards[b * n + n - 1];
            batch.NextStates.AsSpan((b * n + n - 1) * o, o).CopyTo(s2.AsSpan(b * o));
        }
        if (Config.ReturnToGo)
        {
            var rtg = batch.ReturnsToGo ?? throw new ArgumentException($"{Name}: the return-to-go head needs WindowBatch.ReturnsToGo.", nameof(batch));
            g = new float[bsz];
            for (var b = 0; b < bsz; b++) g[b] = rtg[b * n + n - 1];
        }
        return new QueryTargets(classes, values, DynamicsTargets(r, s2, bsz, rewardRole, g));
    }

    /// <summary>The dynamics targets of <paramref name="rows"/> steps (rewards (rows), next observations (rows, O)) with their classes where the heads are categorical.</summary>
    /// <exception cref="ArgumentException">A reward is not a class, or an observation not a cell.</exception>
    public DynamicsTargets DynamicsTargets(ReadOnlySpan<float> rewards, ReadOnlySpan<float> nextStates, int rows, string rewardRole, float[]? returnsToGo = null)
    {
        int o = Config.ObservationSize;
        int[]? rc = null, cells = null;
        if (Config.RewardClasses > 0)
        {
            rc = new int[rows];
            for (var i = 0; i < rows; i++) rc[i] = RewardClass(rewards[i], rewardRole);
        }
        if (IsGrid)
        {
            cells = new int[rows];
            for (var i = 0; i < rows; i++) cells[i] = CellIndex(nextStates.Slice(i * o, o));
        }
        return new DynamicsTargets(rewards[..rows].ToArray(), rc, nextStates[..(rows * o)].ToArray(), cells, returnsToGo);
    }

    /// <summary>The classes of <paramref name="rows"/> discrete actions stored as floats (IDT's every-step action targets).</summary>
    /// <exception cref="ArgumentException">An action is not an integer in [0, ActionCount).</exception>
    public int[] ActionClasses(ReadOnlySpan<float> actions, int rows)
    {
        var classes = new int[rows];
        for (var i = 0; i < rows; i++) classes[i] = ActionIndex(actions[i]);
        return classes;
    }

    /// <summary>The return-to-go segment of training windows: c for IDT (return-conditioned windows), else 0.</summary>
    public int ReturnConditionedSegment => Config.Model == "idt" ? Config.SegmentLength : 0;

    /// <summary>The stride of training window starts: c for IDT with <see cref="ModelConfig.AlignedWindows"/>, else 1.</summary>
    public int WindowStartStride => Config.Model == "idt" && Config.AlignedWindows ? Config.SegmentLength : 1;

    /// <summary>IDT: K = n_transit / c, the segments of a training window.</summary>
    public int Segments => Config.NTransit / Config.SegmentLength;

    /// <summary>IDT: the return-to-go (B, K) and the state (B, K, O) at the first step of each of the K segments of a batch's windows.</summary>
    /// <exception cref="ArgumentException">The batch carries no returns-to-go.</exception>
    public (float[] Returns, float[] FirstStates) SegmentStarts(WindowBatch batch)
    {
        var rtg = batch.ReturnsToGo ?? throw new ArgumentException($"{Name}: IDT needs WindowBatch.ReturnsToGo (sample windows with returnsToGoSegment = c).", nameof(batch));
        int bsz = batch.BatchSize, n = batch.Steps, c = Config.SegmentLength, k = Segments, o = Config.ObservationSize;
        var returns = new float[bsz * k];
        var first = new float[bsz * k * o];
        for (var b = 0; b < bsz; b++)
            for (var j = 0; j < k; j++)
            {
                var t = b * n + j * c;
                returns[b * k + j] = rtg[t];
                batch.States.AsSpan(t * o, o).CopyTo(first.AsSpan((b * k + j) * o));
            }
        return (returns, first);
    }

    /// <summary>IDT: the ε vectors (of dim_z floats) a batch of <paramref name="batchSize"/> windows draws: one per low-level step with <see cref="ModelConfig.LatentNoisePerStep"/>, else one per segment.</summary>
    public int LatentDraws(int batchSize) => batchSize * (Config.LatentNoisePerStep ? Config.NTransit : Segments);

    /// <summary>
    /// IDT: a caller's ε for a batch, as (B, K, c, dim_z) with <see cref="ModelConfig.LatentNoisePerStep"/> (a
    /// (B, K, dim_z) one is repeated over each segment's steps), else (B, K, dim_z); null when <paramref name="noise"/>
    /// is empty (the model draws its own).
    /// </summary>
    /// <exception cref="ArgumentException">The noise has neither size.</exception>
    public float[]? LatentNoise(ReadOnlySpan<float> noise, int batchSize)
    {
        if (noise.IsEmpty) return null;
        int bsz = batchSize, k = Segments, c = Config.SegmentLength, dz = Config.LatentDim, n = Config.NTransit;
        var perStep = Config.LatentNoisePerStep;
        if (noise.Length == LatentDraws(bsz) * dz) return noise.ToArray();
        if (perStep && noise.Length == bsz * k * dz)
        {
            var eps = new float[bsz * k * c * dz]; // one ε per segment given: repeated over its c steps
            for (var g = 0; g < bsz * k; g++)
                for (var t = 0; t < c; t++) noise.Slice(g * dz, dz).CopyTo(eps.AsSpan((g * c + t) * dz, dz));
            return eps;
        }
        throw new ArgumentException($"{Name}: noise holds {noise.Length} floats; " + (perStep
            ? $"(B {bsz}, K {k}, c {c}, dim_z {dz}) needs {bsz * n * dz} (or {bsz * k * dz}, one ε per segment)."
            : $"(B {bsz}, K {k}, dim_z {dz}) needs {bsz * k * dz}."), nameof(noise));
    }

    /// <summary>The discrete action label of window <paramref name="b"/>: AD the action taken at step n − 1, DPT the optimal action there.</summary>
    /// <exception cref="ArgumentException">The label is missing or outside [0, ActionCount).</exception>
    public int ActionTarget(WindowBatch batch, int b)
    {
        var last = b * batch.Steps + batch.Steps - 1;
        if (!QueryFirst) return ActionIndex(batch.Actions[last]);
        var labels = batch.OptimalActions ?? throw new ArgumentException($"{Name}: DPT needs WindowBatch.OptimalActions.", nameof(batch));
        var y = labels[last];
        if ((uint)y >= (uint)Config.ActionCount)
            throw new ArgumentException($"{Name}: optimal action {y} of window {b} is outside [0, {Config.ActionCount}).", nameof(batch));
        return y;
    }
}

/// <summary>AD/DPT action targets of a batch, and its dynamics targets (null without dynamics).</summary>
/// <param name="ActionClasses">(B·k) discrete action labels, one per action position, or null for continuous actions.</param>
/// <param name="ActionValues">(B, A) continuous action targets, or null for discrete actions.</param>
/// <param name="Dynamics">The query step's reward, next observation and return-to-go, or null.</param>
internal sealed record QueryTargets(int[]? ActionClasses, float[]? ActionValues, DynamicsTargets? Dynamics);

/// <summary>Dynamics targets of some rows.</summary>
/// <param name="Rewards">(rows) rewards.</param>
/// <param name="RewardClasses">(rows) reward classes (categorical reward head), or null (regression).</param>
/// <param name="NextStates">(rows, O) next observations.</param>
/// <param name="NextStateCells">(rows) grid cells (categorical next-state head), or null (regression).</param>
/// <param name="ReturnsToGo">(rows) returns-to-go for the return head, or null.</param>
internal sealed record DynamicsTargets(float[] Rewards, int[]? RewardClasses, float[] NextStates, int[]? NextStateCells, float[]? ReturnsToGo);

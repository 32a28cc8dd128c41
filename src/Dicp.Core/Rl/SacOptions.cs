namespace Dicp.Rl;

/// <summary>
/// Hyperparameters of <see cref="Sac"/>. The defaults are the specification's Meta-World ablation settings
/// (Stable-Baselines3's SAC with a 256 × 256 network and 10 gradient steps per environment step).
/// </summary>
/// <param name="HiddenSize">Width of the ReLU hidden layers of the actor and of both critics (256).</param>
/// <param name="HiddenLayers">Number of ReLU hidden layers of each network (2).</param>
/// <param name="LearningRate">Adam step size of the actor, the critics and the entropy coefficient (3e-4).</param>
/// <param name="BufferSize">Replay-buffer capacity in transitions, shared by the learner's streams (1 000 000).</param>
/// <param name="LearningStarts">Transitions (summed over streams) collected with uniformly random actions before the first update (100).</param>
/// <param name="BatchSize">Transitions per gradient step (128).</param>
/// <param name="TrainFrequency">Lock-step environment steps between updates (1: after every step).</param>
/// <param name="GradientSteps">Gradient steps per update (10).</param>
/// <param name="Tau">Polyak coefficient of the target critics: <c>θ' ← (1 − τ)·θ' + τ·θ</c> after every gradient step (0.005).</param>
/// <param name="Gamma">Discount γ (0.99).</param>
/// <param name="AutoEntropy">Learn the entropy coefficient α by gradient descent on <c>−log α·(log π + target)</c> (true).</param>
/// <param name="InitialEntropyCoef">The initial α (the fixed α when <see cref="AutoEntropy"/> is false) (1).</param>
/// <param name="TargetEntropy">The entropy target (null: <c>−dim(A)</c>).</param>
/// <param name="LogStdMin">Lower bound of the policy's log-std (−20, Stable-Baselines3's).</param>
/// <param name="LogStdMax">Upper bound of the policy's log-std (2).</param>
/// <param name="SquashLogStd">Bound the log-std smoothly, <c>lo + ½(hi − lo)(tanh(h) + 1)</c> (CleanRL's form, used with
/// bounds [−5, 2]), instead of Stable-Baselines3's hard clamp (false, the reference's).</param>
/// <param name="BootstrapTruncation">An episode cut off by the horizon is not terminal: its transition is stored with
/// the true final observation and done = false, so the target bootstraps from it, as Stable-Baselines3's replay buffer
/// (<c>handle_timeout_termination</c>) does (true). False treats every episode end as terminal.</param>
public sealed record SacOptions(
    int HiddenSize = 256,
    int HiddenLayers = 2,
    float LearningRate = 3e-4f,
    int BufferSize = 1_000_000,
    int LearningStarts = 100,
    int BatchSize = 128,
    int TrainFrequency = 1,
    int GradientSteps = 10,
    float Tau = 0.005f,
    float Gamma = 0.99f,
    bool AutoEntropy = true,
    float InitialEntropyCoef = 1f,
    float? TargetEntropy = null,
    float LogStdMin = -20f,
    float LogStdMax = 2f,
    bool SquashLogStd = false,
    bool BootstrapTruncation = true)
{
    /// <summary>
    /// The settings for an environment family: the specification gives SAC only for Meta-World (the defaults);
    /// every other name also gets the defaults, so that a SAC collection is the ablation's configuration everywhere.
    /// </summary>
    /// <param name="name">The task family's name (e.g. <c>metaworld-ml1-reach</c>).</param>
    public static SacOptions ForEnvironment(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return new SacOptions();
    }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        static void Check(bool ok, string name, object? value, string rule)
        {
            if (!ok) throw new ArgumentOutOfRangeException(name, value, $"SacOptions.{name} must be {rule}, got {value}.");
        }
        Check(HiddenSize > 0, nameof(HiddenSize), HiddenSize, "positive");
        Check(HiddenLayers >= 1, nameof(HiddenLayers), HiddenLayers, "≥ 1");
        Check(LearningRate >= 0f, nameof(LearningRate), LearningRate, "≥ 0");
        Check(BufferSize > 0, nameof(BufferSize), BufferSize, "positive");
        Check(LearningStarts >= 0, nameof(LearningStarts), LearningStarts, "≥ 0");
        Check(BatchSize > 0, nameof(BatchSize), BatchSize, "positive");
        Check(TrainFrequency > 0, nameof(TrainFrequency), TrainFrequency, "positive");
        Check(GradientSteps > 0, nameof(GradientSteps), GradientSteps, "positive");
        Check(Tau is >= 0f and <= 1f, nameof(Tau), Tau, "in [0, 1]");
        Check(Gamma is >= 0f and <= 1f, nameof(Gamma), Gamma, "in [0, 1]");
        Check(InitialEntropyCoef > 0f && float.IsFinite(InitialEntropyCoef), nameof(InitialEntropyCoef), InitialEntropyCoef, "positive and finite");
        Check(TargetEntropy is null || float.IsFinite(TargetEntropy.Value), nameof(TargetEntropy), TargetEntropy, "finite or null");
        Check(float.IsFinite(LogStdMin) && float.IsFinite(LogStdMax) && LogStdMin < LogStdMax, nameof(LogStdMin), LogStdMin, $"finite and below LogStdMax ({LogStdMax})");
    }

    /// <summary>The settings as JSON-friendly name/value pairs (for manifests); the target entropy as resolved for <paramref name="actionDims"/>.</summary>
    /// <param name="actionDims">dim(A), used when <see cref="TargetEntropy"/> is null.</param>
    public IReadOnlyDictionary<string, object> ToDictionary(int actionDims) => new SortedDictionary<string, object>(StringComparer.Ordinal)
    {
        ["hidden_size"] = HiddenSize,
        ["hidden_layers"] = HiddenLayers,
        ["learning_rate"] = LearningRate,
        ["buffer_size"] = BufferSize,
        ["learning_starts"] = LearningStarts,
        ["batch_size"] = BatchSize,
        ["train_freq"] = TrainFrequency,
        ["gradient_steps"] = GradientSteps,
        ["tau"] = Tau,
        ["gamma"] = Gamma,
        ["auto_entropy"] = AutoEntropy,
        ["initial_entropy_coef"] = InitialEntropyCoef,
        ["target_entropy"] = TargetEntropy ?? -actionDims,
        ["log_std_min"] = LogStdMin,
        ["log_std_max"] = LogStdMax,
        ["squash_log_std"] = SquashLogStd,
        ["bootstrap_truncation"] = BootstrapTruncation,
    };
}

namespace Dicp.Rl;

/// <summary>
/// Hyperparameters of <see cref="Ppo"/>. The defaults are the reference's (Stable-Baselines3's PPO defaults) with the
/// Darkroom rollout sizes; <see cref="ForEnvironment"/> gives the per-environment table of the specification.
/// </summary>
/// <param name="NSteps">Environment steps per stream per rollout (Darkroom 20).</param>
/// <param name="MinibatchSize">Samples per gradient step (Darkroom 50).</param>
/// <param name="Epochs">Passes over each rollout (Darkroom 20).</param>
/// <param name="LearningRate">Adam step size (3e-4).</param>
/// <param name="AdamEps">Adam ε (1e-5).</param>
/// <param name="Gamma">Discount γ (0.99).</param>
/// <param name="GaeLambda">GAE λ (0.95).</param>
/// <param name="ClipRange">Surrogate clip ε (0.2); the value function is not clipped.</param>
/// <param name="EntropyCoef">Entropy bonus coefficient (0).</param>
/// <param name="ValueCoef">Value-loss coefficient (0.5).</param>
/// <param name="MaxGradNorm">Global gradient-norm clip (0.5).</param>
/// <param name="NormalizeAdvantage">Normalise advantages per minibatch: <c>(A − mean) / (std + 1e-8)</c>, unbiased std (true).</param>
/// <param name="HiddenSize">Width of the hidden layers of both networks (64).</param>
/// <param name="HiddenLayers">Number of tanh hidden layers of both networks (2).</param>
/// <param name="InitialLogStd">Initial state-independent log-std of the Gaussian policy (0; continuous actions only).</param>
/// <param name="BootstrapTruncation">An episode cut off by the horizon (not terminated) bootstraps: its reward gains
/// γ·V(final observation), as Stable-Baselines3 does for a time limit (Meta-World: true). False treats every episode end
/// as terminal, as the reference's grid worlds (their vectorised environments report truncation as done).</param>
/// <param name="RecordSampledActions">Continuous actions: the learning history records the unclipped Gaussian sample
/// (what Stable-Baselines3's rollout buffer stores; Meta-World: true); the environment always receives the sample clipped
/// to the box. False records the clipped action.</param>
public sealed record PpoOptions(
    int NSteps = 20,
    int MinibatchSize = 50,
    int Epochs = 20,
    float LearningRate = 3e-4f,
    float AdamEps = 1e-5f,
    float Gamma = 0.99f,
    float GaeLambda = 0.95f,
    float ClipRange = 0.2f,
    float EntropyCoef = 0f,
    float ValueCoef = 0.5f,
    float MaxGradNorm = 0.5f,
    bool NormalizeAdvantage = true,
    int HiddenSize = 64,
    int HiddenLayers = 2,
    float InitialLogStd = 0f,
    bool BootstrapTruncation = false,
    bool RecordSampledActions = false)
{
    /// <summary>
    /// The specification's settings for an environment family: <c>darkroom</c> (20 / 50 / 20),
    /// <c>darkroom-permuted</c> (50 / 50 / 20), <c>dark-key-to-door</c> (50 / 100 / 10), <c>metaworld</c> or names
    /// starting with <c>ml1</c>/<c>ml10</c> (100 / 200 / 20) as (n_steps / minibatch / epochs); anything else gets the
    /// defaults.
    /// </summary>
    public static PpoOptions ForEnvironment(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var n = name.ToLowerInvariant();
        return n switch
        {
            "darkroom" => new PpoOptions(),
            "darkroom-permuted" => new PpoOptions(NSteps: 50, MinibatchSize: 50, Epochs: 20),
            "dark-key-to-door" => new PpoOptions(NSteps: 50, MinibatchSize: 100, Epochs: 10),
            _ when n.StartsWith("metaworld", StringComparison.Ordinal) || n.StartsWith("ml1", StringComparison.Ordinal) =>
                new PpoOptions(NSteps: 100, MinibatchSize: 200, Epochs: 20, BootstrapTruncation: true, RecordSampledActions: true),
            _ => new PpoOptions(),
        };
    }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        static void Check(bool ok, string name, object value, string rule)
        {
            if (!ok) throw new ArgumentOutOfRangeException(name, value, $"PpoOptions.{name} must be {rule}, got {value}.");
        }
        Check(NSteps > 0, nameof(NSteps), NSteps, "positive");
        Check(MinibatchSize > 0, nameof(MinibatchSize), MinibatchSize, "positive");
        Check(Epochs > 0, nameof(Epochs), Epochs, "positive");
        Check(LearningRate >= 0f, nameof(LearningRate), LearningRate, "≥ 0");
        Check(AdamEps >= 0f, nameof(AdamEps), AdamEps, "≥ 0");
        Check(Gamma is >= 0f and <= 1f, nameof(Gamma), Gamma, "in [0, 1]");
        Check(GaeLambda is >= 0f and <= 1f, nameof(GaeLambda), GaeLambda, "in [0, 1]");
        Check(ClipRange > 0f, nameof(ClipRange), ClipRange, "positive");
        Check(float.IsFinite(EntropyCoef), nameof(EntropyCoef), EntropyCoef, "finite");
        Check(ValueCoef >= 0f, nameof(ValueCoef), ValueCoef, "≥ 0");
        Check(MaxGradNorm > 0f, nameof(MaxGradNorm), MaxGradNorm, "positive");
        Check(HiddenSize > 0, nameof(HiddenSize), HiddenSize, "positive");
        Check(HiddenLayers >= 0, nameof(HiddenLayers), HiddenLayers, "≥ 0");
        Check(float.IsFinite(InitialLogStd), nameof(InitialLogStd), InitialLogStd, "finite");
    }

    /// <summary>The settings as JSON-friendly name/value pairs (for manifests).</summary>
    public IReadOnlyDictionary<string, object> ToDictionary() => new SortedDictionary<string, object>(StringComparer.Ordinal)
    {
        ["n_steps"] = NSteps,
        ["minibatch_size"] = MinibatchSize,
        ["epochs"] = Epochs,
        ["learning_rate"] = LearningRate,
        ["adam_eps"] = AdamEps,
        ["gamma"] = Gamma,
        ["gae_lambda"] = GaeLambda,
        ["clip_range"] = ClipRange,
        ["entropy_coef"] = EntropyCoef,
        ["value_coef"] = ValueCoef,
        ["max_grad_norm"] = MaxGradNorm,
        ["normalize_advantage"] = NormalizeAdvantage,
        ["hidden_size"] = HiddenSize,
        ["hidden_layers"] = HiddenLayers,
        ["initial_log_std"] = InitialLogStd,
        ["bootstrap_truncation"] = BootstrapTruncation,
        ["record_sampled_actions"] = RecordSampledActions,
    };
}

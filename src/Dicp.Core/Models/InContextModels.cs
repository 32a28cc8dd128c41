namespace Dicp.Models;

/// <summary>Builds in-context models from a <see cref="ModelConfig"/>, saves them and loads them back.</summary>
/// <remarks>
/// <code>
/// var model = InContextModels.Create(config, seed: 0);
/// // … train it …
/// model.Save("model.safetensors");
/// var again = InContextModels.Load("model.safetensors"); // the configuration comes from the file
/// </code>
/// </remarks>
public static class InContextModels
{
    /// <summary>
    /// Loads a model saved by <see cref="Save"/> or written by a trainer: a model file, a trainer's checkpoint, or a run
    /// directory (its <c>model.safetensors</c>, else its checkpoint). The model is built from the configuration stored in
    /// the file, validated first, and returned in evaluation mode.
    /// </summary>
    /// <param name="path">The file or run directory.</param>
    /// <param name="seed">Seeds the model's own generator (its parameters come from the file).</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is malformed, carries no or an invalid configuration, or its tensors
    /// do not fit that configuration (the message names the file and the key or value).</exception>
    public static ITrainableInContextModel Load(string path, int seed = 0) => ModelFile.Load(path, seed);

    /// <summary>
    /// Saves the model's parameters (reference key names) and its configuration to one safetensors file, atomically;
    /// <see cref="Load"/> reads it back.
    /// </summary>
    /// <param name="model">A model built by <see cref="Create"/> (it knows its configuration).</param>
    /// <param name="path">The file (created or replaced).</param>
    /// <exception cref="InvalidOperationException">The model does not know its configuration (<see cref="ITrainableInContextModel.Config"/> is null).</exception>
    public static void Save(this ITrainableInContextModel model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        var config = model.Config ?? throw new InvalidOperationException($"Model '{model.Name}' does not know its configuration; use ModelFile.Save with the configuration it was built from.");
        ModelFile.Save(path, model, config);
    }

    /// <summary>Creates a freshly initialised model.</summary>
    /// <param name="config">The model's configuration.</param>
    /// <param name="seed">Seeds the initialisation and the model's dropout generator.</param>
    /// <returns>An <see cref="AdModel"/> for <c>"ad"</c>, a <see cref="DptModel"/> for <c>"dpt"</c>, an <see cref="IdtModel"/> for <c>"idt"</c>.</returns>
    /// <exception cref="ArgumentException">The configuration is invalid (the message names the field).</exception>
    public static ITrainableInContextModel Create(ModelConfig config, int seed = 0)
    {
        Validate(config);
        return config.Model switch
        {
            "ad" => new AdModel(config, seed),
            "dpt" => new DptModel(config, seed),
            "idt" => new IdtModel(config, seed),
            _ => throw new ArgumentException($"ModelConfig.Model must be 'ad', 'dpt' or 'idt', got '{config.Model}'.", nameof(config)),
        };
    }

    /// <summary>Checks a configuration; throws <see cref="ArgumentException"/> naming the first invalid field.</summary>
    /// <remarks>
    /// Grid observations (<c>StateClasses</c> &gt; 0) need <c>ObservationSize</c> = 2 and a square number of cells;
    /// categorical rewards take the values 0 … <c>RewardClasses</c> − 1; DPT needs discrete actions; the
    /// return-to-go head needs the dynamics heads.
    /// </remarks>
    public static void Validate(ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        static void Fail(string message) => throw new ArgumentException("ModelConfig." + message, nameof(config));
        if (config.Model is not ("ad" or "dpt" or "idt")) Fail($"Model must be 'ad', 'dpt' or 'idt', got '{config.Model}'.");
        if (config.ObservationSize <= 0) Fail($"ObservationSize must be positive, got {config.ObservationSize}.");
        if (config.SourceObservationSize != 0 && config.SourceObservationSize < config.ObservationSize)
            Fail($"SourceObservationSize ({config.SourceObservationSize}) must be 0 (no selection) or at least ObservationSize ({config.ObservationSize}): the model reads the first ObservationSize floats of each observation.");
        if (config.StateClasses < 0) Fail($"StateClasses must be 0 (continuous) or positive, got {config.StateClasses}.");
        if (config.StateClasses > 0)
        {
            var side = (int)Math.Round(Math.Sqrt(config.StateClasses));
            if (side * side != config.StateClasses) Fail($"StateClasses ({config.StateClasses}) must be the cell count of a square grid.");
            if (config.ObservationSize != 2) Fail($"ObservationSize must be 2 (x, y) for a grid (StateClasses {config.StateClasses}), got {config.ObservationSize}.");
        }
        if (config.ActionCount < 0) Fail($"ActionCount must be 0 (continuous) or positive, got {config.ActionCount}.");
        if (config.ActionCount == 0 && config.ActionSize <= 0) Fail($"ActionSize must be positive for continuous actions, got {config.ActionSize}.");
        if (config.RewardClasses < 0 || config.RewardClasses == 1) Fail($"RewardClasses must be 0 (regression) or at least 2, got {config.RewardClasses}.");
        if (config.RewardClasses == 0 && !(float.IsFinite(config.RewardMin) && float.IsFinite(config.RewardMax) && config.RewardMin < config.RewardMax))
            Fail($"A regressed reward needs finite RewardMin < RewardMax, got [{config.RewardMin}, {config.RewardMax}].");
        if (config.NTransit < 1) Fail($"NTransit must be at least 1, got {config.NTransit}.");
        if (config.EmbeddingDim <= 0) Fail($"EmbeddingDim must be positive, got {config.EmbeddingDim}.");
        if (config.Layers <= 0) Fail($"Layers must be positive, got {config.Layers}.");
        if (config.Heads <= 0 || config.EmbeddingDim % config.Heads != 0) Fail($"Heads ({config.Heads}) must divide EmbeddingDim ({config.EmbeddingDim}).");
        if (config.EmbeddingDim / config.Heads % 2 != 0) Fail($"EmbeddingDim / Heads = {config.EmbeddingDim / config.Heads} must be even (rotary embeddings).");
        if (config.Inner <= 0) Fail($"Inner must be positive, got {config.Inner}.");
        if (!(config.Dropout >= 0f && config.Dropout < 1f)) Fail($"Dropout must be in [0, 1), got {config.Dropout}.");
        if (!(config.DynamicsCoefficient >= 0f)) Fail($"DynamicsCoefficient must be non-negative, got {config.DynamicsCoefficient}.");
        if (!(config.LabelSmoothing >= 0f && config.LabelSmoothing <= 1f)) Fail($"LabelSmoothing must be in [0, 1], got {config.LabelSmoothing}.");
        if (config.ReturnToGo && !config.Dynamics) Fail("ReturnToGo needs Dynamics = true (the return head reads the query-action token).");
        if (config.Model == "dpt" && config.ActionCount == 0) Fail("ActionCount must be positive for 'dpt' (it predicts discrete optimal actions).");
        if (config.Model == "dpt" && config.NTransit < 2) Fail($"NTransit must be at least 2 for 'dpt' (it predicts from the transition tokens), got {config.NTransit}.");
        if (config.Model == "idt" && (config.SegmentLength <= 0 || config.LatentDim <= 0))
            Fail($"SegmentLength ({config.SegmentLength}) and LatentDim ({config.LatentDim}) must be positive for 'idt'.");
        if (config.Model == "idt" && config.NTransit % config.SegmentLength != 0)
            Fail($"NTransit ({config.NTransit}) must be a multiple of SegmentLength ({config.SegmentLength}) for 'idt' (whole segments per window).");
        if (config.Model == "idt" && config.ReturnToGo)
            Fail("ReturnToGo must be false for 'idt' (IDT conditions on the return-to-go instead of predicting it).");
    }
}

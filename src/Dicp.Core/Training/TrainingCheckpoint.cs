using System.Globalization;
using System.Text.Json;
using Dicp.IO;
using Dicp.Models;
using Dicp.Tensors;

namespace Dicp.Training;

/// <summary>
/// Everything a <see cref="Trainer"/> needs to continue a run exactly where it stopped: the model's parameters, the
/// AdamW moments and step count, the completed steps (which fix the schedule), the sampler's and the dropout
/// generator's states, the metric accumulators, and the configuration as JSON.
/// </summary>
/// <remarks>
/// One safetensors file, written atomically: tensors <c>model.{state-dict key}</c> and <c>optimizer.{i}.exp_avg</c>,
/// <c>optimizer.{i}.exp_avg_sq</c> (F32); everything else in the string metadata (<c>format</c>, <c>step</c>,
/// <c>optimizer_steps</c>, <c>sampler_rng</c>, <c>dropout_rng</c>, <c>pending</c>, <c>columns</c>,
/// <c>trainer_options</c>, <c>model_config</c>, <c>run_config</c>, <c>numerics</c>).
/// </remarks>
public sealed class TrainingCheckpoint
{
    /// <summary>The checkpoint's file name inside a run directory.</summary>
    public const string FileName = "checkpoint.safetensors";

    /// <summary>The format tag written to the metadata.</summary>
    public const string Format = "dicp-checkpoint-1";

    private const string ModelPrefix = "model.", OptimizerPrefix = "optimizer.";

    /// <summary>The JSON settings of configurations in checkpoints and run directories (snake_case keys).</summary>
    public static JsonSerializerOptions Json { get; } = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = false };

    /// <summary>Optimiser steps completed.</summary>
    public required int Step { get; init; }

    /// <summary>The optimiser's own step count (bias corrections).</summary>
    public required long OptimizerSteps { get; init; }

    /// <summary>The model's state dict (copies).</summary>
    public required IReadOnlyDictionary<string, Tensor> Model { get; init; }

    /// <summary>The optimiser's moments (see <see cref="Optim.Optimizer.GetState"/>).</summary>
    public required IReadOnlyDictionary<string, float[]> Optimizer { get; init; }

    /// <summary>The window sampler's generator state.</summary>
    public required ulong[] SamplerRng { get; init; }

    /// <summary>The dropout generator's state.</summary>
    public required ulong[] DropoutRng { get; init; }

    /// <summary>Training metrics summed since the last metric row, and how many steps they cover.</summary>
    public required MetricSums Pending { get; init; }

    /// <summary>The columns of <c>metrics.csv</c>, once fixed (null before the first row).</summary>
    public IReadOnlyList<string>? Columns { get; init; }

    /// <summary>The trainer options as JSON.</summary>
    public string? TrainerOptionsJson { get; init; }

    /// <summary>The model configuration as JSON (the form of <see cref="Models.ModelConfigJson"/>), when known.</summary>
    public string? ModelConfigJson { get; init; }

    /// <summary>The caller's run configuration as JSON (opaque), when given.</summary>
    public string? RunConfigJson { get; init; }

    /// <summary>
    /// The rounding of the kernels that trained up to this checkpoint (e.g. <c>numerics 2, avx2</c>: the engine's numerics
    /// level and the widest vector path of the host); null in checkpoints written before it was recorded, which were
    /// all at level 1. A run continues bit for bit only under the same value.
    /// </summary>
    public string? Numerics { get; init; }

    /// <summary>The path of the checkpoint of run directory <paramref name="runDirectory"/>.</summary>
    public static string PathIn(string runDirectory) => System.IO.Path.Combine(runDirectory, FileName);

    /// <summary>Writes the checkpoint atomically.</summary>
    public void Save(string path)
    {
        var w = new SafeTensorsWriter();
        foreach (var (k, t) in Model) w.Add(ModelPrefix + k, t);
        foreach (var (k, v) in Optimizer) w.Add(OptimizerPrefix + k, new Tensor(v, [v.Length]));
        w.SetMetadata("format", Format);
        w.SetMetadata("step", Step.ToString(CultureInfo.InvariantCulture));
        w.SetMetadata("optimizer_steps", OptimizerSteps.ToString(CultureInfo.InvariantCulture));
        w.SetMetadata("sampler_rng", string.Join(',', SamplerRng));
        w.SetMetadata("dropout_rng", string.Join(',', DropoutRng));
        w.SetMetadata("pending", JsonSerializer.Serialize(Pending, Json));
        if (Columns is not null) w.SetMetadata("columns", JsonSerializer.Serialize(Columns, Json));
        if (TrainerOptionsJson is not null) w.SetMetadata("trainer_options", TrainerOptionsJson);
        if (ModelConfigJson is not null) w.SetMetadata("model_config", ModelConfigJson);
        if (RunConfigJson is not null) w.SetMetadata("run_config", RunConfigJson);
        if (Numerics is not null) w.SetMetadata("numerics", Numerics);
        w.Save(path);
    }

    /// <summary>Reads and validates a checkpoint.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a Dicp checkpoint or a field is malformed (the message names it).</exception>
    public static TrainingCheckpoint Read(string path)
    {
        SafeTensorsFile f;
        try
        {
            f = SafeTensorsFile.Read(path);
        }
        catch (SafeTensorsFormatException e)
        {
            throw new InvalidDataException($"Checkpoint '{path}' is not a valid safetensors file: {e.Problem ?? e.Message}", e);
        }
        string Meta(string key) => f.Metadata.TryGetValue(key, out var v) ? v : throw new InvalidDataException($"Checkpoint '{path}': metadata '{key}' is missing.");
        if (Meta("format") != Format) throw new InvalidDataException($"Checkpoint '{path}': format '{Meta("format")}' is not '{Format}'.");
        T Parse<T>(string key, Func<string, T> parse)
        {
            try
            {
                return parse(Meta(key));
            }
            catch (Exception e) when (e is FormatException or OverflowException or JsonException)
            {
                throw new InvalidDataException($"Checkpoint '{path}': metadata '{key}' is malformed ({e.Message}).", e);
            }
        }
        static ulong[] Words(string s) => s.Split(',').Select(x => ulong.Parse(x, CultureInfo.InvariantCulture)).ToArray();
        var model = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var optimizer = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var name in f.Names)
        {
            if (name.StartsWith(ModelPrefix, StringComparison.Ordinal)) model[name[ModelPrefix.Length..]] = f.GetTensor(name);
            else if (name.StartsWith(OptimizerPrefix, StringComparison.Ordinal)) optimizer[name[OptimizerPrefix.Length..]] = f.GetTensor(name).Data;
            else throw new InvalidDataException($"Checkpoint '{path}': unexpected tensor '{name}'.");
        }
        f.Metadata.TryGetValue("trainer_options", out var options);
        f.Metadata.TryGetValue("model_config", out var config);
        f.Metadata.TryGetValue("run_config", out var run);
        f.Metadata.TryGetValue("numerics", out var numerics);
        return new TrainingCheckpoint
        {
            Step = Parse("step", s => int.Parse(s, CultureInfo.InvariantCulture)),
            OptimizerSteps = Parse("optimizer_steps", s => long.Parse(s, CultureInfo.InvariantCulture)),
            Model = model,
            Optimizer = optimizer,
            SamplerRng = Parse("sampler_rng", Words),
            DropoutRng = Parse("dropout_rng", Words),
            Pending = Parse("pending", s => JsonSerializer.Deserialize<MetricSums>(s, Json) ?? throw new JsonException("null")),
            Columns = f.Metadata.ContainsKey("columns") ? Parse("columns", s => JsonSerializer.Deserialize<string[]>(s, Json) ?? throw new JsonException("null")) : null,
            TrainerOptionsJson = options,
            ModelConfigJson = config,
            RunConfigJson = run,
            Numerics = numerics,
        };
    }

    /// <summary>The model configuration stored in the checkpoint, or null.</summary>
    /// <exception cref="InvalidDataException">The stored JSON is not a model configuration.</exception>
    public ModelConfig? ReadModelConfig() => ModelConfigJson is null ? null : ModelFile.ParseConfig(ModelConfigJson, "checkpoint");
}

/// <summary>Training metrics summed over the steps since the last metric row.</summary>
/// <param name="Count">The steps summed.</param>
/// <param name="Sums">Metric name → sum.</param>
public sealed record MetricSums(int Count, Dictionary<string, double> Sums)
{
    /// <summary>An empty accumulator.</summary>
    public static MetricSums Empty() => new(0, new Dictionary<string, double>(StringComparer.Ordinal));
}

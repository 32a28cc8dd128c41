using System.Text;
using System.Text.Json;
using Dicp.IO;

namespace Dicp.Evaluation;

/// <summary>The outcome of an in-context evaluation: the return of every task and episode, and their means.</summary>
public sealed class EvaluationResult
{
    private static readonly string[] Reserved =
        ["model", "planner", "planner_settings", "episodes", "seed", "tasks", "steps_per_task", "mean_return_per_episode", "returns",
         "success_rate_per_episode", "successes", "cumulative_success_rate_per_episode"];

    /// <summary>Wraps the measured returns (not copied).</summary>
    /// <param name="model">The model's name.</param>
    /// <param name="planner">The planner's name.</param>
    /// <param name="plannerSettings">The planner's settings.</param>
    /// <param name="returns">[tasks][episodes] returns.</param>
    /// <param name="successes">[tasks][episodes] success flags, or null.</param>
    /// <param name="stepsPerTask">The environment steps every task took.</param>
    /// <param name="options">The evaluation settings.</param>
    public EvaluationResult(string model, string planner, IReadOnlyDictionary<string, object> plannerSettings, float[][] returns,
        bool[][]? successes, long stepsPerTask, EvaluationOptions options)
    {
        ArgumentNullException.ThrowIfNull(returns);
        ArgumentNullException.ThrowIfNull(options);
        if (returns.Length == 0 || returns.Any(r => r.Length != options.Episodes))
            throw new ArgumentException($"Returns must be [tasks ≥ 1][{options.Episodes}].", nameof(returns));
        (Model, Planner, PlannerSettings, Returns, Successes, StepsPerTask, Options) = (model, planner, plannerSettings, returns, successes, stepsPerTask, options);
        MeanReturnPerEpisode = Enumerable.Range(0, options.Episodes).Select(k => returns.Average(r => (double)r[k])).ToArray();
        SuccessRatePerEpisode = successes is null ? null : Enumerable.Range(0, options.Episodes).Select(k => successes.Average(s => s[k] ? 1.0 : 0.0)).ToArray();
        CumulativeSuccessRatePerEpisode = successes is null ? null : CumulativeSuccessRate(successes);
    }

    /// <summary>
    /// [episodes] the reference's Meta-World success metric: the fraction of tasks solved in at least one episode up to
    /// and including episode k (a running maximum of each task's success flags over episodes, then the mean over tasks).
    /// Non-decreasing in k.
    /// </summary>
    /// <param name="successes">[tasks][episodes] per-episode success flags (all tasks the same number of episodes).</param>
    public static double[] CumulativeSuccessRate(bool[][] successes)
    {
        ArgumentNullException.ThrowIfNull(successes);
        if (successes.Length == 0) return [];
        var episodes = successes[0].Length;
        if (successes.Any(s => s.Length != episodes)) throw new ArgumentException("Every task needs the same number of episodes.", nameof(successes));
        var rate = new double[episodes];
        foreach (var s in successes)
        {
            var solved = false;
            for (var k = 0; k < episodes; k++)
            {
                solved |= s[k]; // running max over episodes
                if (solved) rate[k] += 1.0;
            }
        }
        for (var k = 0; k < episodes; k++) rate[k] /= successes.Length;
        return rate;
    }

    /// <summary>[episodes] the fraction of tasks solved in at least one of the episodes 0 … k (<see cref="CumulativeSuccessRate"/>), or null.</summary>
    public double[]? CumulativeSuccessRatePerEpisode { get; }

    /// <summary>The model's name.</summary>
    public string Model { get; }

    /// <summary>The planner's name.</summary>
    public string Planner { get; }

    /// <summary>The planner's settings.</summary>
    public IReadOnlyDictionary<string, object> PlannerSettings { get; }

    /// <summary>The evaluation settings.</summary>
    public EvaluationOptions Options { get; }

    /// <summary>[tasks][episodes] the undiscounted return of each episode.</summary>
    public float[][] Returns { get; }

    /// <summary>[tasks][episodes] whether each episode succeeded (success flag at any step), or null when not reported.</summary>
    public bool[][]? Successes { get; }

    /// <summary>[episodes] the return of each episode index averaged over tasks.</summary>
    public double[] MeanReturnPerEpisode { get; }

    /// <summary>[episodes] the fraction of tasks whose episode succeeded, or null.</summary>
    public double[]? SuccessRatePerEpisode { get; }

    /// <summary>The environment steps every task took.</summary>
    public long StepsPerTask { get; }

    /// <summary>
    /// The result as JSON: <c>model</c>, <c>planner</c>, <c>planner_settings</c>, <c>episodes</c>, <c>seed</c>,
    /// <c>tasks</c>, <c>steps_per_task</c>, <c>mean_return_per_episode</c> (array over episodes),
    /// <c>returns</c> (tasks × episodes), <c>success_rate_per_episode</c> (per episode: the fraction of tasks whose episode
    /// k succeeded), <c>cumulative_success_rate_per_episode</c> (the reference's metric: solved in any episode up to k) and
    /// <c>successes</c> when reported, then the
    /// caller's <paramref name="metadata"/> (environment, task indices, split, run…) as further top-level keys.
    /// </summary>
    /// <exception cref="ArgumentException">A metadata key repeats one of the result's own keys.</exception>
    public string ToJson(IReadOnlyDictionary<string, object?>? metadata = null)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("model", Model);
            w.WriteString("planner", Planner);
            w.WritePropertyName("planner_settings");
            JsonSerializer.Serialize(w, PlannerSettings);
            w.WriteNumber("episodes", Options.Episodes);
            w.WriteNumber("seed", Options.Seed);
            w.WriteNumber("tasks", Returns.Length);
            w.WriteNumber("steps_per_task", StepsPerTask);
            w.WritePropertyName("mean_return_per_episode");
            JsonSerializer.Serialize(w, MeanReturnPerEpisode);
            w.WritePropertyName("returns");
            JsonSerializer.Serialize(w, Returns);
            if (SuccessRatePerEpisode is not null)
            {
                w.WritePropertyName("success_rate_per_episode");
                JsonSerializer.Serialize(w, SuccessRatePerEpisode);
                w.WritePropertyName("cumulative_success_rate_per_episode");
                JsonSerializer.Serialize(w, CumulativeSuccessRatePerEpisode);
                w.WritePropertyName("successes");
                JsonSerializer.Serialize(w, Successes);
            }
            foreach (var (k, v) in metadata ?? new Dictionary<string, object?>())
            {
                if (Reserved.Contains(k)) throw new ArgumentException($"Metadata key '{k}' is one of the result's own keys.", nameof(metadata));
                w.WritePropertyName(k);
                JsonSerializer.Serialize(w, v, v?.GetType() ?? typeof(object));
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>Writes <see cref="ToJson"/> atomically to <paramref name="path"/> (conventionally <c>results.json</c>).</summary>
    public void Save(string path, IReadOnlyDictionary<string, object?>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        AtomicFile.WriteAllText(path, ToJson(metadata) + "\n");
    }
}

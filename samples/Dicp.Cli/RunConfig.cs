using System.Globalization;
using System.Reflection;
using System.Text.Json;
using Dicp.Models;
using Dicp.Planning;
using Dicp.Training;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Dicp.Cli;

/// <summary>A whole run configuration (<c>configs/*.yaml</c>): sections <c>model</c>, <c>data</c>, <c>training</c>, <c>evaluation</c>, <c>planner</c>.</summary>
internal sealed record RunConfig(ModelConfig Model, DataConfig Data, TrainerOptions Training, EvaluationConfig Evaluation, PlannerConfig Planner)
{
    /// <summary>The snake_case JSON of run directories (<c>run-config.json</c>).</summary>
    /// <remarks>The model section is written and read in the library's one model-configuration form (<see cref="ModelConfigJson"/>).</remarks>
    public static JsonSerializerOptions Json { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        Converters = { ModelConfigJson.Converter },
    };

    /// <summary>The file a run directory keeps its configuration in.</summary>
    public const string FileName = "run-config.json";

    private static readonly string[] Sections = ["model", "data", "training", "evaluation", "planner"];

    /// <summary>Loads and validates a YAML configuration.</summary>
    /// <exception cref="ConfigException">The file is not valid YAML, has an unknown key, or a value of the wrong type (the message names file, line and key).</exception>
    public static RunConfig Load(string path) => Load(path, null);

    /// <summary>Loads a YAML configuration with <c>SECTION.KEY=VALUE</c> overrides (<c>dicp train --set</c>) applied before validation.</summary>
    /// <exception cref="ConfigException">As <see cref="Load(string)"/>, or an override is not of the form SECTION.KEY=VALUE.</exception>
    public static RunConfig Load(string path, IReadOnlyList<string>? overrides)
    {
        if (Directory.Exists(path)) throw new ConfigException($"{path}: a directory, not a configuration file.");
        if (!File.Exists(path)) throw new ConfigException($"{path}: the configuration file does not exist.");
        return Parse(File.ReadAllText(path), path, overrides);
    }

    /// <summary>Parses YAML text (<paramref name="source"/> names it in errors).</summary>
    public static RunConfig Parse(string yaml, string source) => Parse(yaml, source, null);

    /// <summary>Parses YAML text with <c>SECTION.KEY=VALUE</c> overrides applied to its mapping (the same key checks and validation).</summary>
    public static RunConfig Parse(string yaml, string source, IReadOnlyList<string>? overrides)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            throw new ConfigException($"{source}:{e.Start.Line}: not valid YAML: {e.Message}", e);
        }
        if (stream.Documents.Count != 1 || stream.Documents[0].RootNode is not YamlMappingNode root)
            throw new ConfigException($"{source}: expected one YAML document with the sections {string.Join(", ", Sections)}.");
        var sections = new Dictionary<string, YamlMappingNode>(StringComparer.Ordinal);
        foreach (var (keyNode, value) in root.Children)
        {
            var key = ((YamlScalarNode)keyNode).Value ?? "";
            if (!Sections.Contains(key))
                throw new ConfigException($"{source}:{keyNode.Start.Line}: unknown section '{key}'; expected one of {string.Join(", ", Sections)}.");
            if (value is not YamlMappingNode map)
                throw new ConfigException($"{source}:{value.Start.Line}: section '{key}' must be a mapping of keys to values.");
            sections[key] = map;
        }
        foreach (var o in overrides ?? [])
        {
            var eq = o.IndexOf('=', StringComparison.Ordinal);
            var dot = eq < 0 ? -1 : o.IndexOf('.', 0, eq);
            if (dot <= 0 || eq <= dot + 1)
                throw new ConfigException($"--set '{o}': expected SECTION.KEY=VALUE, e.g. model.n_transit=200.");
            var (section, key, value) = (o[..dot], o[(dot + 1)..eq], o[(eq + 1)..]);
            if (!Sections.Contains(section))
                throw new ConfigException($"--set '{o}': unknown section '{section}'; expected one of {string.Join(", ", Sections)}.");
            if (!sections.TryGetValue(section, out var map)) sections[section] = map = new YamlMappingNode();
            map.Children[new YamlScalarNode(key)] = new YamlScalarNode(value);
        }
        var model = Bind<ModelConfig>(sections.GetValueOrDefault("model"), source, "model");
        var training = Bind<TrainerOptions>(sections.GetValueOrDefault("training"), source, "training");
        var config = new RunConfig(model, Bind<DataConfig>(sections.GetValueOrDefault("data"), source, "data"), training,
            Bind<EvaluationConfig>(sections.GetValueOrDefault("evaluation"), source, "evaluation"),
            Bind<PlannerConfig>(sections.GetValueOrDefault("planner"), source, "planner"));
        config.Validate(source);
        return config;
    }

    /// <summary>Checks values that have a valid range (the message names the key).</summary>
    public void Validate(string source)
    {
        try
        {
            Training.Validate();
        }
        catch (ArgumentException e)
        {
            throw new ConfigException($"{source}: training.{JsonNamingPolicy.SnakeCaseLower.ConvertName(e.ParamName ?? "")}: {e.Message}", e);
        }
        void Check(bool ok, string key, string problem)
        {
            if (!ok) throw new ConfigException($"{source}: {key}: {problem}");
        }
        Check(Model.Model is "ad" or "dpt" or "idt", "model.model", $"'{Model.Model}' is not one of ad, dpt, idt.");
        Check(Model.NTransit >= 2, "model.n_transit", $"must be at least 2, got {Model.NTransit}.");
        Check(Model.EmbeddingDim > 0 && Model.Heads > 0 && Model.EmbeddingDim % Model.Heads == 0, "model.embedding_dim",
            $"must be a positive multiple of heads ({Model.Heads}), got {Model.EmbeddingDim}.");
        Check(Model.Dropout is >= 0f and < 1f, "model.dropout", $"must be in [0, 1), got {Model.Dropout}.");
        Check(Data.Streams > 0, "data.streams", $"must be positive, got {Data.Streams}.");
        Check(Data.StepsPerStream >= Model.NTransit, "data.steps_per_stream", $"must be at least model.n_transit ({Model.NTransit}), got {Data.StepsPerStream}.");
        Check(Data.TrainRatio is > 0 and <= 1, "data.train_ratio", $"must be in (0, 1], got {Data.TrainRatio}.");
        Check(Evaluation.Episodes > 0, "evaluation.episodes", $"must be positive, got {Evaluation.Episodes}.");
        Check(Planners.Names.Contains(Planner.Name), "planner.name", $"'{Planner.Name}' is not one of {string.Join(", ", Planners.Names)}.");
        Check(Planner.Name == "none" || Model.Dynamics, "planner.name", $"planner '{Planner.Name}' needs a model with dynamics (model.dynamics: true).");
        foreach (var (key, value, least) in new (string, int?, int)[]
            { ("beam_k", Planner.BeamK, 1), ("beam_l", Planner.BeamL, 1), ("horizon", Planner.Horizon, 1), ("samples", Planner.Samples, 1),
              ("population", Planner.Population, 2), ("elites", Planner.Elites, 1), ("start_step", Planner.StartStep, 0),
              ("imagination_reserve", Planner.ImaginationReserve, 0) })
            Check(value is null || value >= least, "planner." + key, $"must be at least {least}, got {value}.");
        Check(Planner.PlanningStart is null || PlanningStartNames.TryParse(Planner.PlanningStart, out _), "planner.planning_start",
            $"'{Planner.PlanningStart}' is not one of {string.Join(", ", PlanningStartNames.All)}.");
        Check(Planner.ImaginationReserve is null or 0 || Planner.ImaginationReserve < Model.NTransit - 1, "planner.imagination_reserve",
            $"must leave real context: below the window's {Model.NTransit - 1} transitions (model.n_transit − 1), got {Planner.ImaginationReserve}.");
        Check(Planner.ImaginationReserve is null or 0 || Model.Model != "idt" || !Model.SlidingImagination, "planner.imagination_reserve",
            $"is not supported with model.sliding_imagination: true (got {Planner.ImaginationReserve}); use 0.");
        var horizon = Planner.Resolved().Horizon;
        Check(Model.Model != "idt" || Model.SlidingImagination || Planner.Name is not ("beam" or "cem") || horizon <= Model.SegmentLength,
            "planner.horizon", $"must be at most model.segment_length ({Model.SegmentLength}) for IDT, whose plans imagine inside the segment " +
            $"(the reference imagines c steps); got {horizon} (or set model.sliding_imagination: true).");
    }

    /// <summary>Builds a record from a mapping through its primary constructor: snake_case keys, defaults for absent keys.</summary>
    private static T Bind<T>(YamlMappingNode? map, string source, string section)
    {
        var ctor = typeof(T).GetConstructors().OrderByDescending(c => c.GetParameters().Length).First();
        var parameters = ctor.GetParameters();
        var byKey = parameters.ToDictionary(p => JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name!), StringComparer.Ordinal);
        var args = parameters.Select(p => p.HasDefaultValue ? p.DefaultValue : null).ToArray();
        foreach (var (keyNode, valueNode) in map?.Children ?? Enumerable.Empty<KeyValuePair<YamlNode, YamlNode>>())
        {
            var key = ((YamlScalarNode)keyNode).Value ?? "";
            if (!byKey.TryGetValue(key, out var p))
                throw new ConfigException($"{source}:{keyNode.Start.Line}: unknown key '{section}.{key}'; expected one of {string.Join(", ", byKey.Keys)}.");
            if (valueNode is not YamlScalarNode scalar)
                throw new ConfigException($"{source}:{valueNode.Start.Line}: '{section}.{key}' must be a single value.");
            args[Array.IndexOf(parameters, p)] = Convert(scalar, p.ParameterType, $"{source}:{scalar.Start.Line}: '{section}.{key}'");
        }
        return (T)ctor.Invoke(args);
    }

    private static object? Convert(YamlScalarNode node, Type type, string where)
    {
        var text = node.Value ?? "";
        var isNull = node.Style == ScalarStyle.Plain && text is "" or "~" or "null" or "Null" or "NULL";
        var underlying = Nullable.GetUnderlyingType(type);
        if (isNull)
        {
            if (underlying is not null || !type.IsValueType) return null;
            throw new ConfigException($"{where} needs a value of type {Describe(type)}, got null.");
        }
        var t = underlying ?? type;
        var inv = CultureInfo.InvariantCulture;
        object? value = t switch
        {
            _ when t == typeof(string) => text,
            _ when t == typeof(int) => int.TryParse(text, NumberStyles.Integer, inv, out var i) ? i : TryIntegral(text),
            _ when t == typeof(long) => long.TryParse(text, NumberStyles.Integer, inv, out var l) ? l : null,
            _ when t == typeof(float) => float.TryParse(text, NumberStyles.Float, inv, out var f) && float.IsFinite(f) ? f : null,
            _ when t == typeof(double) => double.TryParse(text, NumberStyles.Float, inv, out var d) && double.IsFinite(d) ? d : null,
            _ when t == typeof(bool) => text switch { "true" or "True" or "TRUE" => true, "false" or "False" or "FALSE" => false, _ => null },
            _ => throw new ConfigException($"{where}: unsupported type {t.Name}."),
        };
        return value ?? throw new ConfigException($"{where}: '{text}' is not {Describe(type)}.");
    }

    /// <summary>Accepts integral values written like <c>5e4</c> or <c>50000.0</c>.</summary>
    private static object? TryIntegral(string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d == Math.Floor(d) && d is >= int.MinValue and <= int.MaxValue ? (int)d : null;

    private static string Describe(Type type)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        var name = t == typeof(int) || t == typeof(long) ? "an integer" : t == typeof(float) || t == typeof(double) ? "a number" : t == typeof(bool) ? "true or false" : "a string";
        return Nullable.GetUnderlyingType(type) is null ? name : name + " or null";
    }

    /// <summary>The configuration as snake_case JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads <see cref="FileName"/> of a run directory.</summary>
    /// <exception cref="ConfigException">It is missing or invalid.</exception>
    public static RunConfig ReadRun(string runDirectory)
    {
        var path = Path.Combine(runDirectory, FileName);
        if (!File.Exists(path)) throw new ConfigException($"{path}: missing; '{runDirectory}' is not a run directory written by 'dicp train'.");
        try
        {
            return JsonSerializer.Deserialize<RunConfig>(File.ReadAllText(path), Json) ?? throw new JsonException("null");
        }
        catch (JsonException e)
        {
            throw new ConfigException($"{path}: invalid run configuration: {e.Message}", e);
        }
    }
}

/// <summary>A configuration file is missing, malformed or holds an invalid value.</summary>
internal sealed class ConfigException(string message, Exception? inner = null) : Exception(message, inner);

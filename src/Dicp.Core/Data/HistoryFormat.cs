using System.Globalization;

namespace Dicp.Data;

/// <summary>Names and version of the on-disk history format.</summary>
/// <remarks>
/// One safetensors file per task, arrays shaped <c>[streams, steps, …]</c>: <c>states</c> F32 [S, T, obs],
/// <c>actions</c> F32 [S, T, act] (a discrete action is its index), <c>rewards</c> F32 [S, T], <c>next_states</c> F32
/// [S, T, obs] (the true next observation, also at episode ends), <c>dones</c> U8 [S, T] and, where the environment
/// knows it, <c>optimal_actions</c> I32 [S, T] (the optimal action in <c>states</c>). The header metadata holds the
/// <see cref="TaskHistoryInfo"/>; a <c>manifest.json</c> beside the files describes the whole collection.
/// </remarks>
public static class HistoryFormat
{
    /// <summary>The current format version, written to every file and manifest.</summary>
    public const int Version = 1;

    /// <summary>The manifest's file name.</summary>
    public const string ManifestFileName = "manifest.json";

    /// <summary>Array names.</summary>
    public const string States = "states", Actions = "actions", Rewards = "rewards", NextStates = "next_states", Dones = "dones", OptimalActions = "optimal_actions";

    /// <summary>The file name of task <paramref name="taskIndex"/>: <c>task-00038.safetensors</c>.</summary>
    public static string TaskFileName(int taskIndex) => $"task-{taskIndex.ToString("D5", CultureInfo.InvariantCulture)}.safetensors";
}

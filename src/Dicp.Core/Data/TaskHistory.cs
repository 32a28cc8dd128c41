using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Dicp.IO;
using Dicp.Tensors;

namespace Dicp.Data;

/// <summary>The learning history of one task: every transition of every stream, in order (see <see cref="HistoryFormat"/>).</summary>
/// <remarks>Arrays are row-major <c>[streams, steps, …]</c>: element (s, t) of an array with <c>k</c> floats per step starts at <c>(s·T + t)·k</c>.</remarks>
public sealed class TaskHistory
{
    /// <summary>Wraps arrays (not copied) after checking their lengths.</summary>
    /// <exception cref="ArgumentException">An array's length does not match the sizes.</exception>
    public TaskHistory(TaskHistoryInfo info, int observationSize, int actionSize, float[] states, float[] actions, float[] rewards,
        float[] nextStates, byte[] dones, int[]? optimalActions)
    {
        ArgumentNullException.ThrowIfNull(info);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(observationSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(actionSize);
        var st = checked(info.Streams * info.StepsPerStream);
        Check(states, st * observationSize, nameof(states));
        Check(actions, st * actionSize, nameof(actions));
        Check(rewards, st, nameof(rewards));
        Check(nextStates, st * observationSize, nameof(nextStates));
        Check(dones, st, nameof(dones));
        if (optimalActions is not null) Check(optimalActions, st, nameof(optimalActions));
        (Info, ObservationSize, ActionSize) = (info, observationSize, actionSize);
        (States, Actions, Rewards, NextStates, Dones, OptimalActions) = (states, actions, rewards, nextStates, dones, optimalActions);
    }

    private static void Check<T>(T[] a, int expected, string name)
    {
        ArgumentNullException.ThrowIfNull(a, name);
        if (a.Length != expected) throw new ArgumentException($"History array '{name}' must hold {expected} values, got {a.Length}.", name);
    }

    /// <summary>The description of the task and of how the history was made.</summary>
    public TaskHistoryInfo Info { get; }

    /// <summary>Floats per observation.</summary>
    public int ObservationSize { get; }

    /// <summary>Floats per action.</summary>
    public int ActionSize { get; }

    /// <summary>[S, T, obs] the observations the actions were chosen in.</summary>
    public float[] States { get; }

    /// <summary>[S, T, act] the actions sent to the environment.</summary>
    public float[] Actions { get; }

    /// <summary>[S, T] the rewards.</summary>
    public float[] Rewards { get; }

    /// <summary>[S, T, obs] the true next observations (terminal ones at episode ends).</summary>
    public float[] NextStates { get; }

    /// <summary>[S, T] 1 where the episode ended on that step.</summary>
    public byte[] Dones { get; }

    /// <summary>[S, T] the optimal action in <see cref="States"/>, or null when the environment does not know it.</summary>
    public int[]? OptimalActions { get; }

    /// <summary>Writes the history atomically as a safetensors file (see <see cref="HistoryFormat"/>).</summary>
    public void Save(string path)
    {
        int s = Info.Streams, t = Info.StepsPerStream;
        var w = new SafeTensorsWriter();
        w.Add(HistoryFormat.States, new Tensor(States, [s, t, ObservationSize]));
        w.Add(HistoryFormat.Actions, new Tensor(Actions, [s, t, ActionSize]));
        w.Add(HistoryFormat.Rewards, new Tensor(Rewards, [s, t]));
        w.Add(HistoryFormat.NextStates, new Tensor(NextStates, [s, t, ObservationSize]));
        w.AddBytes(HistoryFormat.Dones, SafeTensorDType.U8, Dones, [s, t]);
        if (OptimalActions is not null) w.AddInt32(HistoryFormat.OptimalActions, OptimalActions, [s, t]);
        w.SetMetadata("format_version", HistoryFormat.Version.ToString(CultureInfo.InvariantCulture));
        w.SetMetadata("environment", Info.Environment);
        w.SetMetadata("task_index", Info.TaskIndex.ToString(CultureInfo.InvariantCulture));
        w.SetMetadata("task", JsonSerializer.Serialize(Info.Task));
        w.SetMetadata("algorithm", Info.Algorithm);
        w.SetMetadata("hyperparameters", Info.HyperparametersJson);
        w.SetMetadata("seed", Info.Seed.ToString(CultureInfo.InvariantCulture));
        w.SetMetadata("streams", s.ToString(CultureInfo.InvariantCulture));
        w.SetMetadata("steps_per_stream", t.ToString(CultureInfo.InvariantCulture));
        w.Save(path);
    }

    /// <summary>Reads and validates a history file.</summary>
    /// <exception cref="HistoryFormatException">The file is not valid safetensors, has another format version, or a field is missing or has the wrong dtype or shape; the message names the file and the field.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static TaskHistory Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        SafeTensorsFile f;
        try
        {
            f = SafeTensorsFile.Read(path);
        }
        catch (SafeTensorsFormatException e)
        {
            throw new HistoryFormatException(path, null, $"not a valid safetensors file: {e.Problem ?? e.Message}", e);
        }
        var layout = HistoryValidation.Validate(path, f.Metadata, name => f.Contains(name) ? f.GetInfo(name) : null);
        var dones = f.GetBytes(HistoryFormat.Dones);
        HistoryValidation.CheckDones(path, dones);
        return new TaskHistory(layout.Info, layout.ObservationSize, layout.ActionSize, f.GetTensor(HistoryFormat.States).Data,
            f.GetTensor(HistoryFormat.Actions).Data, f.GetTensor(HistoryFormat.Rewards).Data, f.GetTensor(HistoryFormat.NextStates).Data, dones,
            layout.HasOptimalActions ? f.GetInt32(HistoryFormat.OptimalActions) : null);
    }

    /// <summary>Element (stream, step) of <see cref="States"/>.</summary>
    public ReadOnlySpan<float> State(int stream, int step) => States.AsSpan((stream * Info.StepsPerStream + step) * ObservationSize, ObservationSize);

    /// <summary>Whether the two histories hold the same description and identical arrays (bit for bit).</summary>
    public bool ContentEquals(TaskHistory other)
    {
        ArgumentNullException.ThrowIfNull(other);
        static bool Same(float[] a, float[] b) => MemoryMarshal.AsBytes(a.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(b.AsSpan()));
        return Info.Matches(other.Info) && ObservationSize == other.ObservationSize && ActionSize == other.ActionSize
            && Same(States, other.States) && Same(Actions, other.Actions) && Same(Rewards, other.Rewards) && Same(NextStates, other.NextStates)
            && Dones.AsSpan().SequenceEqual(other.Dones)
            && (OptimalActions is null ? other.OptimalActions is null : other.OptimalActions is not null && OptimalActions.AsSpan().SequenceEqual(other.OptimalActions));
    }
}

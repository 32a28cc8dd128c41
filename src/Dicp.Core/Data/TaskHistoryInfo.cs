namespace Dicp.Data;

/// <summary>What a task's history file says about itself (its safetensors metadata).</summary>
/// <param name="Environment">The task family, e.g. <c>darkroom</c>.</param>
/// <param name="TaskIndex">The task's index in the family's canonical order.</param>
/// <param name="Task">The task's parameters (<c>ITaskSet.Describe</c>), e.g. the goal cell.</param>
/// <param name="Algorithm">The source algorithm's name, e.g. <c>ppo</c>.</param>
/// <param name="HyperparametersJson">The source algorithm's hyperparameters as a JSON object.</param>
/// <param name="Seed">The seed of the learner (base seed + task index).</param>
/// <param name="Streams">The number of streams S.</param>
/// <param name="StepsPerStream">The number of steps T per stream.</param>
public sealed record TaskHistoryInfo(string Environment, int TaskIndex, int[] Task, string Algorithm, string HyperparametersJson, int Seed, int Streams, int StepsPerStream)
{
    /// <summary>Whether two descriptions agree (the task array compared by value).</summary>
    public bool Matches(TaskHistoryInfo other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return Environment == other.Environment && TaskIndex == other.TaskIndex && Task.AsSpan().SequenceEqual(other.Task)
            && Algorithm == other.Algorithm && HyperparametersJson == other.HyperparametersJson && Seed == other.Seed
            && Streams == other.Streams && StepsPerStream == other.StepsPerStream;
    }
}

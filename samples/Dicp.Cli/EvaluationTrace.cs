using System.Globalization;
using System.Text;
using Dicp.Environments;
using Dicp.Evaluation;
using Dicp.IO;
using Dicp.Models;
using Dicp.Planning;

namespace Dicp.Cli;

/// <summary>
/// <c>dicp evaluate --trace FILE</c>: the evaluation with every step written to a CSV file, one row per environment
/// step of the recorded episodes, in the order they happened (step by step, task by task):
/// <c>task,episode,step,obs_0…,action_0…,reward,next_obs_0…,done,planned,planned_actions,predicted_rewards</c>.
/// <c>task</c> is the task's index in the environment's task set (as results.json's <c>task_indices</c>),
/// <c>episode</c> and <c>step</c> count from 0; the last two columns hold the best imagined path's actions and
/// predicted rewards separated by spaces where the planner planned, and are empty where the policy acted alone.
/// </summary>
/// <remarks>The file is written to a temporary name beside the target and renamed when the evaluation has finished, so
/// an interrupted evaluation leaves no partial trace.</remarks>
internal static class EvaluationTrace
{
    /// <summary>Runs <see cref="InContextEvaluator.Run"/> and writes its trace to <paramref name="path"/>.</summary>
    public static EvaluationResult Run(string path, IReadOnlyList<int> taskIndices, IInContextModel model, IReadOnlyList<IEnvironment> environments,
        IPlanner planner, EvaluationOptions options, CancellationToken ct)
    {
        EvaluationResult? result = null;
        AtomicFile.Write(path, stream =>
        {
            using var writer = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true) { NewLine = "\n" };
            writer.WriteLine(Header(environments[0].ObservationSpace.Size, environments[0].ActionSpace.Size));
            var line = new StringBuilder();
            result = InContextEvaluator.Run(model, environments, planner, options, null, ct, step =>
            {
                line.Clear();
                line.Append(taskIndices[step.Environment]).Append(',').Append(step.Episode).Append(',').Append(step.Step);
                foreach (var x in step.Observation) line.Append(',').Append(Format(x));
                foreach (var x in step.Action) line.Append(',').Append(Format(x));
                line.Append(',').Append(Format(step.Reward));
                foreach (var x in step.NextObservation) line.Append(',').Append(Format(x));
                line.Append(',').Append(step.Done ? 1 : 0).Append(',').Append(step.Planned ? 1 : 0).Append(',');
                line.AppendJoin(' ', step.PlannedActions.Select(Format)).Append(',');
                line.AppendJoin(' ', step.PredictedRewards.Select(Format));
                writer.WriteLine(line);
            });
            writer.Flush();
        });
        return result!;
    }

    /// <summary>The CSV header for observations of <paramref name="o"/> floats and actions of <paramref name="a"/>.</summary>
    internal static string Header(int o, int a) =>
        string.Join(',', ["task", "episode", "step", .. Enumerable.Range(0, o).Select(i => $"obs_{i}"), .. Enumerable.Range(0, a).Select(i => $"action_{i}"),
            "reward", .. Enumerable.Range(0, o).Select(i => $"next_obs_{i}"), "done", "planned", "planned_actions", "predicted_rewards"]);

    /// <summary>Shortest round-trip text of a float, invariant culture.</summary>
    private static string Format(float x) => x.ToString(CultureInfo.InvariantCulture);
}

namespace Dicp.Evaluation;

/// <summary>
/// One environment step of an in-context evaluation, for inspection (<see cref="InContextEvaluator.Run"/>'s step
/// observer): what the task's environment showed, what the agent did and got, and, where a planner planned, the best
/// imagined path it acted on.
/// </summary>
/// <param name="Environment">The environment's position in the evaluation's list (0-based).</param>
/// <param name="Episode">The episode of that environment (0-based; the context holds every earlier one).</param>
/// <param name="Step">The step within the episode (0-based).</param>
/// <param name="Observation">The observation the agent acted on (the environment's floats).</param>
/// <param name="Action">The action executed (one float holding the index for a discrete action).</param>
/// <param name="Reward">The reward received.</param>
/// <param name="NextObservation">The true next observation (the terminal one at an episode's end).</param>
/// <param name="Done">Whether the episode ended with this step.</param>
/// <param name="Planned">Whether a planner searched for this action (false where the policy acted alone, e.g. before
/// the context window is full).</param>
/// <param name="PlannedActions">Where planned: the actions of the best imagined path, the executed one first (A floats
/// per imagined step); empty otherwise.</param>
/// <param name="PredictedRewards">Where planned: the world model's predicted reward at each step of that path (the
/// planner ranked paths by their sum); empty otherwise.</param>
public sealed record EvaluationStep(int Environment, int Episode, int Step, float[] Observation, float[] Action, float Reward,
    float[] NextObservation, bool Done, bool Planned, float[] PlannedActions, float[] PredictedRewards);

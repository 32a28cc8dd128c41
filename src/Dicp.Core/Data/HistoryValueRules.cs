using Dicp.Environments;
using Dicp.Models;

namespace Dicp.Data;

/// <summary>
/// What the values of a history collection must satisfy, checked over every step of every stream of every task when a
/// <see cref="HistoryDataset"/> is opened (see <see cref="HistoryDataset.Open(string, HistorySplit, int?, int?, int?, HistoryValueRules?)"/>).
/// </summary>
/// <remarks>
/// Every check names the file, the array, the position (stream, step and component) and the value when it fails.
/// <list type="bullet">
/// <item><see cref="Finite"/>: no NaN or infinity in <c>states</c>, <c>actions</c>, <c>rewards</c> and <c>next_states</c>.</item>
/// <item><see cref="ObservationSpace"/>: every <c>states</c> and <c>next_states</c> row is a member of the space (inside a box's bounds,
/// an integral index of a discrete space).</item>
/// <item><see cref="GridSide"/>: every observation is a cell <c>(x, y)</c> of the <c>side × side</c> grid a grid model embeds
/// (integral coordinates in <c>[0, side)</c>).</item>
/// <item><see cref="ActionSpace"/>: every <c>actions</c> row is a member of the space; for a discrete space, every
/// <c>optimal_actions</c> entry is an index in <c>[0, N)</c>.</item>
/// <item><see cref="RewardClasses"/>: every reward is a class <c>0 … C−1</c> of a categorical reward head.</item>
/// </list>
/// Done flags are always checked to be 0 or 1, and the metadata of every file against the manifest.
/// </remarks>
/// <param name="Finite">Reject NaN and infinities (true). Setting it false with nothing else skips the value pass entirely.</param>
/// <param name="ObservationSpace">The environment's observation space, or null not to check observations against a space.</param>
/// <param name="ActionSpace">The environment's action space, or null.</param>
/// <param name="GridSide">The side of the grid of a grid model (9 for 81 state classes), or 0 for no grid check.</param>
/// <param name="RewardClasses">The classes of a categorical reward head (2 for the grid worlds), or 0 for no class check.</param>
public sealed record HistoryValueRules(bool Finite = true, Space? ObservationSpace = null, Space? ActionSpace = null, int GridSide = 0, int RewardClasses = 0)
{
    /// <summary>Only the finiteness check: what <see cref="HistoryDataset.Open(string, HistorySplit, int?, int?, int?, HistoryValueRules?)"/> does by default.</summary>
    public static HistoryValueRules FiniteOnly { get; } = new();

    /// <summary>No value pass at all (metadata and done flags are still checked).</summary>
    public static HistoryValueRules None { get; } = new(Finite: false);

    /// <summary>Whether any value is checked.</summary>
    public bool ChecksValues => Finite || ObservationSpace is not null || ActionSpace is not null || GridSide > 0 || RewardClasses > 0;

    /// <summary>
    /// The rules a model with <paramref name="config"/> needs of its training data: finite values, observations on its grid
    /// (<see cref="ModelConfig.StateClasses"/> &gt; 0), actions in <c>[0, ActionCount)</c> (discrete models) and rewards
    /// in its reward classes where a categorical reward head or input uses them (<see cref="ModelConfig.RewardClasses"/>
    /// &gt; 0 with <see cref="ModelConfig.Dynamics"/>, or IDT).
    /// </summary>
    /// <param name="config">The model's configuration.</param>
    /// <param name="environment">An environment of the family, whose observation and action spaces are checked too (null: the model's alone).</param>
    public static HistoryValueRules For(ModelConfig config, IEnvironment? environment = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        var side = config.StateClasses > 0 ? (int)Math.Round(Math.Sqrt(config.StateClasses)) : 0;
        var actions = environment?.ActionSpace ?? (config.ActionCount > 0 ? new DiscreteSpace(config.ActionCount) : null);
        // Rewards are classes only where a categorical reward head or input uses them: DICP's dynamics heads and IDT.
        var rewardClasses = config.RewardClasses > 0 && (config.Dynamics || config.Model == "idt") ? config.RewardClasses : 0;
        return new HistoryValueRules(true, environment?.ObservationSpace, actions, side, rewardClasses);
    }

    /// <summary>The rules of an environment's spaces alone (finite values, observations and actions in its spaces).</summary>
    public static HistoryValueRules For(IEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        return new HistoryValueRules(true, environment.ObservationSpace, environment.ActionSpace);
    }
}

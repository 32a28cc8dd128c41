using System.Globalization;
using Dicp.Environments;

namespace Dicp.Data;

/// <summary>The value checks of <see cref="HistoryValueRules"/> over one stream's arrays, failing with the file, field, position and value.</summary>
internal static class HistoryValueValidation
{
    /// <summary>Checks <paramref name="rows"/> (steps × <paramref name="width"/> floats of one stream) as observations or actions.</summary>
    /// <param name="path">The file, for messages.</param>
    /// <param name="field">The array's name.</param>
    /// <param name="rows">The stream's rows, step-major.</param>
    /// <param name="width">Floats per row.</param>
    /// <param name="stream">The stream, for messages.</param>
    /// <param name="finite">Reject NaN and infinities.</param>
    /// <param name="space">The space each row must belong to, or null.</param>
    /// <param name="gridSide">Each component must be an integer in [0, gridSide) (0: no check).</param>
    public static void CheckRows(string path, string field, ReadOnlySpan<float> rows, int width, int stream, bool finite, Space? space, int gridSide)
    {
        var box = space as BoxSpace;
        var discrete = space as DiscreteSpace;
        if (box is not null && box.Size != width)
            throw new HistoryFormatException(path, field, $"has {width} values per step, but the environment's space {box} has {box.Size}.");
        if (discrete is not null && width != 1)
            throw new HistoryFormatException(path, field, $"has {width} values per step, but the environment's space {discrete} has 1.");
        ReadOnlySpan<float> low = box is null ? default : box.Low, high = box is null ? default : box.High;
        float n = discrete?.N ?? 0, side = gridSide;
        for (var row = 0; row < rows.Length; row += width)
            for (var d = 0; d < width; d++)
            {
                var i = row + d;
                var v = rows[i];
                if (finite && !float.IsFinite(v)) Fail(path, field, stream, i, width, v, "is not finite");
                if (gridSide > 0 && !(v >= 0f && v < side && v == MathF.Floor(v)))
                    Fail(path, field, stream, i, width, v, Invariant($"is not a cell coordinate of the {gridSide} × {gridSide} grid (an integer in [0, {gridSide}))"));
                if (box is not null && !(v >= low[d] && v <= high[d]))
                    Fail(path, field, stream, i, width, v, Invariant($"is outside the environment's bounds [{low[d]}, {high[d]}]"));
                if (discrete is not null && !(v >= 0f && v < n && v == MathF.Floor(v)))
                    Fail(path, field, stream, i, width, v, Invariant($"is not an action of {discrete} (an integer in [0, {discrete.N}))"));
            }
    }

    /// <summary>Checks one stream's rewards: finite and, when <paramref name="classes"/> &gt; 0, a class in [0, classes).</summary>
    public static void CheckRewards(string path, ReadOnlySpan<float> rewards, int stream, bool finite, int classes)
    {
        for (var i = 0; i < rewards.Length; i++)
        {
            var v = rewards[i];
            if (finite && !float.IsFinite(v)) Fail(path, HistoryFormat.Rewards, stream, i, 1, v, "is not finite");
            if (classes > 0)
            {
                var c = MathF.Round(v);
                if (!(MathF.Abs(v - c) < 1e-6f && c >= 0f && c < classes))
                    Fail(path, HistoryFormat.Rewards, stream, i, 1, v, Invariant($"is not a reward class in [0, {classes}) of a categorical reward head"));
            }
        }
    }

    /// <summary>Checks one stream's optimal actions against a discrete action space of <paramref name="count"/> actions.</summary>
    public static void CheckOptimalActions(string path, ReadOnlySpan<int> actions, int stream, int count)
    {
        for (var i = 0; i < actions.Length; i++)
            if ((uint)actions[i] >= (uint)count)
                throw new HistoryFormatException(path, HistoryFormat.OptimalActions,
                    Invariant($"value {actions[i]} at stream {stream}, step {i} is not an action in [0, {count})."));
    }

    private static void Fail(string path, string field, int stream, int i, int width, float v, string problem)
    {
        var where = width == 1 ? Invariant($"stream {stream}, step {i}") : Invariant($"stream {stream}, step {i / width}, component {i % width}");
        throw new HistoryFormatException(path, field, Invariant($"value {v} at {where} {problem}."));
    }

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}

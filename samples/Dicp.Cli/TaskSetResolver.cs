using Dicp.Environments;

namespace Dicp.Cli;

/// <summary>Maps the CLI's environment names to task sets.</summary>
internal static class TaskSetResolver
{
    public static readonly string[] Names = ["darkroom", "darkroom-permuted", "dark-key-to-door", "point-robot"];

    public static ITaskSet Resolve(string name) => name switch
    {
        "darkroom" => new DarkroomTasks(),
        "darkroom-permuted" => new DarkroomPermutedTasks(),
        "dark-key-to-door" => new KeyToDoorTasks(),
        "point-robot" => new PointRobotTasks(),
        _ => throw new ArgumentException($"Unknown environment '{name}'; expected one of {string.Join(", ", Names)}."),
    };

    /// <summary>Parses "0-80", "3,5,7-9" into indices.</summary>
    public static int[] ParseRanges(string spec)
    {
        var result = new List<int>();
        foreach (var part in spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var dash = part.IndexOf('-', 1);
            if (dash < 0) result.Add(int.Parse(part, System.Globalization.CultureInfo.InvariantCulture));
            else
            {
                int a = int.Parse(part[..dash], System.Globalization.CultureInfo.InvariantCulture), b = int.Parse(part[(dash + 1)..], System.Globalization.CultureInfo.InvariantCulture);
                if (b < a) throw new ArgumentException($"Empty task range '{part}'.");
                for (var i = a; i <= b; i++) result.Add(i);
            }
        }
        return [.. result];
    }
}

namespace Dicp.Data;

/// <summary>
/// IDT's view of a learning-history stream: its episodes sorted by initial return (ascending, ties in stream order)
/// and each step's return-to-go relabelled so that every episode starts at the stream's best return.
/// </summary>
/// <remarks>
/// Episodes end at steps whose done flag is set; steps after the last done form a final (truncated) episode. With
/// <c>G_t</c> the undiscounted return from step t to its episode's end and <c>G_e</c> the initial return of episode e,
/// the relabelled return-to-go is <c>G_t + (max_e G_e − G_e)</c>.
/// </remarks>
public static class ReturnRelabelling
{
    /// <summary>Reorders one stream's episodes and computes the relabelled returns-to-go.</summary>
    /// <param name="rewards">(T) the stream's rewards in time order.</param>
    /// <param name="dones">(T) its done flags.</param>
    /// <param name="order">Receives (T): position t' of the reordered stream holds original step <c>order[t']</c>.</param>
    /// <param name="returnsToGo">Receives (T): the relabelled return-to-go at each position of the reordered stream.</param>
    /// <exception cref="ArgumentException">The spans' lengths differ.</exception>
    public static void Relabel(ReadOnlySpan<float> rewards, ReadOnlySpan<bool> dones, Span<int> order, Span<float> returnsToGo)
    {
        var t = rewards.Length;
        if (dones.Length != t || order.Length != t || returnsToGo.Length != t)
            throw new ArgumentException($"ReturnRelabelling: rewards ({t}), dones ({dones.Length}), order ({order.Length}) and returnsToGo ({returnsToGo.Length}) must have the same length.");
        var episodes = new List<(int Start, int Length, double Return)>();
        var start = 0;
        double sum = 0;
        for (var i = 0; i < t; i++)
        {
            sum += rewards[i];
            if (!dones[i] && i != t - 1) continue;
            episodes.Add((start, i + 1 - start, sum));
            (start, sum) = (i + 1, 0);
        }
        if (episodes.Count == 0) return;
        var best = episodes.Max(e => e.Return);
        var p = 0;
        foreach (var (s, length, ret) in episodes.OrderBy(e => e.Return)) // stable: ties keep stream order
        {
            var shift = best - ret;
            double togo = ret;
            for (var i = 0; i < length; i++)
            {
                order[p] = s + i;
                returnsToGo[p] = (float)(togo + shift);
                togo -= rewards[s + i];
                p++;
            }
        }
    }
}

namespace Dicp.Rl;

/// <summary>The completed episodes of a <see cref="LockstepRunner"/> run.</summary>
/// <param name="EpisodeReturns">Per stream, the undiscounted return of each completed episode in order.</param>
public sealed record RunSummary(IReadOnlyList<float[]> EpisodeReturns)
{
    /// <summary>The mean over streams of each stream's mean return over its last <paramref name="episodes"/> completed episodes (streams with none are skipped; NaN if none has any).</summary>
    public double MeanReturnOfLastEpisodes(int episodes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(episodes);
        double sum = 0;
        var count = 0;
        foreach (var r in EpisodeReturns)
        {
            if (r.Length == 0) continue;
            var k = Math.Min(episodes, r.Length);
            double s = 0;
            for (var i = r.Length - k; i < r.Length; i++) s += r[i];
            sum += s / k;
            count++;
        }
        return count == 0 ? double.NaN : sum / count;
    }
}

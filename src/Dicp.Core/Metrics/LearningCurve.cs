using MathNet.Numerics.Distributions;
using MathNet.Numerics.Statistics;

namespace Dicp.Metrics;

/// <summary>One learning curve: a mean per x with a confidence band.</summary>
/// <param name="Label">The legend entry.</param>
/// <param name="X">The x coordinates (episodes or environment steps), increasing.</param>
/// <param name="Mean">The mean at each x.</param>
/// <param name="Lower">The lower end of the confidence band at each x.</param>
/// <param name="Upper">The upper end of the confidence band at each x.</param>
public sealed record LearningCurve(string Label, double[] X, double[] Mean, double[] Lower, double[] Upper)
{
    /// <summary>
    /// The curve of mean return per episode index over tasks, with a Student-t confidence interval of the mean.
    /// </summary>
    /// <remarks>
    /// For episode <c>j</c> with returns <c>r_1 … r_n</c> over <c>n</c> tasks: mean <c>m = Σ r_i / n</c>, band
    /// <c>m ± t_{(1+c)/2, n−1} · s / √n</c> with <c>s</c> the sample standard deviation; a single task gives a band of
    /// zero width.
    /// </remarks>
    /// <param name="label">The legend entry.</param>
    /// <param name="returns">(tasks, episodes) returns; every task has the same number of episodes.</param>
    /// <param name="confidence">The band's confidence level c in (0, 1), 0.95 by default.</param>
    /// <param name="stepsPerEpisode">When positive, x is the environment step at each episode's end (<c>(j+1)·steps</c>); else the episode number <c>j+1</c>.</param>
    /// <exception cref="ArgumentException">No tasks, no episodes, ragged rows, or a confidence outside (0, 1).</exception>
    public static LearningCurve FromReturns(string label, IReadOnlyList<IReadOnlyList<double>> returns, double confidence = 0.95, int stepsPerEpisode = 0)
    {
        ArgumentNullException.ThrowIfNull(returns);
        if (returns.Count == 0) throw new ArgumentException("A learning curve needs at least one task's returns.", nameof(returns));
        if (!(confidence > 0 && confidence < 1)) throw new ArgumentException($"The confidence level must lie in (0, 1), got {confidence}.", nameof(confidence));
        var episodes = returns[0].Count;
        if (episodes == 0) throw new ArgumentException("A learning curve needs at least one episode.", nameof(returns));
        for (var t = 1; t < returns.Count; t++)
            if (returns[t].Count != episodes)
                throw new ArgumentException($"Task {t} has {returns[t].Count} episodes, task 0 has {episodes}; returns must be rectangular.", nameof(returns));

        int n = returns.Count;
        var tq = n > 1 ? StudentT.InvCDF(0, 1, n - 1, (1 + confidence) / 2) : 0;
        double[] x = new double[episodes], mean = new double[episodes], lo = new double[episodes], hi = new double[episodes];
        var column = new double[n];
        for (var j = 0; j < episodes; j++)
        {
            for (var t = 0; t < n; t++) column[t] = returns[t][j];
            var m = column.Mean();
            var half = n > 1 ? tq * column.StandardDeviation() / Math.Sqrt(n) : 0;
            x[j] = stepsPerEpisode > 0 ? (j + 1.0) * stepsPerEpisode : j + 1;
            (mean[j], lo[j], hi[j]) = (m, m - half, m + half);
        }
        return new LearningCurve(label, x, mean, lo, hi);
    }
}

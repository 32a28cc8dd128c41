using MathNet.Numerics.Distributions;

namespace Dicp.Cli.Plotting;

/// <summary>One learning curve: the mean return per x over <see cref="Runs"/> runs, with a confidence band of that mean.</summary>
/// <param name="Label">The legend entry.</param>
/// <param name="X">The x coordinates (episodes or environment steps), increasing.</param>
/// <param name="Mean">The mean at each x.</param>
/// <param name="Lower">The lower end of the confidence band at each x.</param>
/// <param name="Upper">The upper end of the confidence band at each x.</param>
/// <param name="Runs">How many runs (tasks, seeds) each mean is taken over.</param>
/// <param name="Confidence">The band's confidence level.</param>
internal sealed record LearningCurve(string Label, double[] X, double[] Mean, double[] Lower, double[] Upper, int Runs = 1, double Confidence = 0.95)
{
    /// <summary>
    /// The curve of mean return per episode index over runs, with a Student-t confidence interval of the mean.
    /// </summary>
    /// <remarks>
    /// For episode <c>j</c> with returns <c>r_1 … r_n</c> over <c>n</c> runs: mean <c>m = Σ r_i / n</c>, band
    /// <c>m ± t_{(1+c)/2, n−1} · s / √n</c> with <c>s</c> the sample standard deviation; a single run gives a band of
    /// zero width. The t quantile is the one thing MathNet.Numerics is used for.
    /// </remarks>
    /// <param name="label">The legend entry.</param>
    /// <param name="returns">(runs, episodes) returns; every run has the same number of episodes.</param>
    /// <param name="confidence">The band's confidence level c in (0, 1), 0.95 by default.</param>
    /// <param name="stepsPerEpisode">When positive, x is the environment step at each episode's end (<c>(j+1)·steps</c>); else the episode number <c>j+1</c>.</param>
    /// <exception cref="ArgumentException">No runs, no episodes, ragged rows, a non-finite return, or a confidence outside (0, 1).</exception>
    public static LearningCurve FromReturns(string label, IReadOnlyList<IReadOnlyList<double>> returns, double confidence = 0.95, int stepsPerEpisode = 0)
    {
        ArgumentNullException.ThrowIfNull(returns);
        if (returns.Count == 0) throw new ArgumentException("A learning curve needs at least one run's returns.", nameof(returns));
        if (!(confidence > 0 && confidence < 1)) throw new ArgumentException($"The confidence level must lie in (0, 1), got {confidence}.", nameof(confidence));
        var episodes = returns[0].Count;
        if (episodes == 0) throw new ArgumentException("A learning curve needs at least one episode.", nameof(returns));
        for (var t = 0; t < returns.Count; t++)
        {
            if (returns[t].Count != episodes)
                throw new ArgumentException($"Run {t} has {returns[t].Count} episodes, run 0 has {episodes}; returns must be rectangular.", nameof(returns));
            for (var j = 0; j < episodes; j++)
                if (!double.IsFinite(returns[t][j])) throw new ArgumentException($"Run {t}, episode {j} has the non-finite return {returns[t][j]}.", nameof(returns));
        }

        int n = returns.Count;
        var tq = n > 1 ? StudentT.InvCDF(0, 1, n - 1, (1 + confidence) / 2) : 0;
        double[] x = new double[episodes], mean = new double[episodes], lo = new double[episodes], hi = new double[episodes];
        for (var j = 0; j < episodes; j++)
        {
            double m = 0, ss = 0;
            for (var t = 0; t < n; t++) m += returns[t][j];
            m /= n;
            for (var t = 0; t < n; t++) ss += (returns[t][j] - m) * (returns[t][j] - m);
            var half = n > 1 ? tq * Math.Sqrt(ss / (n - 1)) / Math.Sqrt(n) : 0;
            x[j] = stepsPerEpisode > 0 ? (j + 1.0) * stepsPerEpisode : j + 1;
            (mean[j], lo[j], hi[j]) = (m, m - half, m + half);
        }
        return new LearningCurve(label, x, mean, lo, hi, n, confidence);
    }

    /// <summary>
    /// The curve with its band clipped to the feasible returns [<paramref name="min"/>, <paramref name="max"/>]: the true
    /// mean lies there, so the part of a t-interval outside it carries no information (small n with 0/1 rewards).
    /// </summary>
    public LearningCurve ClipTo(double? min, double? max) => this with
    {
        Lower = [.. Lower.Select(v => Math.Min(max ?? double.PositiveInfinity, Math.Max(min ?? double.NegativeInfinity, v)))],
        Upper = [.. Upper.Select(v => Math.Min(max ?? double.PositiveInfinity, Math.Max(min ?? double.NegativeInfinity, v)))],
    };
}

namespace Dicp.Rl;

/// <summary>Running sums of per-minibatch statistics within one PPO update.</summary>
internal struct PpoStepAccumulator
{
    private double _policy, _value, _entropy, _kl, _clip;
    private int _steps;

    public void Add(float policyLoss, float valueLoss, float entropy, float approxKl, float clipFraction)
    {
        _policy += policyLoss;
        _value += valueLoss;
        _entropy += entropy;
        _kl += approxKl;
        _clip += clipFraction;
        _steps++;
    }

    public readonly UpdateStatistics ToStatistics(int update)
    {
        var n = Math.Max(_steps, 1);
        return new UpdateStatistics(update, _steps, (float)(_policy / n), (float)(_value / n), (float)(_entropy / n), (float)(_kl / n), (float)(_clip / n));
    }
}

namespace Dicp.Rl;

/// <summary>Statistics of one learner update (averages over its gradient steps).</summary>
/// <param name="Update">The 1-based index of the update.</param>
/// <param name="GradientSteps">The number of minibatch gradient steps taken.</param>
/// <param name="PolicyLoss">The mean policy loss: PPO's clipped-surrogate loss (negated objective), SAC's actor loss <c>E[α·log π − min Q]</c>.</param>
/// <param name="ValueLoss">The mean value loss: PPO's value MSE (before the value coefficient), SAC's critic loss <c>½ Σᵢ MSE(Qᵢ, y)</c>.</param>
/// <param name="Entropy">The mean policy entropy (for SAC the estimate <c>−E[log π]</c> of the squashed policy).</param>
/// <param name="ApproxKl">PPO: the mean of <c>(r − 1) − log r</c> (an estimate of KL(old ‖ new)); 0 for SAC.</param>
/// <param name="ClipFraction">PPO: the fraction of samples whose probability ratio left <c>[1 − clip, 1 + clip]</c>; 0 for SAC.</param>
/// <param name="EntropyCoefficient">SAC: the mean entropy coefficient α used by the gradient steps; 0 for PPO.</param>
public readonly record struct UpdateStatistics(int Update, int GradientSteps, float PolicyLoss, float ValueLoss, float Entropy, float ApproxKl, float ClipFraction,
    float EntropyCoefficient = 0f);

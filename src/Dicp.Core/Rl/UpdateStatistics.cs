namespace Dicp.Rl;

/// <summary>Statistics of one learner update (averages over its gradient steps).</summary>
/// <param name="Update">The 1-based index of the update.</param>
/// <param name="GradientSteps">The number of minibatch gradient steps taken.</param>
/// <param name="PolicyLoss">The mean clipped-surrogate loss (negated objective).</param>
/// <param name="ValueLoss">The mean value MSE (before the value coefficient).</param>
/// <param name="Entropy">The mean policy entropy.</param>
/// <param name="ApproxKl">The mean of <c>(r − 1) − log r</c> (an estimate of KL(old ‖ new)).</param>
/// <param name="ClipFraction">The fraction of samples whose probability ratio left <c>[1 − clip, 1 + clip]</c>.</param>
public readonly record struct UpdateStatistics(int Update, int GradientSteps, float PolicyLoss, float ValueLoss, float Entropy, float ApproxKl, float ClipFraction);

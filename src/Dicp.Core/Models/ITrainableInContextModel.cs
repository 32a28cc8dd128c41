using Dicp.Nn;
using Dicp.Tensors;

namespace Dicp.Models;

/// <summary>An in-context model that a trainer can fit to windows of learning histories.</summary>
public interface ITrainableInContextModel : IInContextModel
{
    /// <summary>The network whose parameters are trained and checkpointed (state-dict keys follow the reference).</summary>
    Module Network { get; }

    /// <summary>The number of consecutive history steps one training sample spans: the reference's <c>n_transit</c>.</summary>
    int SampleSteps { get; }

    /// <summary>
    /// The configuration the model was built from (null for models built otherwise): what <see cref="InContextModels.Save"/>
    /// stores and what a <see cref="Training.Trainer"/> writes into checkpoints.
    /// </summary>
    ModelConfig? Config => null;

    /// <summary>
    /// Runs the network on a batch of windows and returns the training loss (imitation + λ · dynamics) with its parts.
    /// Builds the autodiff graph unless gradients are disabled.
    /// </summary>
    /// <exception cref="ArgumentException">The batch does not fit the model (steps, sizes, missing optimal actions).</exception>
    TrainingLoss Loss(WindowBatch batch);

    /// <summary>
    /// 0 for models trained on plain windows (AD, DPT); c for return-conditioned models (IDT): training windows are then
    /// taken over episodes sorted by return and carry relabelled returns-to-go (see <see cref="Data.WindowSampler"/>).
    /// </summary>
    int ReturnConditionedSegment => 0;

    /// <summary>Training windows start on multiples of this: 1 (any step, the default and the reference's way), or c for
    /// IDT with <see cref="ModelConfig.AlignedWindows"/>.</summary>
    int WindowStartStride => 1;
}

/// <summary>The loss of one batch and its parts.</summary>
/// <param name="Total">The scalar to differentiate.</param>
/// <param name="Metrics">
/// Named scalars for logs, e.g. <c>action_loss</c>, <c>action_accuracy</c>, <c>reward_loss</c>,
/// <c>reward_accuracy</c>, <c>next_state_loss</c>, <c>next_state_accuracy</c>.
/// </param>
public sealed record TrainingLoss(Tensor Total, IReadOnlyDictionary<string, double> Metrics);

/// <summary>
/// A batch of B windows of <c>n</c> consecutive steps of learning-history streams (row-major arrays owned by the
/// sampler and reused between batches).
/// </summary>
/// <remarks>
/// For AD the last step of a window is the query: its state is the query state and its action, reward and next state
/// are the targets. <see cref="OptimalActions"/> are needed by DPT; <see cref="ReturnsToGo"/> by IDT.
/// </remarks>
public sealed class WindowBatch
{
    /// <summary>Allocates a batch of <paramref name="batchSize"/> windows of <paramref name="steps"/> steps.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    public WindowBatch(int batchSize, int steps, int observationSize, int actionSize, bool optimalActions = false, bool returnsToGo = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(steps);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(observationSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(actionSize);
        (BatchSize, Steps, ObservationSize, ActionSize) = (batchSize, steps, observationSize, actionSize);
        var n = batchSize * steps;
        States = new float[n * observationSize];
        Actions = new float[n * actionSize];
        Rewards = new float[n];
        NextStates = new float[n * observationSize];
        Dones = new bool[n];
        OptimalActions = optimalActions ? new int[n] : null;
        ReturnsToGo = returnsToGo ? new float[n] : null;
    }

    /// <summary>B, the number of windows.</summary>
    public int BatchSize { get; }

    /// <summary>n, the steps per window.</summary>
    public int Steps { get; }

    /// <summary>O, the floats per observation.</summary>
    public int ObservationSize { get; }

    /// <summary>A, the floats per action (1 for discrete).</summary>
    public int ActionSize { get; }

    /// <summary>(B, n, O) states.</summary>
    public float[] States { get; }

    /// <summary>(B, n, A) actions.</summary>
    public float[] Actions { get; }

    /// <summary>(B, n) rewards.</summary>
    public float[] Rewards { get; }

    /// <summary>(B, n, O) true next states.</summary>
    public float[] NextStates { get; }

    /// <summary>(B, n) whether the episode ended with the step.</summary>
    public bool[] Dones { get; }

    /// <summary>(B, n) the optimal action in each state, or null.</summary>
    public int[]? OptimalActions { get; }

    /// <summary>(B, n) the return-to-go at each step, or null.</summary>
    public float[]? ReturnsToGo { get; }
}

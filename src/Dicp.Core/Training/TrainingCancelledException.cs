namespace Dicp.Training;

/// <summary>
/// A <see cref="Trainer"/> run was cancelled; what it kept is a checkpoint at <see cref="Step"/>, from which a rerun
/// continues bit-identically.
/// </summary>
public sealed class TrainingCancelledException : OperationCanceledException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="step">The step of the checkpoint that was kept (0: nothing was kept, a rerun starts over).</param>
    /// <param name="checkpointPath">The checkpoint's path.</param>
    /// <param name="token">The token that was cancelled.</param>
    public TrainingCancelledException(int step, string checkpointPath, CancellationToken token)
        : base($"Training was cancelled; the checkpoint of step {step} ({checkpointPath}) was kept.", token)
    {
        Step = step;
        CheckpointPath = checkpointPath;
    }

    /// <summary>The completed step the kept checkpoint holds (0 when none was written).</summary>
    public int Step { get; }

    /// <summary>The checkpoint's path.</summary>
    public string CheckpointPath { get; }
}

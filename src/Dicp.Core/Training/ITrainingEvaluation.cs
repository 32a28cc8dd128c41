using Dicp.Models;

namespace Dicp.Training;

/// <summary>
/// A periodic evaluation a <see cref="Trainer"/> runs besides the test loss, e.g. in-context returns on test tasks
/// (the planning package's <c>InContextTrainingEvaluation</c>). Its metrics become columns of <c>metrics.csv</c>.
/// </summary>
/// <remarks>
/// The trainer puts the network in evaluation mode (no dropout) around the call. An evaluation must not touch the
/// trainer's generators, so an interrupted and resumed run stays identical to an uninterrupted one.
/// </remarks>
public interface ITrainingEvaluation
{
    /// <summary>The metric names <see cref="Evaluate"/> returns (fixed; they name CSV columns).</summary>
    IReadOnlyList<string> MetricNames { get; }

    /// <summary>Evaluates the model after <paramref name="step"/> optimiser steps.</summary>
    IReadOnlyDictionary<string, double> Evaluate(ITrainableInContextModel model, int step, CancellationToken cancellationToken);
}

/// <summary>A metric row, reported through <see cref="IProgress{T}"/> as it is written to <c>metrics.csv</c>.</summary>
/// <param name="Step">Optimiser steps completed.</param>
/// <param name="TotalSteps">Steps of the whole run.</param>
/// <param name="LearningRate">The learning rate of the last step.</param>
/// <param name="Metrics">The row's values by column name (missing: not measured at this step).</param>
/// <param name="StepsPerSecond">Training steps per second of wall time since the previous row: sampling the batch,
/// forward, backward, clipping and the optimiser step, without the test loss, evaluation, logging and checkpoint time
/// (NaN where not measured). Wall-clock values stay out of <c>metrics.csv</c>, which is bit-identical across resumes;
/// the trainer writes them to <c>timing.csv</c>.</param>
public sealed record TrainingProgress(int Step, int TotalSteps, float LearningRate, IReadOnlyDictionary<string, double> Metrics,
    double StepsPerSecond = double.NaN);

/// <summary>What a <see cref="Trainer.Run"/> did.</summary>
/// <param name="StartStep">The step the run started from (0, or the checkpoint's step when resumed).</param>
/// <param name="FinalStep">The steps completed at the end.</param>
/// <param name="LastRow">The last metric row written.</param>
/// <param name="Elapsed">Wall-clock time of this call.</param>
public sealed record TrainingResult(int StartStep, int FinalStep, IReadOnlyDictionary<string, double> LastRow, TimeSpan Elapsed)
{
    /// <summary>Whether the run continued from a checkpoint.</summary>
    public bool Resumed => StartStep > 0;
}

using System.Numerics.Tensors;
using Tensor = Dicp.Tensors.Tensor;

namespace Dicp.Models;

/// <summary>Checks and metrics shared by the model families' losses.</summary>
internal static class BatchChecks
{
    /// <summary>The fraction of rows of <paramref name="logits"/> (rows, classes) whose argmax equals the target.</summary>
    public static double Accuracy(Tensor logits, int[] targets)
    {
        var c = logits.Shape[^1];
        var hits = 0;
        for (var r = 0; r < targets.Length; r++)
            if (TensorPrimitives.IndexOfMax(logits.Data.AsSpan(r * c, c)) == targets[r]) hits++;
        return (double)hits / targets.Length;
    }

    /// <summary>Throws unless the batch's window length and sizes are the model's.</summary>
    /// <exception cref="ArgumentException">The message names the model and the mismatch.</exception>
    public static void CheckShape(ITrainableInContextModel model, ModelConfig config, WindowBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var name = model.Name;
        if (batch.Steps != config.NTransit)
            throw new ArgumentException($"{name}: the batch has windows of {batch.Steps} steps; the model needs n_transit = {config.NTransit}.", nameof(batch));
        if (batch.ObservationSize != model.ObservationSize)
            throw new ArgumentException($"{name}: the batch has observations of {batch.ObservationSize} floats; the model needs {model.ObservationSize}.", nameof(batch));
        var actionSize = model.ActionSpace.Size;
        if (batch.ActionSize != actionSize)
            throw new ArgumentException($"{name}: the batch has actions of {batch.ActionSize} floats; the model needs {actionSize}.", nameof(batch));
    }

    /// <summary>Throws unless a candidate batch and its prediction buffers fit the model and the session's limit.</summary>
    /// <param name="b">The candidates.</param>
    /// <param name="p">The prediction buffers.</param>
    /// <param name="observationSize">O.</param>
    /// <param name="actionSize">A.</param>
    /// <param name="policySize">P.</param>
    /// <param name="maxCandidates">The session's <see cref="SessionOptions.MaxCandidates"/>.</param>
    /// <param name="returnsToGo">Whether the model predicts returns-to-go.</param>
    /// <exception cref="ArgumentException">The message names the field and the shape it needs.</exception>
    public static void CheckCandidates(CandidateBatch b, CandidatePredictions p, int observationSize, int actionSize, int policySize,
        int maxCandidates, bool returnsToGo)
    {
        ArgumentNullException.ThrowIfNull(b);
        ArgumentNullException.ThrowIfNull(p);
        int n = b.Count, h = b.Depth, o = observationSize, a = actionSize;
        if (n < 1 || n > maxCandidates)
            throw new ArgumentException($"CandidateBatch.Count must be in [1, SessionOptions.MaxCandidates = {maxCandidates}], got {n}.", nameof(b));
        if (h < 0) throw new ArgumentException($"CandidateBatch.Depth must be non-negative, got {h}.", nameof(b));
        static void Need(float[]? array, int length, string name, string shape)
        {
            if (array is null || array.Length < length)
                throw new ArgumentException($"{name} holds {array?.Length ?? 0} floats; {shape} needs at least {length}.", name);
        }
        Need(b.ImaginedStates, n * h * o, "CandidateBatch.ImaginedStates", "(N, h, O)");
        Need(b.ImaginedActions, n * h * a, "CandidateBatch.ImaginedActions", "(N, h, A)");
        Need(b.ImaginedRewards, n * h, "CandidateBatch.ImaginedRewards", "(N, h)");
        Need(b.ImaginedNextStates, n * h * o, "CandidateBatch.ImaginedNextStates", "(N, h, O)");
        Need(b.QueryStates, n * o, "CandidateBatch.QueryStates", "(N, O)");
        Need(b.QueryActions, n * a, "CandidateBatch.QueryActions", "(N, A)");
        Need(p.Rewards, n, "CandidatePredictions.Rewards", "(N)");
        Need(p.NextStates, n * o, "CandidatePredictions.NextStates", "(N, O)");
        Need(p.Policy, n * policySize, "CandidatePredictions.Policy", "(N, P)");
        if (returnsToGo && p.ReturnsToGo is not null) Need(p.ReturnsToGo, n, "CandidatePredictions.ReturnsToGo", "(N)");
    }
}

using Dicp.Tensors;

namespace Dicp.Optim;

/// <summary>Base class of optimizers over a fixed list of parameters.</summary>
public abstract class Optimizer
{
    /// <summary>Creates the optimizer over <paramref name="parameters"/> (duplicates are an error).</summary>
    protected Optimizer(IEnumerable<Tensor> parameters, float learningRate)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Params = parameters.ToArray();
        if (Params.Length == 0) throw new ArgumentException("Optimizer got an empty parameter list.", nameof(parameters));
        if (Params.Distinct(ReferenceEqualityComparer.Instance).Count() != Params.Length)
            throw new ArgumentException("Optimizer got the same parameter twice.", nameof(parameters));
        if (!(learningRate >= 0f)) throw new ArgumentOutOfRangeException(nameof(learningRate), $"Learning rate must be ≥ 0, got {learningRate}.");
        LearningRate = learningRate;
    }

    /// <summary>The parameters, in order.</summary>
    protected Tensor[] Params { get; }

    /// <summary>The current learning rate (schedules set it before each step).</summary>
    public float LearningRate { get; set; }

    /// <summary>Number of steps taken.</summary>
    public long StepCount { get; protected set; }

    /// <summary>Applies one update from the parameters' current gradients (parameters without a gradient are skipped).</summary>
    public abstract void Step();

    /// <summary>Clears all parameter gradients.</summary>
    public void ZeroGrad()
    {
        foreach (var p in Params) p.ZeroGrad();
    }

    /// <summary>The optimizer's tensors (moments) keyed by parameter index, for checkpoints.</summary>
    public abstract IReadOnlyDictionary<string, float[]> GetState();

    /// <summary>Restores tensors captured by <see cref="GetState"/> and the step count.</summary>
    public abstract void SetState(IReadOnlyDictionary<string, float[]> state, long stepCount);
}

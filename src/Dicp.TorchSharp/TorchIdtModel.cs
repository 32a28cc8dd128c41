using Dicp.Models;
using TransformerConfig = Dicp.Nn.TransformerConfig;
using TorchSharp;
using static TorchSharp.torch;
using TorchTensor = TorchSharp.torch.Tensor;

namespace Dicp.TorchSharp;

/// <summary>The raw outputs of IDT on a batch of training windows (B windows, n steps, K = n / c segments), as Dicp's <see cref="IdtOutputs"/>.</summary>
/// <param name="ReviewedZ">(B, K, 2·dim_z) Reviewing-Decisions' <c>[mean | log-variance]</c>.</param>
/// <param name="PredictedZ">(B, K, 2·dim_z) Making-Decisions' <c>[mean | log-variance]</c>.</param>
/// <param name="Z">The sampled decisions: (B, K, c, dim_z) with <see cref="ModelConfig.LatentNoisePerStep"/>, else (B, K, dim_z).</param>
/// <param name="Actions">(B, n, ·) <c>pred_action</c> at every state token.</param>
/// <param name="Rewards">(B, n, RewardClasses or 1) <c>pred_reward</c> at every action token, or null.</param>
/// <param name="NextStates">(B, n, StateClasses or O) <c>pred_next_state</c> at every action token, or null.</param>
public sealed record TorchIdtOutputs(TorchTensor ReviewedZ, TorchTensor PredictedZ, TorchTensor Z, TorchTensor Actions, TorchTensor? Rewards, TorchTensor? NextStates);

/// <summary>
/// IDT and DICP-IDT as a TorchSharp module: Reviewing-Decisions (<c>reviewing_decisions</c>), Making-Decisions
/// (<c>h_decision_transformer</c>) and Decisions-to-Go (<c>decisions_to_go</c>), each on its own backbone, with the
/// parameter names, token layouts, sampling of z and losses of Dicp's <see cref="IdtModel"/>.
/// </summary>
/// <remarks>
/// The ε of z's reparameterisation is drawn from libtorch's generator (on the model's device) unless the caller passes
/// it (<see cref="Forward"/>, <see cref="Loss(WindowBatch, ReadOnlySpan{float})"/>): the same ε given to both backends
/// gives the same outputs, losses and gradients. Evaluation (IDT's stateful segment sessions and DICP-IDT planning)
/// runs on Dicp's engine: <see cref="ToDicp"/> gives the CPU model with its KV-cached sessions.
/// </remarks>
public sealed class TorchIdtModel : TorchModel
{
    internal TorchIdtModel(ModelConfig config) : base(config, "TorchIdtModel")
    {
        if (config.Model != "idt") throw new ArgumentException($"ModelConfig.Model must be 'idt' for TorchIdtModel, got '{config.Model}'.", nameof(config));
        Reviewing = new TorchReviewingDecisions(this);
        register_module("reviewing_decisions", Reviewing);
        Making = new TorchMakingDecisions(this);
        register_module("h_decision_transformer", Making);
        ToGo = new TorchDecisionsToGo(this);
        register_module("decisions_to_go", ToGo);
    }

    /// <summary>A freshly initialised IDT on the CPU whose initial weights are exactly those of Dicp's <c>new IdtModel(config, seed)</c>.</summary>
    /// <exception cref="ArgumentException">The configuration is invalid or not an IDT.</exception>
    public static new TorchIdtModel Create(ModelConfig config, int seed)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.Model != "idt") throw new ArgumentException($"ModelConfig.Model must be 'idt' for TorchIdtModel, got '{config.Model}'.", nameof(config));
        return (TorchIdtModel)TorchModel.Create(config, seed);
    }

    /// <summary>A TorchSharp copy (CPU) of a Dicp IDT: its configuration and current weights.</summary>
    public static TorchIdtModel FromDicp(IdtModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var torchModel = new TorchIdtModel(model.Config);
        torchModel.LoadDicpStateDict(model.StateDict(), strict: true);
        return torchModel;
    }

    /// <summary>Loads an IDT written by Dicp's engine or by <see cref="TorchModel.Save"/> (see <see cref="TorchModel.Load"/>).</summary>
    /// <exception cref="InvalidDataException">The file has no model configuration, its tensors do not fit it, or it holds no IDT.</exception>
    public static new TorchIdtModel Load(string path) => TorchModel.Load(path) as TorchIdtModel
        ?? throw new InvalidDataException($"'{path}': holds an AD/DPT model; load it with TorchInContextModel.Load or TorchModel.Load.");

    /// <summary>A Dicp-engine IDT (CPU: sessions, planners) with this model's configuration and weights.</summary>
    public IdtModel ToDicp() => (IdtModel)ToDicpModel();

    /// <summary>Reviewing-Decisions (key <c>reviewing_decisions</c>).</summary>
    public TorchReviewingDecisions Reviewing { get; }

    /// <summary>Making-Decisions (key <c>h_decision_transformer</c>).</summary>
    public TorchMakingDecisions Making { get; }

    /// <summary>Decisions-to-Go (key <c>decisions_to_go</c>).</summary>
    public TorchDecisionsToGo ToGo { get; }

    /// <summary>
    /// Runs the three modules (dropout in training mode) on a batch of windows. <paramref name="noise"/>: the ε of z,
    /// (B, K, c, dim_z) with <see cref="ModelConfig.LatentNoisePerStep"/> (or (B, K, dim_z), repeated over each
    /// segment's steps), else (B, K, dim_z); empty draws it from libtorch's generator.
    /// </summary>
    /// <exception cref="ArgumentException">The batch or the noise does not fit the model.</exception>
    public TorchIdtOutputs Forward(WindowBatch batch, ReadOnlySpan<float> noise = default)
    {
        ModelSupport.CheckShape(Layout, batch);
        int bsz = batch.BatchSize, n = batch.Steps, c = Config.SegmentLength, k = Layout.Segments, dz = Config.LatentDim, d = Config.EmbeddingDim;
        var (returns, first) = Layout.SegmentStarts(batch);
        var given = Layout.LatentNoise(noise, bsz);
        var device = Device;
        using var autocast = TorchAutocast.Enter(Precision);
        var reviewed = TorchAutocast.Float(Reviewing.Forward(batch.States, batch.Actions, batch.Rewards, batch.NextStates, bsz * k, c, device))
            .reshape(bsz, k, 2 * dz);                                                                            // (B, K, 2dz)
        var predicted = TorchAutocast.Float(Making.Forward(returns, first, reviewed, bsz, k, device));            // (B, K, 2dz)
        var perStep = Config.LatentNoisePerStep;
        long[] epsShape = perStep ? [bsz, k, c, dz] : [bsz, k, dz];
        var eps = given is null ? randn(epsShape, device: device) : tensor(given, epsShape).to(device);
        var mean = predicted.narrow(2, 0, dz);                                                                    // (B, K, dz)
        var std = (predicted.narrow(2, dz, dz) * 0.5f).exp();                                                     // (B, K, dz)
        var z = perStep ? mean.unsqueeze(2) + std.unsqueeze(2) * eps : mean + std * eps;                          // (B, K, c, dz) or (B, K, dz)
        var zRows = perStep ? z.reshape(bsz * k, c, dz) : z.reshape(bsz * k, dz);                                 // (B·K, c, dz) or (B·K, dz)
        var h = ToGo.Forward(zRows, batch.States, batch.Actions, batch.Rewards, bsz * k, c, device);              // (B·K, 4c, d)
        var slots = h.reshape(bsz * k, c, 4, d);                                                                  // (B·K, c, 4, d)
        var stateTokens = slots.select(2, 1).reshape(bsz, n, d);                                                  // (B, n, d)
        var actions = TorchAutocast.Linear(ToGo.PredAction, stateTokens);                                         // (B, n, P)
        if (!Config.Dynamics) return new TorchIdtOutputs(reviewed, predicted, z, actions, null, null);
        var actionTokens = slots.select(2, 2).reshape(bsz, n, d);                                                 // (B, n, d)
        return new TorchIdtOutputs(reviewed, predicted, z, actions, TorchAutocast.Linear(ToGo.PredReward!, actionTokens),
            TorchAutocast.Linear(ToGo.PredNextState!, actionTokens));
    }

    /// <inheritdoc/>
    /// <remarks>Every step of the window is a target: <c>loss = action_loss + λ·(reward_loss + next_state_loss)</c>, as Dicp's <see cref="IdtModel.Loss(WindowBatch)"/>; ε from libtorch's generator.</remarks>
    public override TorchTrainingLoss Loss(WindowBatch batch) => Loss(batch, default);

    /// <summary>The training loss with a given ε (see <see cref="Forward"/>).</summary>
    /// <exception cref="ArgumentException">The batch or the noise does not fit the model.</exception>
    public TorchTrainingLoss Loss(WindowBatch batch, ReadOnlySpan<float> noise)
    {
        var outputs = Forward(batch, noise);
        int rows = batch.BatchSize * batch.Steps, a = Layout.ActionSize;
        var pending = new List<(string Key, TorchTensor Value)>();
        var actionLoss = Layout.DiscreteActions
            ? TorchLosses.CrossEntropy(outputs.Actions, Layout.ActionClasses(batch.Actions, rows), Config.LabelSmoothing, "action", pending)
            : TorchLosses.ContinuousAction(outputs.Actions, batch.Actions.AsSpan(0, rows * a).ToArray(), [batch.BatchSize, batch.Steps, a], a, Config.LearnVariance);
        pending.Add(("action_loss", actionLoss));
        var total = actionLoss;
        if (Config.Dynamics)
        {
            var targets = Layout.DynamicsTargets(batch.Rewards, batch.NextStates, rows, IdtModel.RewardRole);
            var (rewardLoss, nextLoss) = TorchLosses.Dynamics(Config, outputs.Rewards!, outputs.NextStates!, targets, pending);
            var dyn = Layout.NextStateInLoss ? rewardLoss + nextLoss : rewardLoss; // learn_transition off: reward only
            total = total + dyn * Config.DynamicsCoefficient;
        }
        pending.Add(("loss", total));
        return new TorchTrainingLoss(total, ReadMetrics(pending));
    }

    internal TransformerConfig Backbone(int maxSeqLen) =>
        new(Config.EmbeddingDim, Config.Layers, Config.Heads, Config.Inner, Config.Dropout, MaxSeqLen: maxSeqLen);

    internal TorchIdtInput StateInput(string name, Action<string, nn.Module> register) =>
        TorchIdtInput.Register(name, Layout.IsGrid ? Config.StateClasses : 0, Config.ObservationSize, Config.EmbeddingDim, Layout.CellIndex, register);

    internal TorchIdtInput ActionInput(string name, Action<string, nn.Module> register) =>
        TorchIdtInput.Register(name, Config.ActionCount, Layout.ActionSize, Config.EmbeddingDim, v => Layout.ActionIndex(v[0]), register);

    internal TorchIdtInput RewardInput(string name, Action<string, nn.Module> register) =>
        TorchIdtInput.Register(name, Config.RewardClasses, 1, Config.EmbeddingDim, v => Layout.RewardClass(v[0], IdtModel.RewardRole), register);
}

using Dicp.Environments;
using Dicp.Models;
using TransformerConfig = Dicp.Nn.TransformerConfig;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using TorchTensor = TorchSharp.torch.Tensor;

namespace Dicp.TorchSharp;

/// <summary>The raw head outputs of a batch of training windows (TorchSharp tensors on the model's device).</summary>
/// <param name="Actions">(B, k, ·) the action head at the k action positions (AD: 1; DPT: n − 1).</param>
/// <param name="Rewards">(B, RewardClasses or 1) the reward head at the query-action token, or null.</param>
/// <param name="NextStates">(B, StateClasses or O) the next-state head at the query-action token, or null.</param>
/// <param name="Returns">(B, 1) the return-to-go head, or null.</param>
public sealed record TorchModelOutputs(TorchTensor Actions, TorchTensor? Rewards, TorchTensor? NextStates, TorchTensor? Returns);

/// <summary>
/// AD and DPT (with or without DICP dynamics heads) as a TorchSharp module: the same token layouts, heads, losses and
/// parameter names (the reference's PyTorch keys) as Dicp's <see cref="InContextModel"/>, so state dicts and
/// safetensors checkpoints move between the two backends unchanged.
/// </summary>
/// <remarks>
/// Build it with <see cref="Create"/> (the same seed gives the same initial weights as Dicp's engine: they are drawn by
/// Dicp and copied in) or from a Dicp model with <see cref="FromDicp"/>; move it with <c>.to(device)</c>. It is also an
/// <see cref="IInContextModel"/>: <see cref="CreateSession"/> evaluates on the model's device by recomputing each
/// candidate's whole window (the reference's way; Dicp's engine adds KV caching on CPU).
/// </remarks>
public sealed partial class TorchInContextModel : TorchModel, IInContextModel
{
    private readonly TorchTransformer _transformer;
    private readonly Linear _embedContext, _predAction;
    private readonly Embedding? _queryStateTable, _queryActionTable;
    private readonly Linear? _queryStateLinear, _queryActionLinear, _predReward, _predNextState, _predReturn;

    internal TorchInContextModel(ModelConfig config) : base(config, "TorchInContextModel")
    {
        if (config.Model is not ("ad" or "dpt"))
            throw new ArgumentException($"ModelConfig.Model: TorchInContextModel builds 'ad' and 'dpt' (TorchIdtModel builds 'idt'), got '{config.Model}'.", nameof(config));
        IsDpt = config.Model == "dpt";
        int d = config.EmbeddingDim, o = config.ObservationSize;
        BackboneConfig = new TransformerConfig(d, config.Layers, config.Heads, config.Inner, config.Dropout, MaxSeqLen: config.NTransit + 1);
        _transformer = new TorchTransformer(BackboneConfig);
        register_module("transformer", _transformer);
        _embedContext = nn.Linear(Layout.TransitionFeatures, d);
        register_module("embed_context", _embedContext);
        if (Layout.QueryStateTable) register_module("embed_query_state", _queryStateTable = nn.Embedding(config.StateClasses, d));
        else register_module("embed_query_state", _queryStateLinear = nn.Linear(o, d));
        _predAction = nn.Linear(d, Layout.ActionOutputs);
        register_module(Layout.HeadKey("pred_action"), _predAction);
        if (Layout.HasQueryActionEmbedding)
        {
            if (Layout.DiscreteActions) register_module("embed_query_action", _queryActionTable = nn.Embedding(config.ActionCount, d));
            else register_module("embed_query_action", _queryActionLinear = nn.Linear(config.ActionSize, d));
        }
        if (config.Dynamics)
        {
            register_module(Layout.HeadKey("pred_reward"), _predReward = nn.Linear(d, Layout.RewardOutputs));
            register_module(Layout.HeadKey("pred_next_state"), _predNextState = nn.Linear(d, Layout.NextStateOutputs));
            if (config.ReturnToGo) register_module(Layout.HeadKey("pred_return"), _predReturn = nn.Linear(d, 1));
        }
        ActionSpace = Layout.ActionSpace();
    }

    /// <summary>
    /// A freshly initialised model on the CPU whose initial weights are exactly those of Dicp's
    /// <c>InContextModels.Create(config, seed)</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The configuration is invalid, or is an IDT (build it with <see cref="TorchIdtModel.Create"/>).</exception>
    public static new TorchInContextModel Create(ModelConfig config, int seed)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.Model is not ("ad" or "dpt"))
            throw new ArgumentException($"ModelConfig.Model: TorchInContextModel builds 'ad' and 'dpt' (TorchIdtModel builds 'idt'), got '{config.Model}'.", nameof(config));
        return (TorchInContextModel)TorchModel.Create(config, seed);
    }

    /// <summary>Loads an AD/DPT model written by Dicp's engine or by <see cref="TorchModel.Save"/> (see <see cref="TorchModel.Load"/>).</summary>
    /// <exception cref="InvalidDataException">The file has no model configuration, its tensors do not fit it, or it holds an IDT.</exception>
    public static new TorchInContextModel Load(string path) => TorchModel.Load(path) as TorchInContextModel
        ?? throw new InvalidDataException($"'{path}': holds an IDT; load it with TorchIdtModel.Load or TorchModel.Load.");

    /// <summary>A Dicp-engine model (CPU, KV-cached sessions and planners) with this model's configuration and weights.</summary>
    public InContextModel ToDicp() => (InContextModel)ToDicpModel();

    /// <summary>A TorchSharp copy (CPU) of a Dicp AD/DPT model: its configuration and current weights.</summary>
    public static TorchInContextModel FromDicp(InContextModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var torchModel = new TorchInContextModel(model.Config);
        torchModel.LoadDicpStateDict(model.StateDict(), strict: true);
        return torchModel;
    }

    /// <summary>The backbone's hyperparameters (MaxSeqLen = n_transit + 1).</summary>
    public TransformerConfig BackboneConfig { get; }

    /// <summary>Whether this is DPT (query state first, padded into <c>embed_context</c>).</summary>
    public bool IsDpt { get; }

    /// <inheritdoc/>
    public Space ActionSpace { get; }

    /// <inheritdoc/>
    public int WindowTransitions => Config.NTransit - 1;

    /// <inheritdoc/>
    public bool HasDynamics => Config.Dynamics;

    /// <inheritdoc/>
    public bool HasReturnToGo => Config.Dynamics && Config.ReturnToGo;

    /// <inheritdoc/>
    public IInContextSession CreateSession(int environments, SessionOptions? options = null) =>
        new TorchInContextSession(this, environments, options ?? SessionOptions.Default);

    /// <summary>
    /// Runs the network on token inputs already encoded on the CPU and returns the hidden states (B, T, d).
    /// </summary>
    /// <param name="features">(B, k, F) transition features.</param>
    /// <param name="transitions">k ≥ 0.</param>
    /// <param name="batch">B.</param>
    /// <param name="queryStates">(B, O) query observations.</param>
    /// <param name="queryActions">(B, A) query actions, used when <paramref name="withQueryAction"/>.</param>
    /// <param name="withQueryAction">Whether the sequence ends with the query-action token.</param>
    internal TorchTensor Hidden(float[] features, int transitions, int batch, ReadOnlySpan<float> queryStates, ReadOnlySpan<float> queryActions, bool withQueryAction)
    {
        using var autocast = TorchAutocast.Enter(Precision);
        var device = Device;
        var parts = new List<TorchTensor>(3);
        var q = EmbedQueryStates(queryStates, batch, device);                                 // (B, 1, d)
        if (IsDpt) parts.Add(q);
        if (transitions > 0)
            parts.Add(TorchAutocast.Float(TorchAutocast.Linear(_embedContext, tensor(features, [batch, transitions, Layout.TransitionFeatures]).to(device)))); // (B, k, d)
        if (!IsDpt) parts.Add(q);
        if (withQueryAction) parts.Add(EmbedQueryActions(queryActions, batch, device));       // (B, 1, d)
        var x = parts.Count == 1 ? parts[0] : cat(parts, 1);                                   // (B, T, d)
        return _transformer.forward(x);
    }

    private TorchTensor EmbedQueryStates(ReadOnlySpan<float> states, int batch, Device device)
    {
        int o = Config.ObservationSize;
        if (IsDpt)
        {
            var f = Layout.TransitionFeatures;
            var padded = new float[batch * f];
            for (var b = 0; b < batch; b++) states.Slice(b * o, o).CopyTo(padded.AsSpan(b * f));
            return TorchAutocast.Float(TorchAutocast.Linear(_embedContext, tensor(padded, [batch, 1, f]).to(device)));
        }
        if (_queryStateTable is not null)
        {
            var ids = new long[batch];
            for (var b = 0; b < batch; b++) ids[b] = Layout.CellIndex(states.Slice(b * o, o));
            return _queryStateTable.forward(tensor(ids, [batch, 1]).to(device));
        }
        return TorchAutocast.Float(TorchAutocast.Linear(_queryStateLinear!, tensor(states[..(batch * o)].ToArray(), [batch, 1, o]).to(device)));
    }

    private TorchTensor EmbedQueryActions(ReadOnlySpan<float> actions, int batch, Device device)
    {
        if (_queryActionTable is not null)
        {
            var ids = new long[batch];
            for (var b = 0; b < batch; b++) ids[b] = Layout.ActionIndex(actions[b]);
            return _queryActionTable.forward(tensor(ids, [batch, 1]).to(device));
        }
        var a = Config.ActionSize;
        return TorchAutocast.Float(TorchAutocast.Linear(_queryActionLinear!, tensor(actions[..(batch * a)].ToArray(), [batch, 1, a]).to(device)));
    }

    internal Linear PredAction => _predAction;

    internal Linear? PredReward => _predReward;

    internal Linear? PredNextState => _predNextState;

    internal Linear? PredReturn => _predReturn;
}

using Dicp.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using TorchTensor = TorchSharp.torch.Tensor;

namespace Dicp.TorchSharp;

/// <summary>How IDT turns one kind of value into a d-sized token: an Embedding over classes (grid cells, discrete actions, reward classes) or a Linear map.</summary>
internal sealed class TorchIdtInput
{
    private readonly Embedding? _table;
    private readonly Linear? _linear;
    private readonly Func<ReadOnlySpan<float>, int>? _classOf;
    private readonly int _width;

    private TorchIdtInput(Embedding? table, Linear? linear, Func<ReadOnlySpan<float>, int>? classOf, int width) =>
        (_table, _linear, _classOf, _width) = (table, linear, classOf, width);

    /// <summary>Registers <c>name</c> through <paramref name="register"/>: an Embedding(classes, d) read through <paramref name="classOf"/> on rows of <paramref name="width"/> floats, or (classes 0) a Linear(width, d).</summary>
    public static TorchIdtInput Register(string name, int classes, int width, int d, Func<ReadOnlySpan<float>, int> classOf, Action<string, nn.Module> register)
    {
        if (classes > 0)
        {
            var table = nn.Embedding(classes, d);
            register(name, table);
            return new TorchIdtInput(table, null, classOf, width);
        }
        var linear = nn.Linear(width, d);
        register(name, linear);
        return new TorchIdtInput(null, linear, null, width);
    }

    /// <summary>Embeds <c>prod(shape)</c> rows of values: (shape…, width) floats → (shape…, d), float32.</summary>
    public TorchTensor Forward(ReadOnlySpan<float> values, Device device, params long[] shape)
    {
        var rows = 1;
        foreach (var s in shape) rows *= (int)s;
        if (values.Length < rows * _width)
            throw new ArgumentException($"IDT input: {values.Length} floats cannot hold {rows} values of {_width} floats.", nameof(values));
        if (_table is not null)
        {
            var ids = new long[rows];
            for (var r = 0; r < rows; r++) ids[r] = _classOf!(values.Slice(r * _width, _width));
            return _table.forward(tensor(ids, shape).to(device));
        }
        return TorchAutocast.Float(TorchAutocast.Linear(_linear!, tensor(values[..(rows * _width)].ToArray(), [.. shape, _width]).to(device)));
    }
}

/// <summary>IDT's Reviewing-Decisions on TorchSharp (key <c>reviewing_decisions</c>), as Dicp's <see cref="ReviewingDecisions"/>.</summary>
/// <remarks>Per step <c>embed_state(s) + embed_action(a) + embed_reward(r) + embed_next_state(s')</c>; own backbone (MaxSeqLen c); <c>predict_z</c> reads the last token.</remarks>
public sealed class TorchReviewingDecisions : nn.Module
{
    private readonly TorchTransformer _transformer;
    private readonly TorchIdtInput _state, _action, _reward, _nextState;
    private readonly Linear _predictZ;

    internal TorchReviewingDecisions(TorchIdtModel owner) : base(nameof(TorchReviewingDecisions))
    {
        var c = owner.Config;
        register_module("transformer", _transformer = new TorchTransformer(owner.Backbone(c.SegmentLength)));
        _state = owner.StateInput("embed_state", register_module);
        _action = owner.ActionInput("embed_action", register_module);
        _reward = owner.RewardInput("embed_reward", register_module);
        _nextState = owner.StateInput("embed_next_state", register_module);
        register_module("predict_z", _predictZ = nn.Linear(c.EmbeddingDim, 2 * c.LatentDim));
    }

    /// <summary>The z-distributions (G, 2·dim_z) of G segments of k steps (states (G, k, O), actions (G, k, A), rewards (G, k), next states (G, k, O)).</summary>
    internal TorchTensor Forward(ReadOnlySpan<float> states, ReadOnlySpan<float> actions, ReadOnlySpan<float> rewards, ReadOnlySpan<float> nextStates,
        int segments, int steps, Device device)
    {
        var x = (_state.Forward(states, device, segments, steps) + _action.Forward(actions, device, segments, steps))
            + (_reward.Forward(rewards, device, segments, steps) + _nextState.Forward(nextStates, device, segments, steps)); // (G, k, d)
        var h = _transformer.forward(x);                                                                                   // (G, k, d)
        return TorchAutocast.Linear(_predictZ, h.narrow(1, steps - 1, 1).reshape(segments, -1));                         // (G, 2·dim_z)
    }
}

/// <summary>IDT's Making-Decisions on TorchSharp (key <c>h_decision_transformer</c>), as Dicp's <see cref="MakingDecisions"/>.</summary>
/// <remarks>Per segment <c>[embed_return(R), embed_state(s), embed_z(z-dist)]</c>; own backbone (MaxSeqLen 3K); <c>pred_z_dist</c> reads the state tokens.</remarks>
public sealed class TorchMakingDecisions : nn.Module
{
    private readonly TorchTransformer _transformer;
    private readonly Linear _embedReturn, _embedZ, _predZDist;
    private readonly TorchIdtInput _state;

    internal TorchMakingDecisions(TorchIdtModel owner) : base(nameof(TorchMakingDecisions))
    {
        var c = owner.Config;
        int d = c.EmbeddingDim;
        register_module("transformer", _transformer = new TorchTransformer(owner.Backbone(3 * owner.Layout.Segments)));
        register_module("embed_return", _embedReturn = nn.Linear(1, d));
        _state = owner.StateInput("embed_state", register_module);
        register_module("embed_z", _embedZ = nn.Linear(2 * c.LatentDim, d));
        register_module("pred_z_dist", _predZDist = nn.Linear(d, 2 * c.LatentDim));
    }

    /// <summary>The predicted z-distributions (B, K, 2·dim_z) from returns (B, K), first states (B, K, O) and reviewed z-distributions (B, K, 2·dim_z).</summary>
    internal TorchTensor Forward(float[] returns, float[] states, TorchTensor zDists, int batch, int segments, Device device)
    {
        var r = TorchAutocast.Float(TorchAutocast.Linear(_embedReturn, tensor(returns, [batch, segments, 1]).to(device))); // (B, K, d)
        var s = _state.Forward(states, device, batch, segments);                                                          // (B, K, d)
        var z = TorchAutocast.Float(TorchAutocast.Linear(_embedZ, zDists));                                               // (B, K, d)
        var x = stack([r, s, z], 2).reshape(batch, 3 * segments, -1);                                                     // (B, 3K, d)
        var h = _transformer.forward(x).reshape(batch, segments, 3, -1);                                                  // (B, K, 3, d)
        return TorchAutocast.Linear(_predZDist, h.select(2, 1));                                                          // (B, K, 2·dim_z)
    }
}

/// <summary>IDT's Decisions-to-Go on TorchSharp (key <c>decisions_to_go</c>), as Dicp's <see cref="DecisionsToGo"/>.</summary>
/// <remarks>Per step <c>[embed_z(z), embed_state(s), embed_action(a), embed_reward(r)]</c>; own backbone (MaxSeqLen 8c); <c>pred_action</c> reads the state token, <c>pred_next_state</c> and <c>pred_reward</c> the action token.</remarks>
public sealed class TorchDecisionsToGo : nn.Module
{
    private readonly TorchTransformer _transformer;
    private readonly Linear _embedZ;
    private readonly TorchIdtInput _state, _action, _reward;

    internal TorchDecisionsToGo(TorchIdtModel owner) : base(nameof(TorchDecisionsToGo))
    {
        var c = owner.Config;
        int d = c.EmbeddingDim;
        register_module("transformer", _transformer = new TorchTransformer(owner.Backbone(8 * c.SegmentLength)));
        register_module("embed_z", _embedZ = nn.Linear(c.LatentDim, d));
        _state = owner.StateInput("embed_state", register_module);
        _action = owner.ActionInput("embed_action", register_module);
        _reward = owner.RewardInput("embed_reward", register_module);
        register_module("pred_action", PredAction = nn.Linear(d, owner.Layout.ActionOutputs));
        if (c.Dynamics)
        {
            register_module("pred_next_state", PredNextState = nn.Linear(d, owner.Layout.NextStateOutputs));
            register_module("pred_reward", PredReward = nn.Linear(d, owner.Layout.RewardOutputs));
        }
    }

    internal Linear PredAction { get; }

    internal Linear? PredNextState { get; }

    internal Linear? PredReward { get; }

    /// <summary>
    /// Hidden states (G, 4k, d) of G sequences of k steps, four tokens per step <c>[z, s, a, r]</c>: z (G, dim_z) shared
    /// by a sequence's steps or (G, k, dim_z) one per step, states (G, k, O), actions (G, k, A), rewards (G, k).
    /// </summary>
    internal TorchTensor Forward(TorchTensor z, ReadOnlySpan<float> states, ReadOnlySpan<float> actions, ReadOnlySpan<float> rewards,
        int sequences, int steps, Device device)
    {
        long g = sequences, k = steps;
        var zt = TorchAutocast.Float(TorchAutocast.Linear(_embedZ, z));                  // (G, k, d) or (G, d)
        if (z.dim() == 2) zt = zt.unsqueeze(1).expand(g, k, -1);                          // (G, k, d) the same z at every step
        var s = _state.Forward(states, device, g, k);                                     // (G, k, d)
        var a = _action.Forward(actions, device, g, k);                                   // (G, k, d)
        var r = _reward.Forward(rewards, device, g, k);                                   // (G, k, d)
        var x = stack([zt, s, a, r], 2).reshape(g, 4 * k, -1);                            // (G, 4k, d)
        return _transformer.forward(x);                                                   // (G, 4k, d)
    }
}

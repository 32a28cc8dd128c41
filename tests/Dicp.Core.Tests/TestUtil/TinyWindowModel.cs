using Dicp.Autograd;
using Dicp.Environments;
using Dicp.Models;
using Dicp.Nn;
using Dicp.Tensors;

namespace Dicp.Core.Tests.TestUtil;

/// <summary>
/// A test-only in-context model for Darkroom-like data: an MLP (with dropout drawn from the module generator) on the
/// last K transitions of the window and the query state, predicting the query's action. Proves trainer, checkpoints and
/// evaluation without the real AD/DPT models.
/// </summary>
internal sealed class TinyWindowModel : ITrainableInContextModel
{
    public const int Actions = 5, PerTransition = 10;
    private readonly TinyNet _net;

    public TinyWindowModel(int sampleSteps, int seed, int lastTransitions = 4, int hidden = 32, float dropout = 0.1f)
    {
        SampleSteps = sampleSteps;
        K = Math.Min(lastTransitions, sampleSteps - 1);
        _net = new TinyNet(PerTransition * K + 2, hidden, dropout, new Generator(seed));
        _net.SetGenerator(new Generator(seed + 1));
    }

    public int K { get; }
    public string Name => "tiny";
    public int ObservationSize => 2;
    public Space ActionSpace { get; } = new DiscreteSpace(Actions);
    public int WindowTransitions => SampleSteps - 1;
    public bool HasDynamics => false;
    public bool HasReturnToGo => false;
    public Module Network => _net;
    public int SampleSteps { get; }

    /// <summary>Features of one sample: K transitions (s/8, one-hot a, r, s'/8) then the query state /8.</summary>
    private static void Encode(Span<float> dst, ReadOnlySpan<float> s, float a, float r, ReadOnlySpan<float> next)
    {
        dst[0] = s[0] / 8f; dst[1] = s[1] / 8f;
        dst.Slice(2, Actions).Clear();
        dst[2 + (int)a] = 1f;
        dst[7] = r;
        dst[8] = next[0] / 8f; dst[9] = next[1] / 8f;
    }

    public TrainingLoss Loss(WindowBatch batch)
    {
        if (batch.Steps != SampleSteps) throw new ArgumentException($"Batch windows have {batch.Steps} steps, the model {SampleSteps}.");
        int b = batch.BatchSize, n = batch.Steps, f = PerTransition * K + 2;
        var x = new float[b * f];
        var y = new int[b];
        for (var i = 0; i < b; i++)
        {
            var row = x.AsSpan(i * f, f);
            for (var j = 0; j < K; j++)
            {
                var t = i * n + n - 1 - K + j;
                Encode(row.Slice(j * PerTransition, PerTransition), batch.States.AsSpan(2 * t, 2), batch.Actions[t], batch.Rewards[t], batch.NextStates.AsSpan(2 * t, 2));
            }
            var q = i * n + n - 1;
            row[^2] = batch.States[2 * q] / 8f; row[^1] = batch.States[2 * q + 1] / 8f;
            y[i] = (int)batch.Actions[q];
        }
        var logits = _net.Forward(Tensor.FromArray(x, b, f));                  // (B, 5)
        var loss = Ops.CrossEntropy(logits, y);
        var correct = 0;
        for (var i = 0; i < b; i++)
            correct += System.Numerics.Tensors.TensorPrimitives.IndexOfMax(logits.Span.Slice(i * Actions, Actions)) == y[i] ? 1 : 0;
        return new TrainingLoss(loss, new Dictionary<string, double> { ["action_loss"] = loss.Item(), ["action_accuracy"] = (double)correct / b });
    }

    public IInContextSession CreateSession(int environments, SessionOptions? options = null) => new Session(this, environments);

    private sealed class TinyNet : Module
    {
        private readonly Linear _fc1, _fc2;
        private readonly float _p;

        public TinyNet(int inputs, int hidden, float p, Generator init)
        {
            _fc1 = RegisterModule("fc1", new Linear(inputs, hidden, true, init));
            _fc2 = RegisterModule("fc2", new Linear(hidden, Actions, true, init));
            _p = p;
        }

        public Tensor Forward(Tensor x)
        {
            var h = Ops.Relu(_fc1.Forward(x));
            if (Training && _p > 0) h = Ops.Dropout(h, _p, Generator);
            return _fc2.Forward(h);
        }
    }

    private sealed class Session(TinyWindowModel model, int environments) : IInContextSession
    {
        private readonly float[] _ctx = new float[environments * model.K * PerTransition];
        private readonly int[] _count = new int[environments];

        public IInContextModel Model => model;
        public int Environments => environments;
        public int ContextLength(int environment) => Math.Min(_count[environment], model.WindowTransitions);
        public bool IsWindowFull(int environment) => ContextLength(environment) == model.WindowTransitions;
        public void Reset() { Array.Clear(_ctx); Array.Clear(_count); }

        public void Append(ReadOnlySpan<float> states, ReadOnlySpan<float> actions, ReadOnlySpan<float> rewards, ReadOnlySpan<float> nextStates, ReadOnlySpan<bool> dones)
        {
            int k = model.K, w = k * PerTransition;
            for (var e = 0; e < environments; e++)
            {
                var ctx = _ctx.AsSpan(e * w, w);
                ctx[PerTransition..].CopyTo(ctx);                                 // slide left by one transition
                Encode(ctx[^PerTransition..], states.Slice(2 * e, 2), actions[e], rewards[e], nextStates.Slice(2 * e, 2));
                _count[e]++;
            }
        }

        public void Policy(ReadOnlySpan<float> observations, Span<float> distribution)
        {
            int f = PerTransition * model.K + 2, w = model.K * PerTransition;
            var x = new float[environments * f];
            for (var e = 0; e < environments; e++)
            {
                _ctx.AsSpan(e * w, w).CopyTo(x.AsSpan(e * f));
                x[e * f + f - 2] = observations[2 * e] / 8f; x[e * f + f - 1] = observations[2 * e + 1] / 8f;
            }
            var training = model._net.Training;
            model._net.Eval();
            using (GradMode.NoGrad())
                model._net.Forward(Tensor.FromArray(x, environments, f)).Span.CopyTo(distribution);
            model._net.Train(training);
        }

        public void Predict(int environment, CandidateBatch candidates, CandidatePredictions predictions) =>
            throw new InvalidOperationException("The tiny test model has no dynamics heads.");
    }
}

// Dicp's engine vs TorchSharp-cpu (libtorch 2.10) side by side in one process, interleaved rep by rep so that both see
// the same machine load: the DICP-AD Darkroom training step (configs/dicp-ad-darkroom.yaml: n_transit 80, d 32,
// 4 layers, 4 heads, SwiGLU 128, dropout 0.1; loss + backward + clip + AdamW) at batch 64 and 512, and the no-grad
// forward of 20 and 1000 sequences of 81 tokens. Prints medians (ms), the ratio TorchSharp / Dicp and the load average.
// Arguments: [threads (2)] [reps (5)] [bf16: also the training steps with TorchSharp in bf16 mixed precision].
using System.Diagnostics;
using System.Globalization;
using Dicp.Models;
using Dicp.Optim;
using Dicp.Tensors;
using Dicp.TorchSharp;
using TorchSharp;

var threads = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 2;
torch.set_num_threads(threads);
var config = new ModelConfig(Model: "ad", Dynamics: true, NTransit: 80, EmbeddingDim: 32, Layers: 4, Heads: 4, Inner: 128, Dropout: 0.1f);
var dicp = (InContextModel)InContextModels.Create(config, seed: 0);
using var ts = TorchInContextModel.FromDicp(dicp);
var dicpParams = dicp.Parameters().ToArray();
var dicpAdam = new AdamW(dicpParams, new AdamOptions(1e-3f));
var tsAdam = new TorchAdamW(ts.parameters(), new AdamOptions(1e-3f));
string Load() => File.ReadAllText("/proc/loadavg").Split(' ')[0];
Console.WriteLine($"processors {Environment.ProcessorCount}, torch threads {torch.get_num_threads()}, load average before {Load()}");

WindowBatch Batch(int b)
{
    var rng = new Random(b);
    var w = new WindowBatch(b, config.NTransit, 2, 1);
    for (var i = 0; i < w.States.Length; i++) { w.States[i] = rng.Next(9); w.NextStates[i] = rng.Next(9); }
    for (var i = 0; i < w.Actions.Length; i++) { w.Actions[i] = rng.Next(5); w.Rewards[i] = rng.Next(2); }
    return w;
}

void DicpTrain(WindowBatch b)
{
    using var scope = TensorScope.Begin();
    dicp.Train();
    dicpAdam.ZeroGrad();
    dicp.Loss(b).Total.Backward();
    GradClip.ClipGradNorm(dicpParams, 1f);
    dicpAdam.Step();
}

void TsTrain(WindowBatch b)
{
    using var scope = torch.NewDisposeScope();
    ts.train();
    tsAdam.ZeroGrad();
    ts.Loss(b).Total.backward();
    tsAdam.ClipGradNorm(1f);
    tsAdam.Step();
}

void DicpForward(WindowBatch b)
{
    using var scope = TensorScope.Begin();
    using var noGrad = Dicp.Autograd.GradMode.NoGrad();
    dicp.Eval();
    _ = dicp.Forward(b).Actions[0];
}

void TsForward(WindowBatch b)
{
    using var scope = torch.NewDisposeScope();
    using var noGrad = torch.no_grad();
    ts.eval();
    _ = ts.Forward(b).Actions.sum().item<float>();
}

void Compare(string name, WindowBatch b, int reps, Action<WindowBatch> d, Action<WindowBatch> t)
{
    d(b); t(b); // warm-up
    var dt = new List<double>();
    var tt = new List<double>();
    for (var r = 0; r < reps; r++)
    {
        var sw = Stopwatch.StartNew(); d(b); dt.Add(sw.Elapsed.TotalMilliseconds);
        sw.Restart(); t(b); tt.Add(sw.Elapsed.TotalMilliseconds);
    }
    double Median(List<double> x) { x.Sort(); return x.Count % 2 == 1 ? x[x.Count / 2] : (x[x.Count / 2 - 1] + x[x.Count / 2]) / 2; }
    double md = Median(dt), mt = Median(tt);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{name,-28} Dicp {md,9:F1} ms (min {dt.Min(),8:F1})   TorchSharp {mt,9:F1} ms (min {tt.Min(),8:F1})   TorchSharp/Dicp {mt / md,5:F2}x   load {Load()}"));
}

var reps = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5;
Compare("forward, 20 x 81 tokens", Batch(20), 3 * reps, DicpForward, TsForward);
Compare("forward, 1000 x 81 tokens", Batch(1000), reps, DicpForward, TsForward);
Compare("train step, batch 64", Batch(64), reps, DicpTrain, TsTrain);
Compare("train step, batch 512", Batch(512), reps, DicpTrain, TsTrain);
if (args.Length > 2 && args[2] == "bf16") // TorchSharp's bf16 mixed precision (TorchPrecision.BFloat16) against Dicp's float32
{
    ts.Precision = TorchPrecision.BFloat16;
    Compare("train step, batch 64, bf16", Batch(64), reps, DicpTrain, TsTrain);
    Compare("train step, batch 512, bf16", Batch(512), reps, DicpTrain, TsTrain);
}
Console.WriteLine($"load average after {Load()}");

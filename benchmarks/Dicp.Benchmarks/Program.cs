using System.Diagnostics;
using System.Globalization;
using Dicp.Benchmarks;

// Stopwatch harness for Dicp's engine on the DICP-AD Darkroom model; the PyTorch twin is benchmarks/torch_twin.py and
// benchmarks/run.sh runs both side by side. Every measurement prints one JSON line on stdout; --verbose adds
// per-step timings on stderr.

const string Usage = """
usage: Dicp.Benchmarks <command> [options]
  ad-train --batch 512 --steps 10 [--warmup 3]   median training step (forward, loss, backward, clip, AdamW)
  ad-infer --batch 20 [--iters 50] [--warmup 5]  median forward under NoGrad + Eval
  alloc    [--batch 64] [--steps 10] [--warmup 5] managed bytes and GC counts per warm training step
  gemm     [--m 41472] [--iters 20]              GFLOP/s of Ops.Linear at the backbone's shapes
  profile  [--batch 512] [--iters 10] [--steps 5] [--only OP|kernels] step split and per-op microbenchmarks at the step's shapes
  parity   [--out FILE] [--batch 4]              weights + batch + eval outputs for torch_twin.py parity
  plan-step [--model ad|idt] [--envs 20] [--beam-k 10] [--samples 5] [--horizon 8] [--iters 5] [--warmup 2] [--naive] [--reserve 0]
                                                 median beam-search planning step of DICP-AD or DICP-IDT (shared prefix, or naive;
                                                 --reserve: SessionOptions.ImaginationReserve, AD)
  plan-predict [--horizon 8] [--iters 20] [--warmup 3]  one beam-search step's world-model calls, shared prefix vs naive
  long-context [--model ad-ml1|idt-ml1|ad-key-to-door] [--batch 8] [--steps 3] [--warmup 1] [--budget-mb 0] [--target-steps 50000] [--compare]
                                                 peak memory and time of a long-context training step, and the estimate
                                                 for the config's batch and steps (--compare: vs saved probabilities)
  attention-compare [--batch 64] [--t 81] [--heads 4] [--hs 8] [--dropout 0.1] [--iters 20]
                                                 attention fwd+bwd, saved probabilities vs recomputation, alternating
  all                                            ad-train 512 and 64, ad-infer 20 and 1000, alloc
common: [--threads N] (re-runs itself with DOTNET_PROCESSOR_COUNT=N), [--verbose]
ad-train and ad-infer warm up for at least 3 s as well as the given number of steps (tiered JIT)
""";

if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
{
    Console.Error.WriteLine(Usage);
    return args.Length == 0 ? 2 : 0;
}

var allowed = new Dictionary<string, string[]>
{
    ["ad-train"] = ["batch", "steps", "warmup"],
    ["ad-infer"] = ["batch", "iters", "warmup"],
    ["alloc"] = ["batch", "steps", "warmup"],
    ["gemm"] = ["m", "iters"],
    ["profile"] = ["batch", "iters", "steps", "only"],
    ["all"] = [],
    ["parity"] = ["out", "batch"],
    ["plan-step"] = ["model", "envs", "beam-k", "samples", "horizon", "iters", "warmup", "naive", "reserve"],
    ["plan-predict"] = ["horizon", "iters", "warmup"],
    ["long-context"] = ["model", "batch", "steps", "warmup", "budget-mb", "target-steps", "compare"],
    ["attention-compare"] = ["batch", "t", "heads", "hs", "dropout", "iters"],
};
Args opts;
try
{
    if (!allowed.TryGetValue(args[0], out var names)) throw new ArgumentException($"Unknown command '{args[0]}'.");
    opts = new Args(args.Skip(1));
    opts.RejectUnknown([.. names, "threads", "verbose"]);
}
catch (ArgumentException e) { Console.Error.WriteLine(e.Message); Console.Error.WriteLine(Usage); return 2; }

var threads = opts.Int("threads", 0);
if (threads > 0 && Environment.ProcessorCount != threads)
{
    // The engine sizes its parallel work by Environment.ProcessorCount and the thread pool; both follow
    // DOTNET_PROCESSOR_COUNT, which must be set before the runtime starts, so re-execute ourselves with it.
    if (Environment.GetEnvironmentVariable("DOTNET_PROCESSOR_COUNT") == threads.ToString(CultureInfo.InvariantCulture))
    {
        Console.Error.WriteLine($"--threads {threads}: the runtime reports {Environment.ProcessorCount} processors even with DOTNET_PROCESSOR_COUNT set.");
        return 1;
    }
    var exe = Environment.ProcessPath ?? "dotnet";
    var psi = new ProcessStartInfo(exe) { UseShellExecute = false };
    if (Path.GetFileNameWithoutExtension(exe) == "dotnet") psi.ArgumentList.Add(typeof(Benchmarks).Assembly.Location);
    foreach (var a in args) psi.ArgumentList.Add(a);
    psi.Environment["DOTNET_PROCESSOR_COUNT"] = threads.ToString(CultureInfo.InvariantCulture);
    using var child = Process.Start(psi)!;
    child.WaitForExit();
    return child.ExitCode;
}

var verbose = opts.Has("verbose");
void Work()
{
    Trainer.WarmJit();
    switch (args[0])
    {
        case "ad-train":
            Benchmarks.AdTrain(opts.Int("batch", 512), opts.Int("steps", 10), opts.Int("warmup", 3), verbose);
            break;
        case "ad-infer":
            Benchmarks.AdInfer(opts.Int("batch", 20), opts.Int("iters", 50), opts.Int("warmup", 5), verbose);
            break;
        case "alloc":
            Benchmarks.Alloc(opts.Int("batch", 64), opts.Int("steps", 10), opts.Int("warmup", 5));
            break;
        case "gemm":
            Benchmarks.GemmBench(opts.Int("m", 512 * 81), opts.Int("iters", 20));
            break;
        case "profile":
            Profile.Run(opts.Int("batch", 512), opts.Int("iters", 10), opts.Int("steps", 5), verbose, opts.Has("only") ? opts.Str("only", "") : null);
            break;
        case "parity":
            Benchmarks.Parity(opts.Str("out", Path.Combine(Path.GetTempPath(), "dicp_parity.safetensors")), opts.Int("batch", 4));
            break;
        case "plan-step":
            PlanStep.Run(opts.Str("model", "ad"), opts.Int("envs", 20), opts.Int("beam-k", 10), opts.Int("samples", 5), opts.Int("horizon", 8),
                opts.Int("iters", 5), opts.Int("warmup", 2), opts.Has("naive"), verbose, opts.Int("reserve", 0));
            break;
        case "plan-predict":
            PlanPredictBench.Run(opts.Int("horizon", 8), opts.Int("iters", 20), opts.Int("warmup", 3));
            break;
        case "long-context":
            LongContext.Run(opts.Str("model", "ad-ml1"), opts.Int("batch", 8), opts.Int("steps", 3), opts.Int("warmup", 1), opts.Int("budget-mb", 0),
                opts.Int("target-steps", 50000), opts.Has("compare"), verbose);
            break;
        case "attention-compare":
            LongContext.CompareAttention(opts.Int("batch", 64), opts.Int("t", 81), opts.Int("heads", 4), opts.Int("hs", 8),
                opts.Float("dropout", 0.1f), opts.Int("iters", 20));
            break;
        case "all":
            Benchmarks.AdTrain(512, 10, 3, verbose);
            Benchmarks.AdTrain(64, 30, 5, verbose);
            Benchmarks.AdInfer(20, 50, 5, verbose);
            Benchmarks.AdInfer(1000, 10, 2, verbose);
            Benchmarks.Alloc(64, 10, 5);
            break;
        default:
            throw new ArgumentException($"Unknown command '{args[0]}'.");
    }
}

try
{
    if (threads > 0)
    {
        // Run on a pool thread (not inlined into the main thread) so that at most `threads` threads compute.
        ThreadPool.SetMaxThreads(threads, Math.Max(threads, 4));
        ThreadPool.SetMinThreads(threads, 1);
        Exception? error = null;
        using var done = new ManualResetEventSlim();
        ThreadPool.UnsafeQueueUserWorkItem(_ =>
        {
            try { Work(); }
            catch (Exception e) { error = e; }
            finally { done.Set(); }
        }, null);
        done.Wait();
        if (error is not null) throw error;
    }
    else
    {
        Work();
    }
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine(Usage);
    return 2;
}
catch (NotSupportedException e)
{
    Console.Error.WriteLine(e.Message);
    return 3;
}
return 0;

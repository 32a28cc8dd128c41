using Dicp.Data;
using Dicp.IO;
using Dicp.TorchSharp;
using Dicp.Training;
using TorchSharp;

namespace Dicp.Cli;

/// <summary>
/// <c>dicp train --backend torchsharp [--device cpu|cuda]</c>: the same run on a TorchSharp device with
/// <see cref="TorchTrainer"/> (Dicp's sampler, losses, AdamW, cosine schedule and clipping); the run directory gets the
/// same <c>metrics.csv</c>, checkpoint format and <c>model.safetensors</c>, so <c>dicp evaluate</c> and the planners run on
/// it with Dicp's engine. The native libtorch comes from the package the CLI is built with
/// (<c>-p:DicpTorchSharpNative=cpu</c>, <c>cuda-linux</c> or <c>cuda-windows</c>).
/// </summary>
internal static class TorchTrainCommand
{
    /// <summary>The <c>--backend</c> values.</summary>
    public static readonly string[] Backends = ["dicp", "torchsharp"];

    /// <summary>The <c>--precision</c> values.</summary>
    public static readonly string[] Precisions = ["fp32", "bf16"];

    /// <summary>Runs the command with the TorchSharp backend; returns the exit code (0 done, 2 bad input, 130 interrupted).</summary>
    internal static int Run(string configPath, string dataDir, string runDir, int? steps, int? seed, string device, CancellationToken ct, string[]? sets = null, string precision = "fp32")
    {
        try
        {
            if (device is not ("cpu" or "cuda")) throw new ConfigException($"--device must be cpu or cuda, got '{device}'.");
            var config = TrainCommand.Override(RunConfig.Load(configPath, sets), steps, seed);
            config.Validate(configPath);
            var manifest = HistoryManifest.Read(dataDir);
            TrainCommand.CheckData(config, configPath, manifest, dataDir);
            if (precision is not ("fp32" or "bf16")) throw new ConfigException($"--precision must be fp32 or bf16, got '{precision}'.");
            var dev = OpenDevice(device);
            using var train = HistoryDataset.Open(dataDir, HistorySplit.Train, config.Data.MaxTrainTasks, config.Data.Streams, config.Data.StepsPerStream, HistoryValueRules.For(config.Model));
            var collected = manifest.Tasks.Select(t => t.Index).ToHashSet();
            using var test = manifest.Split.Test.Any(collected.Contains)
                ? HistoryDataset.Open(dataDir, HistorySplit.Test, config.Data.MaxTestTasks, config.Data.Streams, config.Data.StepsPerStream, HistoryValueRules.For(config.Model)) : null;
            using var model = TorchModel.Create(config.Model, config.Training.Seed);
            using var runLock = TrainCommand.LockRunDirectory(runDir); // held through the training, as dicp train's
            foreach (var line in RunIdentity.Establish(runDir, config, train, test)) Console.Error.WriteLine(line); // the same model and data as the run's, as dicp train
            AtomicFile.WriteAllText(Path.Combine(runDir, RunConfig.FileName), config.ToJson() + "\n");
            var trainer = new TorchTrainer(model, train, test, config.Training, runDir, dev, new ConsoleLogger<TorchTrainer>())
            {
                RunConfigJson = config.ToJson(),
                Precision = precision == "bf16" ? TorchPrecision.BFloat16 : TorchPrecision.Float32,
            };
            Console.Out.WriteLine($"{model.Name} on TorchSharp {dev.type.ToString().ToLowerInvariant()}, {precision} ({torch.get_num_threads()} threads): {model.parameters().Sum(p => p.numel()):N0} parameters");
            var r = trainer.Run(new Progress<TrainingProgress>(p => CliOutput.Info($"step {p.Step}/{p.TotalSteps}  lr {p.LearningRate:E2}  loss {p.Metrics.GetValueOrDefault("loss"):F4}")), ct);
            Console.Out.WriteLine($"done: step {r.FinalStep} in {r.Elapsed.TotalSeconds:F1} s; run directory {runDir}");
            return 0;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("interrupted: a checkpoint of the last completed step was written; run the same command again to resume.");
            return 130;
        }
        catch (Exception e) when (e is ConfigException or IOException or ArgumentException or NotSupportedException or InvalidDataException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
    }

    private static torch.Device OpenDevice(string device)
    {
        try
        {
            if (device == "cuda" && !torch.cuda.is_available())
                throw new ConfigException("--device cuda: TorchSharp sees no CUDA device (build the CLI with -p:DicpTorchSharpNative=cuda-linux or cuda-windows, and check the driver).");
            return device == "cuda" ? torch.CUDA : torch.CPU;
        }
        catch (Exception e) when (e is TypeInitializationException or DllNotFoundException or InvalidOperationException)
        {
            throw new ConfigException("--backend torchsharp: libtorch did not load. Build the CLI with -p:DicpTorchSharpNative=cpu (or cuda-linux, cuda-windows); " +
                "TorchSharp 0.107 needs GLIBCXX_3.4.32 (Debian 13, Ubuntu 24.04, Windows; tools/torchsharp-root.sh runs commands in a Debian 13 root). " +
                e.GetBaseException().Message.Split('\n')[0].Trim());
        }
    }
}

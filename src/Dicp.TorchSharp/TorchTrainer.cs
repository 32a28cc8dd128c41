using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Dicp.Data;
using Dicp.IO;
using Dicp.Optim;
using Dicp.Training;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace Dicp.TorchSharp;

/// <summary>
/// Trains a <see cref="TorchModel"/> (AD, DPT or IDT, with or without DICP heads) on a TorchSharp device (CPU or CUDA) with Dicp's recipe: the same
/// <see cref="WindowSampler"/> (same seed → same windows), the same losses, <see cref="TorchAdamW"/> (Dicp's AdamW
/// update), Dicp's <see cref="CosineSchedule"/> and gradient-norm clipping, all from <see cref="TrainerOptions"/>.
/// </summary>
/// <remarks>
/// <para>The run directory gets what Dicp's trainer writes: <c>metrics.csv</c> (<c>step,lr,loss,grad_norm,{model
/// metrics},test_loss,test_{model metrics}</c>, training values averaged since the previous row),
/// <c>checkpoint.safetensors</c> in Dicp's checkpoint format (model, AdamW moments, step, sampler state) every
/// <see cref="TrainerOptions.CheckpointInterval"/> steps, and <c>model.safetensors</c> with <c>model_config</c> at the
/// end — which Dicp's engine, <c>dicp evaluate</c> and its KV-cached planners load unchanged.</para>
/// <para>Resume: a run directory with a checkpoint is resumed from it (parameters, moments, sampler). Dropout masks (and
/// IDT's ε) come from libtorch's generator, re-seeded from <see cref="TrainerOptions.Seed"/> and the step at start and resume, so a
/// resumed run is deterministic on CPU but not bit-identical to an uninterrupted one (Dicp's engine is).
/// In-context evaluation during training (<see cref="TrainerOptions.InContextEvalInterval"/>) is not run by this trainer.</para>
/// </remarks>
public sealed class TorchTrainer
{
    private readonly TorchModel _model;
    private readonly WindowSampler _sampler;
    private readonly FixedWindowSet? _test;
    private readonly TorchAdamW _optimizer;
    private readonly CosineSchedule _schedule;
    private readonly ILogger _logger;

    /// <summary>Prepares a run; the model is moved to <paramref name="device"/>.</summary>
    /// <exception cref="ArgumentException">The options are invalid or the data do not fit the model.</exception>
    public TorchTrainer(TorchModel model, HistoryDataset train, HistoryDataset? test, TrainerOptions options, string runDirectory,
        Device? device = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(runDirectory);
        options.Validate();
        (_model, Options, RunDirectory) = (model, options, runDirectory);
        _logger = logger ?? NullLogger.Instance;
        Device = device ?? CPU;
        _model.to(Device);
        (_sampler, _test) = Trainer.Windows(model.SampleSteps, model.ReturnConditionedSegment, model.WindowStartStride, model.ObservationSize,
            model.Config.InputObservationSize, train, test, options);
        _optimizer = new TorchAdamW(model.parameters(), new AdamOptions(options.LearningRate, options.Beta1, options.Beta2, options.Eps, options.WeightDecay));
        _schedule = new CosineSchedule(options.LearningRate, options.Steps, options.WarmupSteps, options.MinLearningRate);
    }

    /// <summary>The settings.</summary>
    public TrainerOptions Options { get; }

    /// <summary>The run directory.</summary>
    public string RunDirectory { get; }

    /// <summary>The device the model trains on.</summary>
    public Device Device { get; }

    /// <summary>The optimizer (for inspection and tests).</summary>
    public TorchAdamW Optimizer => _optimizer;

    /// <summary>
    /// The compute precision of training and test passes (the model's <see cref="TorchModel.Precision"/>; default
    /// float32). <see cref="TorchPrecision.BFloat16"/> is this backend's mixed precision (the reference trains with
    /// bf16 autocast): bfloat16 matrix products on float32 master weights, float32 norms, losses and AdamW.
    /// </summary>
    public TorchPrecision Precision
    {
        get => _model.Precision;
        init => _model.Precision = value;
    }

    /// <summary>The caller's whole run configuration as JSON, stored in checkpoints (optional, opaque).</summary>
    public string? RunConfigJson { get; init; }

    /// <summary>One training step on <paramref name="batch"/> at learning rate <paramref name="lr"/>: loss, backward, clip, AdamW.</summary>
    /// <returns>The loss's metrics and the gradient norm before clipping.</returns>
    /// <exception cref="InvalidOperationException">The loss is not finite.</exception>
    public (IReadOnlyDictionary<string, double> Metrics, float GradNorm) Step(Dicp.Models.WindowBatch batch, float lr)
    {
        using var scope = NewDisposeScope();
        _optimizer.LearningRate = lr;
        _optimizer.ZeroGrad();
        var loss = _model.Loss(batch);
        loss.Total.backward();
        var norm = _optimizer.ClipGradNorm(Options.GradClip);
        _optimizer.Step();
        var value = loss.Metrics["loss"];
        if (!double.IsFinite(value))
            throw new InvalidOperationException($"The training loss of {_model.Name} became {value} (learning rate {lr}); lower the learning rate.");
        return (loss.Metrics, norm);
    }

    /// <summary>Trains until <see cref="TrainerOptions.Steps"/>, resuming from the run directory's checkpoint when there is one.</summary>
    /// <exception cref="OperationCanceledException">Cancelled (a checkpoint of the last completed step is written first).</exception>
    /// <exception cref="InvalidDataException">The run directory's checkpoint does not fit the model.</exception>
    public TrainingResult Run(IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var sw = Stopwatch.StartNew();
        Directory.CreateDirectory(RunDirectory);
        var (step, columns) = Restore();
        var start = step;
        random.manual_seed(Options.Seed * 1_000_003L + step);
        var sums = new Dictionary<string, double>(StringComparer.Ordinal);
        var count = 0;
        IReadOnlyDictionary<string, double> lastRow = new Dictionary<string, double>();
        _model.train();
        _logger.LogInformation("Training {Model} on {Device} for {Steps} steps from step {Start} in {Directory}", _model.Name, Device, Options.Steps, start, RunDirectory);
        var lastCheckpoint = step;
        while (step < Options.Steps)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                if (step > lastCheckpoint) SaveCheckpoint(step, columns);
                cancellationToken.ThrowIfCancellationRequested();
            }
            var lr = _schedule.At(step);
            var (metrics, norm) = Step(_sampler.Next(), lr);
            sums["loss"] = sums.GetValueOrDefault("loss") + metrics["loss"];
            sums["grad_norm"] = sums.GetValueOrDefault("grad_norm") + norm;
            foreach (var (k, v) in metrics)
                if (k != "loss") sums[k] = sums.GetValueOrDefault(k) + v;
            count++;
            step++;
            var last = step == Options.Steps;
            var test = _test is not null && (last || (Options.EvalInterval > 0 && step % Options.EvalInterval == 0));
            if (last || test || step % Options.LogInterval == 0)
            {
                var row = new Dictionary<string, double>(StringComparer.Ordinal) { ["step"] = step, ["lr"] = lr };
                foreach (var (k, v) in sums) row[k] = v / count;
                var trainKeys = sums.Keys.Where(k => k is not ("loss" or "grad_norm")).ToList();
                if (test) foreach (var (k, v) in TestMetrics()) row[k] = v;
                columns ??= ["step", "lr", "loss", "grad_norm", .. trainKeys, .. _test is null ? Array.Empty<string>() : ["test_loss", .. trainKeys.Select(k => "test_" + k)]];
                AppendRow(columns, row, writeHeader: !File.Exists(MetricsPath));
                sums.Clear();
                count = 0;
                lastRow = row;
                progress?.Report(new TrainingProgress(step, Options.Steps, lr, row));
            }
            if (last || step % Options.CheckpointInterval == 0)
            {
                SaveCheckpoint(step, columns);
                lastCheckpoint = step;
            }
        }
        if (start < Options.Steps) _model.Save(Path.Combine(RunDirectory, Trainer.ModelFileName));
        return new TrainingResult(start, step, lastRow, sw.Elapsed);
    }

    /// <summary>Mean loss and metrics over the fixed test windows, in evaluation mode without gradients.</summary>
    public Dictionary<string, double> TestMetrics()
    {
        var sums = new Dictionary<string, double>(StringComparer.Ordinal);
        var n = 0;
        _model.eval();
        try
        {
            using var noGrad = no_grad();
            foreach (var batch in _test!.Batches())
            {
                using var scope = NewDisposeScope();
                var loss = _model.Loss(batch);
                var w = batch.BatchSize;
                foreach (var (k, v) in loss.Metrics) sums["test_" + k] = sums.GetValueOrDefault("test_" + k) + v * w;
                n += w;
            }
        }
        finally { _model.train(); }
        foreach (var k in sums.Keys.ToList()) sums[k] /= n;
        return sums;
    }

    private string MetricsPath => Path.Combine(RunDirectory, Trainer.MetricsFileName);

    private void AppendRow(IReadOnlyList<string> columns, Dictionary<string, double> row, bool writeHeader)
    {
        var sb = new StringBuilder();
        if (writeHeader) sb.Append(string.Join(',', columns)).Append('\n');
        sb.Append(string.Join(',', columns.Select(c => row.TryGetValue(c, out var v) ? v.ToString("R", CultureInfo.InvariantCulture) : ""))).Append('\n');
        File.AppendAllText(MetricsPath, sb.ToString());
    }

    private void SaveCheckpoint(int step, IReadOnlyList<string>? columns)
    {
        new TrainingCheckpoint
        {
            Step = step,
            OptimizerSteps = _optimizer.StepCount,
            Model = _model.ToDicpStateDict(),
            Optimizer = _optimizer.GetState(),
            SamplerRng = _sampler.GetState(),
            DropoutRng = [(ulong)Options.Seed, (ulong)step], // libtorch's generator is re-seeded from these on resume
            Pending = MetricSums.Empty(),
            Columns = columns,
            TrainerOptionsJson = JsonSerializer.Serialize(Options, TrainingCheckpoint.Json),
            ModelConfigJson = Dicp.Models.ModelFile.ConfigJson(_model.Config),
            RunConfigJson = RunConfigJson,
        }.Save(TrainingCheckpoint.PathIn(RunDirectory));
    }

    private (int Step, IReadOnlyList<string>? Columns) Restore()
    {
        var path = TrainingCheckpoint.PathIn(RunDirectory);
        if (!File.Exists(path))
        {
            if (File.Exists(MetricsPath)) File.Delete(MetricsPath);
            return (0, null);
        }
        var c = TrainingCheckpoint.Read(path);
        try
        {
            _model.LoadDicpStateDict(c.Model, strict: true);
            _optimizer.SetState(c.Optimizer, c.OptimizerSteps);
        }
        catch (Exception e) when (e is Dicp.Nn.StateDictException or ArgumentException)
        {
            throw new InvalidDataException($"Checkpoint '{path}' does not fit the model {_model.Name}: {e.Message}", e);
        }
        _sampler.SetState(c.SamplerRng);
        if (File.Exists(MetricsPath))
        {
            var kept = File.ReadAllLines(MetricsPath).Where((line, i) => i == 0 ||
                (double.TryParse(line.Split(',', 2)[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s <= c.Step));
            AtomicFile.WriteAllText(MetricsPath, string.Concat(kept.Select(l => l + "\n")));
        }
        _logger.LogInformation("Resuming {Directory} from step {Step}", RunDirectory, c.Step);
        return (c.Step, c.Columns);
    }
}

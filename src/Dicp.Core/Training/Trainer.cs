using System.Diagnostics;
using System.Text.Json;
using Dicp.Data;
using Dicp.IO;
using Dicp.Models;
using Dicp.Nn;
using Dicp.Optim;
using Dicp.Tensors;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dicp.Training;

/// <summary>
/// Trains any <see cref="ITrainableInContextModel"/> on random history windows: AdamW, cosine schedule, gradient
/// clipping, periodic test loss/accuracy and optional in-context evaluation, metrics to <c>metrics.csv</c>, atomic
/// checkpoints in the run directory, and exact resume.
/// </summary>
/// <remarks>
/// <para>Run directory: <c>metrics.csv</c> (header <c>step,lr,loss,grad_norm,{model metrics},test_loss,test_{model
/// metrics},{evaluation metrics}</c>; one row per logging step, training values averaged since the previous row, empty
/// cells where a value was not measured), <see cref="TrainingCheckpoint.FileName"/>, and <c>model.safetensors</c> (the
/// final state dict, reference key names) at the end, and <c>timing.csv</c> (<c>step,steps_per_second,wall_seconds,cpu_seconds</c>
/// per row: the training steps per second since the previous row without test, evaluation and checkpoint time, and the
/// wall and process CPU seconds since this process started the run; it is the one file a resume does not reproduce
/// bit for bit).</para>
/// <para>Exact resume: a checkpoint holds everything that determines the rest of the run (parameters, AdamW moments and
/// step count, the completed steps, the sampler's and the dropout generator's states, the metric sums), so a run that
/// is interrupted (cancellation writes a checkpoint) and resumed writes the same losses, bit for bit, as one that was
/// not. The trainer installs its own dropout generator (seeded from <see cref="TrainerOptions.Seed"/>) on the network
/// with <see cref="Module.SetGenerator"/>: models must draw all training randomness from the module generator.</para>
/// </remarks>
public sealed partial class Trainer
{
    /// <summary>The metrics file's name inside the run directory.</summary>
    public const string MetricsFileName = "metrics.csv";

    /// <summary>The wall-clock file's name inside the run directory (<c>step,steps_per_second,wall_seconds,cpu_seconds</c>).</summary>
    public const string TimingFileName = "timing.csv";

    /// <summary>The final model's file name inside the run directory.</summary>
    public const string ModelFileName = "model.safetensors";

    private readonly ITrainableInContextModel _model;
    private readonly WindowSampler _sampler;
    private readonly FixedWindowSet? _test;
    private readonly Generator _dropout;
    private readonly Parameter[] _parameters;
    private readonly AdamW _optimizer;
    private readonly CosineSchedule _schedule;
    private readonly ILogger<Trainer> _logger;
    private Metrics.TensorBoardWriter? _tensorBoard;

    /// <summary>Prepares a run (nothing is trained or written until <see cref="Run"/>).</summary>
    /// <param name="model">The model to train.</param>
    /// <param name="train">The training histories.</param>
    /// <param name="test">The histories of the test loss (null: no test metrics).</param>
    /// <param name="options">The settings.</param>
    /// <param name="runDirectory">Where metrics and checkpoints go; a checkpoint there is resumed.</param>
    /// <param name="logger">Progress messages (none by default).</param>
    /// <exception cref="ArgumentException">The options are invalid, or the data do not fit the model.</exception>
    public Trainer(ITrainableInContextModel model, HistoryDataset train, HistoryDataset? test, TrainerOptions options, string runDirectory,
        ILogger<Trainer>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(runDirectory);
        options.Validate();
        (_model, Options, RunDirectory) = (model, options, runDirectory);
        _logger = logger ?? NullLogger<Trainer>.Instance;
        (_sampler, _test) = Windows(model.SampleSteps, model.ReturnConditionedSegment, model.WindowStartStride, model.ObservationSize,
            model.InputObservationSize, train, test, options);
        _dropout = new Generator(options.Seed).Derive(1);
        model.Network.SetGenerator(_dropout);
        _parameters = [.. model.Network.Parameters()];
        _optimizer = new AdamW(_parameters, new AdamOptions(options.LearningRate, options.Beta1, options.Beta2, options.Eps, options.WeightDecay));
        _schedule = new CosineSchedule(options.LearningRate, options.Steps, options.WarmupSteps, options.MinLearningRate);
    }

    /// <summary>The settings.</summary>
    public TrainerOptions Options { get; }

    /// <summary>The run directory.</summary>
    public string RunDirectory { get; }

    /// <summary>An optional periodic evaluation (e.g. in-context returns); its metrics become CSV columns.</summary>
    public ITrainingEvaluation? Evaluation { get; init; }

    /// <summary>
    /// The model's configuration, stored in checkpoints and <c>model.safetensors</c>: the model's own
    /// (<see cref="ITrainableInContextModel.Config"/>) unless the model does not know it, in which case it may be given here.
    /// </summary>
    /// <exception cref="ArgumentException">Set to another configuration than the model's own.</exception>
    public ModelConfig? ModelConfig
    {
        get => _modelConfig ?? _model.Config;
        init
        {
            if (value is not null && _model.Config is { } own && own != value)
                throw new ArgumentException($"Trainer.ModelConfig differs from the model's own configuration ({ConfigDiff.Describe(ModelFile.Differences(own, value))}, model → given); leave it unset.", nameof(ModelConfig));
            _modelConfig = value;
        }
    }

    private readonly ModelConfig? _modelConfig;

    /// <summary>
    /// When set, every metric row is also written as TensorBoard scalars (tag = column name, x = step) to an event
    /// file in this directory (e.g. <c>RUN/tensorboard</c>); a resumed run starts a new event file there.
    /// </summary>
    public string? TensorBoardDirectory { get; init; }

    /// <summary>The caller's whole run configuration as JSON, stored in checkpoints (optional, opaque).</summary>
    public string? RunConfigJson { get; init; }

    /// <summary>
    /// The run directory's lock when the caller already holds it (it wrote files there before training and keeps the lock
    /// until <see cref="Run"/> returns); null (the default): <see cref="Run"/> takes the lock itself for the run.
    /// </summary>
    public RunDirectoryLock? RunLock { get; init; }

    /// <summary>
    /// Trains until <see cref="TrainerOptions.Steps"/> steps are done, resuming from the run directory's checkpoint when
    /// there is one.
    /// </summary>
    /// <param name="progress">Receives every metric row.</param>
    /// <param name="cancellationToken">Stops between steps; a checkpoint of the last completed step is written first.</param>
    /// <exception cref="TrainingCancelledException">The run was cancelled (and can be resumed from the step it names).</exception>
    /// <exception cref="InvalidOperationException">The loss became NaN or infinite.</exception>
    /// <exception cref="InvalidDataException">The checkpoint in the run directory is invalid.</exception>
    /// <exception cref="ModelConfigMismatchException">The checkpoint was written for another <see cref="ModelConfig"/> than this trainer's.</exception>
    /// <exception cref="IOException">Another process is training into the run directory (it holds the <see cref="RunDirectoryLock"/>), or the run directory's path is a file.</exception>
    public TrainingResult Run(IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var sw = Stopwatch.StartNew();
        RunLock?.EnsureLocks(RunDirectory);
        using var ownLock = RunLock is null ? RunDirectoryLock.Acquire(RunDirectory) : null; // creates the directory
        var state = Restore();
        var start = state.Step;
        IReadOnlyDictionary<string, double> lastRow = new Dictionary<string, double>();
        _model.Network.Train();
        if (start >= Options.Steps)
            _logger.LogInformation("Run {Directory} is already complete ({Step} of {Steps} steps)", RunDirectory, start, Options.Steps);
        else
            _logger.LogInformation("Training {Model} ({Parameters} parameters) for {Steps} steps from step {Start} in {Directory}",
                _model.Name, _model.Network.ParameterCount(), Options.Steps, start, RunDirectory);
        var lastCheckpoint = start;
        var lr = 0f;
        _tensorBoard = TensorBoardDirectory is not null && start < Options.Steps ? Metrics.TensorBoardWriter.Continue(TensorBoardDirectory, start) : null;
        var timing = new StepTiming(Path.Combine(RunDirectory, TimingFileName), sw);
        try
        {
            while (state.Step < Options.Steps)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    if (state.Step > lastCheckpoint) SaveCheckpoint(state);
                    _logger.LogInformation("Training cancelled after step {Step}; checkpoint written", state.Step);
                    throw new TrainingCancelledException(state.Step, TrainingCheckpoint.PathIn(RunDirectory), cancellationToken);
                }
                lr = _schedule.At(state.Step);
                timing.Resume();
                TrainStep(lr, state);
                timing.Pause();
                var step = ++state.Step;
                var last = step == Options.Steps;
                var test = _test is not null && (last || (Options.EvalInterval > 0 && step % Options.EvalInterval == 0));
                var ice = Evaluation is not null && (last || (Options.InContextEvalInterval > 0 && step % Options.InContextEvalInterval == 0));
                if (last || test || ice || step % Options.LogInterval == 0)
                {
                    try
                    {
                        lastRow = WriteRow(state, lr, test, ice, cancellationToken);
                    }
                    catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                    {
                        // Cancelled inside the in-context evaluation: this step's row is incomplete, so the step is
                        // not checkpointed; the last periodic checkpoint is kept and a rerun redoes the steps after it.
                        _logger.LogInformation("Training cancelled during the evaluation of step {Step}; the checkpoint of step {Kept} is kept", step, lastCheckpoint);
                        throw new TrainingCancelledException(lastCheckpoint, TrainingCheckpoint.PathIn(RunDirectory), cancellationToken);
                    }
                    var rate = timing.Row(step);
                    progress?.Report(new TrainingProgress(step, Options.Steps, lr, lastRow, rate));
                }
                if (last || step % Options.CheckpointInterval == 0)
                {
                    SaveCheckpoint(state);
                    lastCheckpoint = step;
                }
            }
        }
        finally
        {
            _tensorBoard?.Dispose();
            _tensorBoard = null;
        }
        if (start < Options.Steps) SaveModel();
        return new TrainingResult(start, state.Step, lastRow, sw.Elapsed);
    }

    private void TrainStep(float lr, RunState state)
    {
        using var scope = TensorScope.Begin();
        var batch = _sampler.Next();
        _optimizer.LearningRate = lr;
        _optimizer.ZeroGrad();
        var loss = _model.Loss(batch);
        if (loss.Total.Size != 1) throw new InvalidOperationException($"{_model.Name}.Loss returned a tensor of {loss.Total.Size} values; it must be a scalar.");
        loss.Total.Backward();
        var norm = GradClip.ClipGradNorm(_parameters, Options.GradClip);
        _optimizer.Step();
        var value = loss.Total.Item();
        if (!float.IsFinite(value))
            throw new InvalidOperationException($"The training loss of {_model.Name} became {value} at step {state.Step + 1} (learning rate {lr}); lower the learning rate.");
        var sums = state.Pending.Sums;
        Add(sums, "loss", value);
        Add(sums, "grad_norm", norm);
        foreach (var (k, v) in loss.Metrics)
            if (k is not ("loss" or "grad_norm")) Add(sums, k, v); // the models report "loss" too: count it once
        state.Pending = state.Pending with { Count = state.Pending.Count + 1 };
    }

    private static void Add(Dictionary<string, double> sums, string key, double value) =>
        sums[key] = sums.GetValueOrDefault(key) + value;

    private void SaveCheckpoint(RunState state)
    {
        var checkpoint = new TrainingCheckpoint
        {
            Step = state.Step,
            OptimizerSteps = _optimizer.StepCount,
            Model = _model.Network.StateDict(),
            Optimizer = _optimizer.GetState(),
            SamplerRng = _sampler.GetState(),
            DropoutRng = _dropout.GetState(),
            Pending = state.Pending,
            Columns = state.Columns,
            TrainerOptionsJson = JsonSerializer.Serialize(Options, TrainingCheckpoint.Json),
            ModelConfigJson = ModelConfig is null ? null : ModelFile.ConfigJson(ModelConfig),
            RunConfigJson = RunConfigJson,
            Numerics = state.Numerics,
        };
        checkpoint.Save(TrainingCheckpoint.PathIn(RunDirectory));
        _logger.LogDebug("Checkpoint written at step {Step}", state.Step);
    }

    private void SaveModel()
    {
        var path = Path.Combine(RunDirectory, ModelFileName);
        if (ModelConfig is { } config) ModelFile.Save(path, _model, config);
        else SafeTensors.Save(path, _model.Network.StateDict(), new Dictionary<string, string> { ["model"] = _model.Name });
    }

    /// <summary>Loads the checkpoint of the run directory, if any, and trims <c>metrics.csv</c> to it.</summary>
    private RunState Restore()
    {
        var path = TrainingCheckpoint.PathIn(RunDirectory);
        var metrics = Path.Combine(RunDirectory, MetricsFileName);
        if (!File.Exists(path))
        {
            if (File.Exists(metrics)) File.Delete(metrics);
            File.Delete(Path.Combine(RunDirectory, TimingFileName));
            return new RunState { Pending = MetricSums.Empty(), Numerics = Kernels.KernelOptions.Fingerprint };
        }
        var c = TrainingCheckpoint.Read(path);
        var numerics = ResumedNumerics(c, path);
        TrimMetrics(Path.Combine(RunDirectory, TimingFileName), c.Step);
        if (ModelConfig is { } config && c.ModelConfigJson is not null)
            ModelFile.CheckSame(ModelFile.ParseConfig(c.ModelConfigJson, path), config, path);
        var optionsJson = JsonSerializer.Serialize(Options, TrainingCheckpoint.Json);
        if (c.TrainerOptionsJson is not null && c.TrainerOptionsJson != optionsJson)
        {
            var changed = ConfigDiff.Compare(System.Text.Json.Nodes.JsonNode.Parse(c.TrainerOptionsJson), System.Text.Json.Nodes.JsonNode.Parse(optionsJson));
            _logger.LogWarning("Resuming {Directory} with other trainer options than its checkpoint's ({Changes}); the run will differ from an uninterrupted one",
                RunDirectory, ConfigDiff.Describe(changed));
        }
        try
        {
            _model.Network.LoadStateDict(c.Model, strict: true);
            _optimizer.SetState(c.Optimizer, c.OptimizerSteps);
        }
        catch (Exception e) when (e is StateDictException or ArgumentException)
        {
            throw new InvalidDataException($"Checkpoint '{path}' does not fit the model {_model.Name}: {e.Message}", e);
        }
        _sampler.SetState(c.SamplerRng);
        _dropout.SetState(c.DropoutRng);
        TrimMetrics(metrics, c.Step);
        _logger.LogInformation("Resuming {Directory} from step {Step}", RunDirectory, c.Step);
        return new RunState { Step = c.Step, Pending = c.Pending, Columns = c.Columns, Numerics = numerics };
    }

    /// <summary>
    /// The numerics history to record from now on: the checkpoint's, or — when this process's kernels round otherwise
    /// (another <c>DICP_NUMERICS</c> level or instruction set) — the checkpoint's followed by "then" this process's, with a
    /// warning that the run no longer continues bit for bit.
    /// </summary>
    private string ResumedNumerics(TrainingCheckpoint c, string path)
    {
        var current = Kernels.KernelOptions.Fingerprint;
        var recorded = c.Numerics;
        // Checkpoints from before the record were all at level 1; only the level can be compared for them.
        var last = recorded is null ? "numerics 1" : recorded[(recorded.LastIndexOf(", then ", StringComparison.Ordinal) is var i && i >= 0 ? i + 7 : 0)..];
        var same = recorded is null ? Kernels.KernelOptions.Numerics == 1 : last == current;
        if (same) return recorded ?? current;
        _logger.LogWarning("Resuming {Path} (step {Step}, kernels: {Recorded}) with other kernel numerics ({Current}); the run will differ from an uninterrupted one (DICP_NUMERICS selects the level)",
            path, c.Step, recorded ?? "numerics 1 (not recorded)", current);
        return $"{recorded ?? "numerics 1"} until step {c.Step.ToString(System.Globalization.CultureInfo.InvariantCulture)}, then {current}";
    }

    private sealed class RunState
    {
        public int Step { get; set; }

        public required MetricSums Pending { get; set; }

        public IReadOnlyList<string>? Columns { get; set; }

        public required string Numerics { get; set; }
    }

    /// <summary>
    /// The training window sampler and the fixed test windows of a model (its window length, return-to-go segment, start
    /// stride and observation selection), after checking that the histories' observations fit it. The TorchSharp trainer
    /// uses the same, so both backends train on the same windows.
    /// </summary>
    /// <exception cref="ArgumentException">The histories' observation size does not fit the model.</exception>
    internal static (WindowSampler Sampler, FixedWindowSet? Test) Windows(int sampleSteps, int returnsToGoSegment, int startStride,
        int observationSize, int inputObservationSize, HistoryDataset train, HistoryDataset? test, TrainerOptions options)
    {
        if (train.ObservationSize != inputObservationSize)
            throw new ArgumentException(inputObservationSize == observationSize
                ? $"The histories in '{train.Directory}' have {train.ObservationSize} floats per observation, the model expects {observationSize} (model.observation_size; set model.source_observation_size: {train.ObservationSize} to read the first {observationSize})."
                : $"The histories in '{train.Directory}' have {train.ObservationSize} floats per observation, but the model selects the first {observationSize} of {inputObservationSize} (model.source_observation_size: {inputObservationSize}).", nameof(train));
        if (test is not null && test.ObservationSize != train.ObservationSize)
            throw new ArgumentException($"The test histories in '{test.Directory}' have {test.ObservationSize} floats per observation, the train histories {train.ObservationSize}.", nameof(test));
        var sampler = new WindowSampler(train, sampleSteps, options.BatchSize, options.Seed, returnsToGoSegment: returnsToGoSegment,
            startStride: startStride, observationSize: observationSize);
        var fixedSet = test is null ? null : new FixedWindowSet(test, sampleSteps, options.TestWindows, options.BatchSize, options.TestSeed,
            sampler.Batch.OptimalActions is not null, returnsToGoSegment, startStride, observationSize);
        return (sampler, fixedSet);
    }
}

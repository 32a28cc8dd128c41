using System.Globalization;
using Dicp.Data;
using Dicp.Environments;
using Dicp.Evaluation;
using Dicp.Models;
using Dicp.Planning;
using Dicp.Training;
using Xunit;
using Xunit.Abstractions;

namespace Dicp.Cli.Tests;

/// <summary>
/// Point-Robot smoke run of DICP-IDT (continuous): PPO histories of a few goals, <c>dicp train</c> on them, then
/// in-context evaluation on held-out goals with the sampling planner inside Decisions-to-Go.
/// </summary>
public sealed class IdtPointRobotSmokeTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "dicp-idt-point-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private const string Yaml = """
        model:
          model: idt
          dynamics: true
          observation_size: 2
          state_classes: 0
          action_count: 0
          action_size: 2
          reward_classes: 0
          reward_min: -4.0
          reward_max: 0.0
          n_transit: 40
          embedding_dim: 16
          layers: 1
          heads: 2
          inner: 32
          dropout: 0.0
          learn_variance: true
          segment_length: 10
          latent_dim: 4
        data:
          environment: point-robot
          streams: 4
          steps_per_stream: 200
        training:
          steps: 60
          batch_size: 16
          learning_rate: 3.0e-3
          log_interval: 20
          eval_interval: 60
          test_windows: 32
          checkpoint_interval: 60
        planner:
          name: sampling
          samples: 10
          start_step: 0
        """;

    [Fact]
    public async Task CollectTrainAndEvaluateWithSamplingPlanning()
    {
        var tasks = new PointRobotTasks();
        var (train, test) = tasks.Split(tasks.DefaultSplitSeed, tasks.DefaultTrainRatio);
        var data = Path.Combine(_root, "data");
        await new HistoryCollector(tasks, new HistoryCollectionOptions(data, [.. train.Take(4), .. test.Take(2)], Streams: 4, StepsPerStream: 200,
            Seed: 0, MaxParallelism: 1)).RunAsync();
        var config = Path.Combine(_root, "point.yaml");
        File.WriteAllText(config, Yaml);
        var run = Path.Combine(_root, "run");
        Assert.Equal(0, TrainCommand.Run(config, data, run, null, null, CancellationToken.None));

        var lines = File.ReadAllLines(Path.Combine(run, Trainer.MetricsFileName));
        output.WriteLine(string.Join('\n', lines));
        var lossColumn = Array.IndexOf(lines[0].Split(','), "loss");
        double Loss(string line) => double.Parse(line.Split(',')[lossColumn], CultureInfo.InvariantCulture);
        Assert.True(Loss(lines[^1]) < Loss(lines[1]), "the training loss must decrease");

        var model = Assert.IsType<IdtModel>(InContextModels.Load(run));
        Assert.Equal(RunConfig.ReadRun(run).Model, model.Config);
        var envs = test.Take(2).Select(tasks.Create).ToArray();
        var result = InContextEvaluator.Run(model, envs, new SamplingPlanner(new SamplingOptions(StartStep: 0, Seed: 1)), new EvaluationOptions(Episodes: 3, ReportSuccess: true));
        var means = Enumerable.Range(0, 3).Select(e => result.Returns.Average(r => r[e])).ToArray();
        output.WriteLine("DICP-IDT Point-Robot, sampling planner, mean return per episode: " + string.Join(", ", means.Select(m => m.ToString("F2", CultureInfo.InvariantCulture))));
        Assert.All(result.Returns.SelectMany(r => r), r => Assert.InRange(r, -20f * 3f, 0f)); // 20 steps of −distance, within 3 of the goal

        // The reward head decodes into [reward_min, reward_max] = [−4, 0], so candidates get distinct negative rewards the
        // planner can rank (with the reference's [0, max] clip they would all read 0).
        var session = model.CreateSession(1, new SessionOptions(TargetReturns: [-20f], Seed: 3));
        var policy = new float[4];
        session.Policy([0f, 0f], policy);
        const int n = 10;
        var actions = new float[2 * n];
        for (var i = 0; i < n; i++) { actions[2 * i] = MathF.Cos(i * MathF.PI / 5); actions[2 * i + 1] = MathF.Sin(i * MathF.PI / 5); }
        var queries = new float[2 * n];
        var predictions = new CandidatePredictions(new float[n], new float[2 * n], null, new float[4 * n]);
        session.Predict(0, new CandidateBatch(n, 0, [], [], [], [], queries, actions), predictions);
        output.WriteLine("predicted rewards of 10 directions from (0, 0): " + string.Join(", ", predictions.Rewards.Select(r => r.ToString("F3", CultureInfo.InvariantCulture))));
        Assert.All(predictions.Rewards, r => Assert.InRange(r, -4f, 0f));
        Assert.True(predictions.Rewards.Max() - predictions.Rewards.Min() > 1e-3f, "the candidates' predicted rewards must differ");
    }
}

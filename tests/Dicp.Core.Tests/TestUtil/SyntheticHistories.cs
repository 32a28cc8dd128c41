using System.Text.Json.Nodes;
using Dicp.Data;
using Dicp.Environments;
using Dicp.Tensors;

namespace Dicp.Core.Tests.TestUtil;

/// <summary>Writes small history collections for data, training and evaluation tests (no PPO needed).</summary>
internal static class SyntheticHistories
{
    /// <summary>
    /// Values that encode their position: state = (task, s·10000 + t), action = t mod 5, reward = t,
    /// next state = state + 0.5, done where t mod 20 = 19, optimal action = (task + s + t) mod 5.
    /// </summary>
    public static void WriteIndexed(string dir, int[] tasks, int streams, int steps, int[]? train = null, int[]? test = null)
    {
        foreach (var task in tasks)
        {
            int n = streams * steps;
            float[] st = new float[n * 2], act = new float[n], rew = new float[n], next = new float[n * 2];
            var done = new byte[n];
            var opt = new int[n];
            for (var s = 0; s < streams; s++)
                for (var t = 0; t < steps; t++)
                {
                    var k = s * steps + t;
                    (st[2 * k], st[2 * k + 1]) = (task, s * 10000 + t);
                    (next[2 * k], next[2 * k + 1]) = (task + 0.5f, s * 10000 + t + 0.5f);
                    act[k] = t % 5;
                    rew[k] = t;
                    done[k] = (byte)(t % 20 == 19 ? 1 : 0);
                    opt[k] = (task + s + t) % 5;
                }
            Save(dir, "darkroom", task, [task], streams, steps, st, act, rew, next, done, opt);
        }
        Manifest(dir, "darkroom", tasks, i => [i], streams, steps, train ?? tasks, test ?? []);
    }

    /// <summary>
    /// Darkroom histories of a scripted "learner": in each stream, the optimal action with probability rising linearly
    /// from 0.5 to 0.95 over the stream, otherwise a uniformly random action.
    /// </summary>
    public static void WriteDarkroom(string dir, int[] tasks, int streams, int steps, int[] train, int[] test, int seed = 0)
    {
        var set = new DarkroomTasks();
        var rng = new Generator(seed);
        foreach (var task in tasks)
        {
            int n = streams * steps;
            float[] st = new float[n * 2], act = new float[n], rew = new float[n], next = new float[n * 2];
            var done = new byte[n];
            var opt = new int[n];
            for (var s = 0; s < streams; s++)
            {
                var env = set.Create(task);
                var obs = new float[2];
                env.Reset(0, obs);
                for (var t = 0; t < steps; t++)
                {
                    var k = s * steps + t;
                    obs.CopyTo(st, 2 * k);
                    opt[k] = env.OptimalAction();
                    var p = 0.5 + 0.45 * t / Math.Max(1, steps - 1);
                    var a = rng.NextDouble() < p ? opt[k] : rng.NextInt(5);
                    act[k] = a;
                    var r = env.Step([a], next.AsSpan(2 * k, 2));
                    rew[k] = r.Reward;
                    done[k] = (byte)(r.Done ? 1 : 0);
                    if (r.Done) env.Reset(0, obs);
                    else next.AsSpan(2 * k, 2).CopyTo(obs);
                }
            }
            Save(dir, "darkroom", task, set.Describe(task), streams, steps, st, act, rew, next, done, opt);
        }
        Manifest(dir, "darkroom", tasks, set.Describe, streams, steps, train, test);
    }

    private static void Save(string dir, string env, int task, int[] describe, int streams, int steps, float[] st, float[] act, float[] rew,
        float[] next, byte[] done, int[] opt)
    {
        var info = new TaskHistoryInfo(env, task, describe, "scripted", "{}", task, streams, steps);
        new TaskHistory(info, 2, 1, st, act, rew, next, done, opt).Save(Path.Combine(dir, HistoryFormat.TaskFileName(task)));
    }

    private static void Manifest(string dir, string env, int[] tasks, Func<int, int[]> describe, int streams, int steps, int[] train, int[] test)
    {
        var entries = tasks.Select(i => new ManifestTask(i, describe(i), HistoryFormat.TaskFileName(i))).ToArray();
        new HistoryManifest(HistoryFormat.Version, env, entries, new ManifestSplit(0, 0.9, train, test), "scripted", new JsonObject(),
            0, streams, steps).Write(dir);
    }
}

using System.Globalization;
using System.Text.Json.Nodes;
using Dicp.Data;
using PureHDF;

namespace Dicp.Interop;

/// <summary>Where the authors' task groups go in Dicp's history format.</summary>
/// <param name="Environment">Dicp's environment name (<c>darkroom</c>, <c>darkroom-permuted</c>, <c>dark-key-to-door</c>, …).</param>
/// <param name="Tasks">Task parameters of group <c>i</c> (e.g. the goal cell), in group order: the authors' files do not store them.</param>
/// <param name="Train">Task indices of the training split.</param>
/// <param name="Test">Task indices of the test split.</param>
/// <param name="SplitSeed">Recorded in the manifest.</param>
/// <param name="TrainRatio">Recorded in the manifest.</param>
/// <param name="Algorithm">The source algorithm recorded in the manifest and the task files.</param>
/// <param name="Seed">The collection seed recorded in the manifest and the task files.</param>
public sealed record AuthorsHistoryOptions(string Environment, IReadOnlyList<int[]> Tasks, int[] Train, int[] Test, int SplitSeed = 0,
    double TrainRatio = 0.9, string Algorithm = "ppo", int Seed = 0);

/// <summary>
/// Imports the authors' HDF5 learning histories (their <c>collect_data.py</c>): one group per task named by its index,
/// each with datasets <c>states</c> (T, S, O), <c>actions</c> (T, S) or (T, S, A), <c>rewards</c> (T, S),
/// <c>next_states</c> (T, S, O), <c>dones</c> (T, S) — time-major, as their callback stacks the vectorised steps — and
/// optionally <c>optimal_actions</c> (S, T). Writes Dicp's format: one <c>task-NNNNN.safetensors</c> per task (stream-major
/// (S, T, …)) and <c>manifest.json</c>, which <see cref="HistoryDataset"/> opens.
/// </summary>
public static class AuthorsHistoryImport
{
    /// <summary>Imports every group of <paramref name="hdf5Path"/> into <paramref name="outputDirectory"/>.</summary>
    /// <returns>The manifest written.</returns>
    /// <exception cref="InvalidDataException">A group or dataset is missing or has the wrong shape; the message names the file, the group and the dataset.</exception>
    /// <exception cref="ArgumentException">The options do not match the file (task count).</exception>
    public static HistoryManifest Import(string hdf5Path, string outputDirectory, AuthorsHistoryOptions options)
    {
        ArgumentException.ThrowIfNullOrEmpty(hdf5Path);
        ArgumentException.ThrowIfNullOrEmpty(outputDirectory);
        ArgumentNullException.ThrowIfNull(options);
        if (!File.Exists(hdf5Path)) throw new FileNotFoundException($"'{hdf5Path}' does not exist.", hdf5Path);
        using var file = H5File.OpenRead(hdf5Path);
        var groups = file.Children().Select(c => c.Name).Where(n => int.TryParse(n, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            .Select(n => int.Parse(n, CultureInfo.InvariantCulture)).Order().ToArray();
        if (groups.Length == 0) throw new InvalidDataException($"'{hdf5Path}': no task groups ('0', '1', …).");
        if (!groups.SequenceEqual(Enumerable.Range(0, groups.Length)))
            throw new InvalidDataException($"'{hdf5Path}': task groups must be 0 … {groups.Length - 1}, found {string.Join(", ", groups)}.");
        if (options.Tasks.Count != groups.Length)
            throw new ArgumentException($"AuthorsHistoryOptions.Tasks has {options.Tasks.Count} entries; '{hdf5Path}' has {groups.Length} task groups.", nameof(options));
        Directory.CreateDirectory(outputDirectory);
        var manifestTasks = new List<ManifestTask>();
        int streams = 0, steps = 0;
        var hyper = new JsonObject { ["source"] = "authors' HDF5", ["file"] = Path.GetFileName(hdf5Path) };
        foreach (var i in groups)
        {
            var g = file.Group(i.ToString(CultureInfo.InvariantCulture));
            string Where(string ds) => $"'{hdf5Path}': group '{i}', dataset '{ds}'";
            var (states, sDims) = Read(g, "states", Where);
            if (sDims.Length != 3) throw new InvalidDataException($"{Where("states")}: shape must be (T, S, O), got ({string.Join(", ", sDims)}).");
            int t = sDims[0], s = sDims[1], o = sDims[2];
            if (i == 0) (streams, steps) = (s, t);
            else if (s != streams || t != steps)
                throw new InvalidDataException($"{Where("states")}: {s} streams × {t} steps, group 0 has {streams} × {steps}.");
            var (actions, aDims) = Read(g, "actions", Where);
            var a = aDims.Length == 2 ? 1 : aDims.Length == 3 ? aDims[2] : -1;
            Expect(aDims, [t, s, .. a == 1 && aDims.Length == 2 ? Array.Empty<int>() : [a]], Where("actions"));
            var (rewards, rDims) = Read(g, "rewards", Where);
            Expect(rDims, [t, s], Where("rewards"));
            var (next, nDims) = Read(g, "next_states", Where);
            Expect(nDims, [t, s, o], Where("next_states"));
            var (dones, dDims) = Read(g, "dones", Where);
            Expect(dDims, [t, s], Where("dones"));
            int[]? optimal = null;
            if (g.LinkExists("optimal_actions"))
            {
                var (opt, oDims) = Read(g, "optimal_actions", Where);
                Expect(oDims, [s, t], Where("optimal_actions"));
                optimal = [.. opt.Select(v => (int)v)];
            }
            var info = new TaskHistoryInfo(options.Environment, i, options.Tasks[i], options.Algorithm, hyper.ToJsonString(), options.Seed, s, t);
            var history = new TaskHistory(info, o, a, TimeMajorToStreamMajor(states, t, s, o), TimeMajorToStreamMajor(actions, t, s, a),
                TimeMajorToStreamMajor(rewards, t, s, 1), TimeMajorToStreamMajor(next, t, s, o),
                [.. TimeMajorToStreamMajor(dones, t, s, 1).Select(v => v != 0 ? (byte)1 : (byte)0)], optimal);
            var name = $"task-{i:D5}.safetensors";
            history.Save(Path.Combine(outputDirectory, name));
            manifestTasks.Add(new ManifestTask(i, options.Tasks[i], name));
        }
        var manifest = new HistoryManifest(1, options.Environment, manifestTasks,
            new ManifestSplit(options.SplitSeed, options.TrainRatio, options.Train, options.Test), options.Algorithm, hyper, options.Seed, streams, steps);
        manifest.Write(outputDirectory);
        return manifest;
    }

    /// <summary>(T, S, k) → (S, T, k).</summary>
    private static float[] TimeMajorToStreamMajor(float[] x, int t, int s, int k)
    {
        var y = new float[x.Length];
        for (var ti = 0; ti < t; ti++)
            for (var si = 0; si < s; si++)
                x.AsSpan((ti * s + si) * k, k).CopyTo(y.AsSpan((si * t + ti) * k, k));
        return y;
    }

    private static void Expect(int[] dims, int[] expected, string where)
    {
        if (!dims.SequenceEqual(expected))
            throw new InvalidDataException($"{where}: shape must be ({string.Join(", ", expected)}), got ({string.Join(", ", dims)}).");
    }

    /// <summary>A dataset's values as floats (int8/16/32/64, float32/64, or h5py's boolean enum) and its shape.</summary>
    private static (float[] Values, int[] Dims) Read(IH5Group group, string name, Func<string, string> where)
    {
        if (!group.LinkExists(name)) throw new InvalidDataException($"{where(name)}: missing.");
        var ds = group.Dataset(name);
        var dims = ds.Space.Dimensions.Select(d => checked((int)d)).ToArray();
        var type = ds.Type;
        float[] values = (type.Class, type.Size) switch
        {
            (H5DataTypeClass.FloatingPoint, 4) => ds.Read<float[]>(),
            (H5DataTypeClass.FloatingPoint, 8) => [.. ds.Read<double[]>().Select(v => (float)v)],
            (H5DataTypeClass.FixedPoint, 4) => [.. ds.Read<int[]>().Select(v => (float)v)],
            (H5DataTypeClass.FixedPoint, 8) => [.. ds.Read<long[]>().Select(v => (float)v)],
            (H5DataTypeClass.FixedPoint, 2) => [.. ds.Read<short[]>().Select(v => (float)v)],
            (H5DataTypeClass.FixedPoint or H5DataTypeClass.Enumerated, 1) => [.. ds.Read<byte[]>().Select(v => (float)v)],
            _ => throw new InvalidDataException($"{where(name)}: unsupported type {type.Class} of {type.Size} bytes."),
        };
        return (values, dims);
    }
}

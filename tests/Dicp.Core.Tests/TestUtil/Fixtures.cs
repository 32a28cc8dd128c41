using System.Globalization;
using Dicp.IO;

namespace Dicp.Tests.TestUtil;

/// <summary>Loads the PyTorch golden files written by <c>tools/make_fixtures.py</c> (committed; no Python at test time).</summary>
public static class Fixtures
{
    private static readonly Dictionary<string, SafeTensorsFile> Cache = [];

    public static SafeTensorsFile Load(string name)
    {
        lock (Cache)
        {
            if (!Cache.TryGetValue(name, out var f))
                Cache[name] = f = SafeTensorsFile.Read(Path.Combine(AppContext.BaseDirectory, "Fixtures", name));
            return f;
        }
    }

    public static double Number(this SafeTensorsFile f, string key) => double.Parse(f.Metadata[key], CultureInfo.InvariantCulture);

    public static int[] Ints(this SafeTensorsFile f, string key) =>
        f.Metadata[key].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
}

using System.Globalization;

namespace Dicp.Benchmarks;

/// <summary>Hand-rolled "--name value" / "--flag" parsing (no packages).</summary>
public sealed class Args
{
    private readonly Dictionary<string, string?> _values = new(StringComparer.Ordinal);

    /// <summary>Parses everything after the subcommand.</summary>
    public Args(IEnumerable<string> args)
    {
        string? pending = null;
        foreach (var a in args)
        {
            if (a.StartsWith("--", StringComparison.Ordinal))
            {
                if (pending is not null) _values[pending] = null;
                var eq = a.IndexOf('=', StringComparison.Ordinal);
                if (eq > 0) { _values[a[2..eq]] = a[(eq + 1)..]; pending = null; }
                else pending = a[2..];
            }
            else if (pending is not null) { _values[pending] = a; pending = null; }
            else throw new ArgumentException($"Unexpected argument '{a}'.");
        }
        if (pending is not null) _values[pending] = null;
    }

    /// <summary>Whether the option was given.</summary>
    public bool Has(string name) => _values.ContainsKey(name);

    /// <summary>An integer option, or <paramref name="fallback"/>.</summary>
    public int Int(string name, int fallback)
    {
        if (!_values.TryGetValue(name, out var v)) return fallback;
        if (v is null || !int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var x))
            throw new ArgumentException($"--{name} needs an integer, got '{v}'.");
        return x;
    }

    /// <summary>A floating-point option, or <paramref name="fallback"/>.</summary>
    public float Float(string name, float fallback)
    {
        if (!_values.TryGetValue(name, out var v)) return fallback;
        if (v is null || !float.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) || !float.IsFinite(x))
            throw new ArgumentException($"--{name} needs a number, got '{v}'.");
        return x;
    }

    /// <summary>A string option, or <paramref name="fallback"/>.</summary>
    public string Str(string name, string fallback)
    {
        if (!_values.TryGetValue(name, out var v)) return fallback;
        return v ?? throw new ArgumentException($"--{name} needs a value.");
    }

    /// <summary>Throws if an option outside <paramref name="known"/> was given.</summary>
    public void RejectUnknown(IReadOnlyCollection<string> known)
    {
        var unknown = _values.Keys.Where(k => !known.Contains(k)).ToList();
        if (unknown.Count > 0) throw new ArgumentException($"Unknown option(s): {string.Join(", ", unknown.Select(k => "--" + k))}.");
    }
}

using System.Globalization;
using System.Text;

namespace Dicp.Benchmarks;

/// <summary>Writes one flat JSON object per line (keys in insertion order).</summary>
public sealed class JsonLine
{
    private readonly StringBuilder _sb = new("{");

    /// <summary>Adds a string field.</summary>
    public JsonLine Add(string key, string value) => Raw(key, "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"");

    /// <summary>Adds an integer field.</summary>
    public JsonLine Add(string key, long value) => Raw(key, value.ToString(CultureInfo.InvariantCulture));

    /// <summary>Adds a number with a fixed number of significant decimals.</summary>
    public JsonLine Add(string key, double value, int decimals = 3) =>
        Raw(key, double.IsFinite(value) ? Math.Round(value, decimals).ToString("0.######", CultureInfo.InvariantCulture) : "null");

    /// <summary>Adds a boolean field.</summary>
    public JsonLine Add(string key, bool value) => Raw(key, value ? "true" : "false");

    private JsonLine Raw(string key, string json)
    {
        if (_sb.Length > 1) _sb.Append(',');
        _sb.Append('"').Append(key).Append("\":").Append(json);
        return this;
    }

    /// <summary>Prints the line to stdout and flushes.</summary>
    public void Print()
    {
        Console.Out.WriteLine(_sb.ToString() + "}");
        Console.Out.Flush();
    }
}

namespace Dicp.Data;

/// <summary>A history file or manifest is missing, malformed or does not match what was expected.</summary>
public sealed class HistoryFormatException : IOException
{
    /// <summary>Creates the exception.</summary>
    public HistoryFormatException() { }

    /// <summary>Creates the exception with a message.</summary>
    public HistoryFormatException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and a cause.</summary>
    public HistoryFormatException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>Creates the exception for <paramref name="field"/> of <paramref name="filePath"/>.</summary>
    /// <param name="filePath">The offending file.</param>
    /// <param name="field">The array or metadata key at fault (null for the file as a whole).</param>
    /// <param name="problem">What is wrong.</param>
    /// <param name="innerException">The underlying error, if any.</param>
    public HistoryFormatException(string filePath, string? field, string problem, Exception? innerException = null)
        : base(field is null ? $"History file '{filePath}': {problem}" : $"History file '{filePath}', field '{field}': {problem}", innerException)
    {
        FilePath = filePath;
        Field = field;
    }

    /// <summary>The offending file, when known.</summary>
    public string? FilePath { get; }

    /// <summary>The offending array or metadata key, when known.</summary>
    public string? Field { get; }
}

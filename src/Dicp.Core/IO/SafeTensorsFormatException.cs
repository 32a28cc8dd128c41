namespace Dicp.IO;

/// <summary>A safetensors file is malformed: its message names the file and what is wrong with it.</summary>
/// <remarks>
/// Derives from <see cref="IOException"/> (<see cref="InvalidDataException"/> is sealed), so code that handles I/O
/// failures while loading a checkpoint also handles corrupt files.
/// </remarks>
public sealed class SafeTensorsFormatException : IOException
{
    /// <summary>Creates an exception with a default message.</summary>
    public SafeTensorsFormatException()
        : base("The safetensors data is malformed.")
    {
    }

    /// <summary>Creates an exception with the given message.</summary>
    /// <param name="message">What is wrong.</param>
    public SafeTensorsFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with the given message and cause.</summary>
    /// <param name="message">What is wrong.</param>
    /// <param name="innerException">The underlying error (for example a JSON parse error).</param>
    public SafeTensorsFormatException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception for <paramref name="filePath"/> whose message names the file and the problem.</summary>
    /// <param name="filePath">The file (or in-memory source name) that is malformed.</param>
    /// <param name="problem">What is wrong with it.</param>
    /// <param name="innerException">The underlying error, if any.</param>
    public SafeTensorsFormatException(string filePath, string problem, Exception? innerException)
        : base($"Invalid safetensors file '{filePath}': {problem}", innerException)
    {
        FilePath = filePath;
        Problem = problem;
    }

    /// <summary>The malformed file, when known.</summary>
    public string? FilePath { get; }

    /// <summary>What is wrong, without the file name, when known.</summary>
    public string? Problem { get; }
}

namespace Dicp.Environments.MuJoCo;

/// <summary>An error raised by MuJoCo (trapped by the native shim instead of MuJoCo's default <c>exit()</c>) or by the binding.</summary>
public sealed class MuJoCoException : Exception
{
    /// <summary>Creates the exception with a message.</summary>
    public MuJoCoException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    public MuJoCoException(string message, Exception inner) : base(message, inner) { }

    /// <summary>Creates the exception with no message.</summary>
    public MuJoCoException() : base("MuJoCo error.") { }
}

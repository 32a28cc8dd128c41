using Dicp.IO;

namespace Dicp.Training;

/// <summary>
/// The exclusive lock of a run directory: one training process at a time may write a run's checkpoint, metrics and
/// model. <see cref="Trainer.Run"/> takes it for the whole run unless its caller already holds it
/// (<see cref="Trainer.RunLock"/>, for work the caller does in the directory before training, such as writing the run's
/// configuration). A second process that tries to train into the same directory fails at once with a message naming the
/// directory, instead of two runs overwriting each other's checkpoints. The lock is the operating system's (an advisory
/// <c>flock</c> on the empty file <see cref="FileName"/>): it is released when the process ends, however it ends.
/// </summary>
public sealed class RunDirectoryLock : IDisposable
{
    /// <summary>The lock file's name inside the run directory (it stays there, empty).</summary>
    public const string FileName = ".train.lock";

    private readonly DirectoryLock _lock;

    private RunDirectoryLock(DirectoryLock directoryLock, string directory) => (_lock, Directory) = (directoryLock, directory);

    /// <summary>The locked run directory, as given.</summary>
    public string Directory { get; }

    /// <summary>How long <see cref="Acquire"/> waits for the lock: long enough to ride out a momentary probe
    /// (<see cref="IsInUse"/>, <c>dicp status</c>), far shorter than any training.</summary>
    public static TimeSpan Wait { get; } = TimeSpan.FromSeconds(2);

    /// <summary>Whether another process is training into <paramref name="runDirectory"/> now (holds its lock). The probe
    /// takes the lock for an instant when it is free; a trainer starting in that instant waits for it (<see cref="Wait"/>).</summary>
    public static bool IsInUse(string runDirectory) => DirectoryLock.IsHeldElsewhere(runDirectory, FileName);

    /// <summary>Creates the run directory if needed and takes its lock, waiting at most <see cref="Wait"/> for another process's.</summary>
    /// <param name="runDirectory">The run directory.</param>
    /// <exception cref="IOException">The path is a file, or another process holds the directory's lock (the message names both).</exception>
    /// <exception cref="UnauthorizedAccessException">The directory cannot be created or written.</exception>
    public static RunDirectoryLock Acquire(string runDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(runDirectory);
        if (File.Exists(runDirectory)) throw new IOException($"'{runDirectory}' is a file, not a run directory.");
        System.IO.Directory.CreateDirectory(runDirectory);
        return new RunDirectoryLock(DirectoryLock.Acquire(runDirectory, FileName, "training process", Wait, CancellationToken.None), runDirectory);
    }

    /// <summary>Throws unless this lock is still held and locks <paramref name="runDirectory"/>.</summary>
    /// <exception cref="InvalidOperationException">The lock was released, or it locks another directory.</exception>
    internal void EnsureLocks(string runDirectory)
    {
        if (!_lock.IsHeld) throw new InvalidOperationException($"The lock of run directory '{Directory}' was released before training.");
        if (!string.Equals(Path.GetFullPath(runDirectory).TrimEnd(Path.DirectorySeparatorChar), Path.GetFullPath(Directory).TrimEnd(Path.DirectorySeparatorChar), StringComparison.Ordinal))
            throw new InvalidOperationException($"Trainer.RunLock locks '{Directory}', not the trainer's run directory '{runDirectory}'.");
    }

    /// <summary>Releases the lock.</summary>
    public void Dispose() => _lock.Dispose();
}

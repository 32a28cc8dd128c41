using Dicp.IO;
using Xunit;

namespace Dicp.Tests.IO;

/// <summary>
/// <see cref="FileLink.LinkOrCopy"/>: a hard link where the file system allows it (the two names are one file: a write
/// through one shows through the other), a copy across volumes (an independent file), never a partial or overwritten
/// destination, never a temporary file left behind.
/// </summary>
public sealed class FileLinkTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "dicp-link-" + Guid.NewGuid().ToString("N"));
    private readonly List<string> _others = [];

    public FileLinkTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        foreach (var d in _others.Append(_dir))
            if (Directory.Exists(d)) Directory.Delete(d, recursive: true);
    }

    private string Source()
    {
        var path = Path.Combine(_dir, "source.bin");
        File.WriteAllBytes(path, [1, 2, 3, 4]);
        return path;
    }

    private static void Append(string path, byte value)
    {
        using var s = new FileStream(path, FileMode.Append, FileAccess.Write);
        s.WriteByte(value);
    }

    [Fact]
    public void OnOneVolumeTheDestinationIsTheSameFile()
    {
        var source = Source();
        var destination = Path.Combine(_dir, "sub", "linked.bin");
        Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
        Assert.True(FileLink.LinkOrCopy(source, destination));
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, File.ReadAllBytes(destination));
        Append(source, 5);
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5 }, File.ReadAllBytes(destination)); // one inode, two names
        Assert.Equal(["linked.bin"], Directory.GetFiles(Path.GetDirectoryName(destination)!).Select(Path.GetFileName));
    }

    [Fact]
    public void AcrossVolumesTheDestinationIsAnIndependentCopy()
    {
        // /dev/shm is a tmpfs on Linux, another volume than the temporary folder's (skipped where it is not).
        var shm = "/dev/shm";
        if (!Directory.Exists(shm) || new DriveInfo(shm).Name == new DriveInfo(_dir).Name) return;
        var other = Path.Combine(shm, "dicp-link-" + Guid.NewGuid().ToString("N"));
        _others.Add(other);
        Directory.CreateDirectory(other);
        var source = Source();
        var destination = Path.Combine(other, "copied.bin");
        Assert.False(FileLink.LinkOrCopy(source, destination));
        Append(source, 5);
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, File.ReadAllBytes(destination));
        Assert.Equal(["copied.bin"], Directory.GetFiles(other).Select(Path.GetFileName));
    }

    [Fact]
    public void AnExistingDestinationIsNeverReplacedAndNoTemporaryStays()
    {
        var source = Source();
        var destination = Path.Combine(_dir, "existing.bin");
        File.WriteAllBytes(destination, [9]);
        Assert.Throws<IOException>(() => FileLink.LinkOrCopy(source, destination));
        Assert.Equal(new byte[] { 9 }, File.ReadAllBytes(destination));
        Assert.Equal(["existing.bin", "source.bin"], Directory.GetFiles(_dir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }
}

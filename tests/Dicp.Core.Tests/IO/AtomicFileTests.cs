using System.Text;
using Dicp.IO;
using Xunit;

namespace Dicp.Tests.IO;

public sealed class AtomicFileTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "dicp-atomic-" + Guid.NewGuid().ToString("N"));

    public AtomicFileTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private string[] FilesIn(string dir) =>
        Directory.GetFiles(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;

    [Fact]
    public void Write_CreatesFileAndMissingParentDirectories()
    {
        var path = Path.Combine(_dir, "a", "b", "out.bin");
        AtomicFile.Write(path, s => s.Write([1, 2, 3]));
        Assert.Equal(new byte[] { 1, 2, 3 }, File.ReadAllBytes(path));
        Assert.Equal(["out.bin"], FilesIn(Path.GetDirectoryName(path)!));
    }

    [Fact]
    public void Write_ReplacesExistingFile()
    {
        var path = Path.Combine(_dir, "out.txt");
        File.WriteAllText(path, "old content that is longer");
        AtomicFile.WriteAllText(path, "new");
        Assert.Equal("new", File.ReadAllText(path));
        Assert.Equal(["out.txt"], FilesIn(_dir));
    }

    [Fact]
    public void Write_ThrowingCallback_KeepsPreviousContentAndLeavesNoTempFile()
    {
        var path = Path.Combine(_dir, "state.json");
        File.WriteAllText(path, "previous");
        var boom = new InvalidOperationException("boom");

        var thrown = Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, s =>
        {
            s.Write(Encoding.UTF8.GetBytes("partial new content"));
            throw boom;
        }));

        Assert.Same(boom, thrown);
        Assert.Equal("previous", File.ReadAllText(path));
        Assert.Equal(["state.json"], FilesIn(_dir));
    }

    [Fact]
    public void Write_ThrowingCallback_WithoutPreviousFile_CreatesNothing()
    {
        var path = Path.Combine(_dir, "never.bin");
        Assert.Throws<IOException>(() => AtomicFile.Write(path, _ => throw new IOException("disk full")));
        Assert.False(File.Exists(path));
        Assert.Empty(FilesIn(_dir));
    }

    [Fact]
    public void Write_OntoDirectory_FailsAndLeavesNoTempFile()
    {
        var target = Path.Combine(_dir, "sub");
        Directory.CreateDirectory(target);
        var ex = Record.Exception(() => AtomicFile.WriteAllBytes(target, [1, 2, 3]));
        Assert.NotNull(ex);
        Assert.True(Directory.Exists(target));
        Assert.Empty(FilesIn(_dir));
    }

    [Fact]
    public void WriteAllText_WritesUtf8WithoutBom()
    {
        var path = Path.Combine(_dir, "t.txt");
        AtomicFile.WriteAllText(path, "héllo ✓");
        Assert.Equal(Encoding.UTF8.GetBytes("héllo ✓"), File.ReadAllBytes(path));
    }

    [Fact]
    public void WriteAllBytes_WritesBytes()
    {
        var path = Path.Combine(_dir, "b.bin");
        byte[] data = [0, 255, 7, 42];
        AtomicFile.WriteAllBytes(path, data);
        Assert.Equal(data, File.ReadAllBytes(path));
        AtomicFile.WriteAllBytes(path, []);
        Assert.Empty(File.ReadAllBytes(path));
    }

    [Fact]
    public void Write_RejectsBadArguments()
    {
        Assert.Throws<ArgumentException>(() => AtomicFile.Write("", _ => { }));
        Assert.Throws<ArgumentNullException>(() => AtomicFile.Write(Path.Combine(_dir, "x"), null!));
        Assert.Throws<ArgumentException>(() => AtomicFile.Write(_dir + Path.DirectorySeparatorChar, _ => { }));
    }
}

using Dicp.Tensors;

namespace Dicp.IO;

/// <summary>One-call saving and loading of float32 tensor dictionaries in the safetensors format.</summary>
/// <remarks>
/// For integer tensors, metadata or per-tensor control use <see cref="SafeTensorsWriter"/> and
/// <see cref="SafeTensorsFile"/> directly.
/// </remarks>
public static class SafeTensors
{
    /// <summary>Saves float32 tensors (in enumeration order) and optional metadata to <paramref name="path"/> atomically.</summary>
    /// <param name="path">The file to create or replace; its directory is created if missing.</param>
    /// <param name="tensors">The tensors by name.</param>
    /// <param name="metadata">Optional string metadata, written under <c>__metadata__</c>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="path"/>, <paramref name="tensors"/> or a tensor is <c>null</c>.</exception>
    /// <exception cref="ArgumentException">A name is empty, reserved or repeated, or <paramref name="path"/> is invalid.</exception>
    /// <exception cref="IOException">The file could not be written.</exception>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(tensors);
        var writer = new SafeTensorsWriter();
        foreach (var (name, tensor) in tensors) writer.Add(name, tensor);
        if (metadata is not null)
            foreach (var (key, value) in metadata) writer.SetMetadata(key, value);
        writer.Save(path);
    }

    /// <summary>Loads every tensor of a safetensors file as float32 (F64, F16 and BF16 are converted), in header order.</summary>
    /// <param name="path">The file to read.</param>
    /// <returns>The tensors by name; each tensor's <see cref="Tensor.Name"/> is its key.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="IOException">The file could not be read.</exception>
    /// <exception cref="SafeTensorsFormatException">The file is not a well-formed safetensors file.</exception>
    /// <exception cref="InvalidOperationException">An entry has an integer or boolean dtype.</exception>
    public static IReadOnlyDictionary<string, Tensor> Load(string path)
    {
        var file = SafeTensorsFile.Read(path);
        var result = new Dictionary<string, Tensor>(file.Names.Count, StringComparer.Ordinal);
        foreach (var name in file.Names) result.Add(name, file.GetTensor(name));
        return result;
    }
}

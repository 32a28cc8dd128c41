using System.Collections;
using System.IO.Compression;
using Razorvine.Pickle;
using DicpTensor = Dicp.Tensors.Tensor;

namespace Dicp.Interop;

/// <summary>
/// Reads PyTorch's <c>torch.save</c> files (the zip format of PyTorch 1.6 and later: <c>{name}/data.pkl</c> plus one
/// <c>{name}/data/{key}</c> entry per storage) without Python or libtorch, through a pickle reader that rebuilds tensors
/// from their storages, offsets and strides.
/// </summary>
/// <remarks>
/// Tensors become Dicp float32 tensors (float16, bfloat16 and float64 storages are converted; integer tensors become
/// <see cref="PtIntTensor"/>); dictionaries become <see cref="IDictionary"/>, lists and tuples <c>object[]</c> or
/// <see cref="ArrayList"/>, numbers <c>int</c>, <c>long</c> or <c>double</c>. The authors' training script saves
/// <c>{"model": state_dict, "optimizer": …, "lr_sched": …, "step": int}</c>.
/// </remarks>
public static class PtCheckpoint
{
    /// <summary>Loads the whole pickled object of a <c>.pt</c> file.</summary>
    /// <exception cref="InvalidDataException">The file is not a zip-format PyTorch file or a tensor is malformed (the message names the file).</exception>
    public static object? Load(string path)
    {
        try
        {
            using var zip = ZipFile.OpenRead(path);
            var pkl = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) || e.FullName == "data.pkl")
                ?? throw new InvalidDataException($"'{path}': no data.pkl entry; not a PyTorch zip-format file (saved by torch.save with PyTorch ≥ 1.6).");
            var prefix = pkl.FullName[..^"data.pkl".Length];
            using var stream = pkl.Open();
            using var unpickler = new TorchUnpickler(zip, prefix, path);
            return unpickler.load(stream);
        }
        catch (InvalidDataException e) when (e.Message.StartsWith('\''))
        {
            throw;
        }
        catch (Exception e) when (e is InvalidDataException or PickleException or InvalidCastException or IndexOutOfRangeException or ArgumentException)
        {
            throw new InvalidDataException($"'{path}': {e.Message}", e);
        }
    }

    /// <summary>
    /// The float tensors of a checkpoint's state dict as Dicp tensors: the dictionary under <paramref name="key"/>
    /// (<c>"model"</c> for the authors' checkpoints; null when the file holds the state dict itself), with a leading
    /// <c>module.</c> (DataParallel) or <c>_orig_mod.</c> (torch.compile) removed from every key.
    /// </summary>
    /// <exception cref="InvalidDataException">The file or the key does not hold a state dict.</exception>
    public static IReadOnlyDictionary<string, DicpTensor> LoadStateDict(string path, string? key = "model")
    {
        var root = Load(path);
        var dict = root as IDictionary ?? throw new InvalidDataException($"'{path}': the pickled object is a {root?.GetType().Name ?? "null"}, not a dictionary.");
        if (key is not null)
            dict = (dict.Contains(key) ? dict[key] : null) as IDictionary
                ?? throw new InvalidDataException($"'{path}': no state dict under key '{key}' (keys: {string.Join(", ", dict.Keys.Cast<object>())}).");
        var result = new Dictionary<string, DicpTensor>(StringComparer.Ordinal);
        foreach (DictionaryEntry e in dict)
        {
            var name = (string)e.Key;
            foreach (var p in new[] { "module.", "_orig_mod." })
                if (name.StartsWith(p, StringComparison.Ordinal)) name = name[p.Length..];
            if (e.Value is DicpTensor t)
            {
                t.Name = name;
                result[name] = t;
            }
        }
        return result;
    }
}

/// <summary>An integer tensor of a <c>.pt</c> file: its values as long and its shape.</summary>
/// <param name="Values">Row-major values.</param>
/// <param name="Shape">The shape.</param>
public sealed record PtIntTensor(long[] Values, int[] Shape);

internal sealed class TorchUnpickler : Unpickler
{
    private readonly ZipArchive _zip;
    private readonly string _prefix, _path;

    static TorchUnpickler()
    {
        foreach (var (name, dtype) in new[] { ("FloatStorage", "float32"), ("DoubleStorage", "float64"), ("HalfStorage", "float16"),
                     ("BFloat16Storage", "bfloat16"), ("LongStorage", "int64"), ("IntStorage", "int32"), ("ShortStorage", "int16"),
                     ("CharStorage", "int8"), ("ByteStorage", "uint8"), ("BoolStorage", "bool") })
            registerConstructor("torch", name, new StorageType(dtype));
        registerConstructor("torch._utils", "_rebuild_tensor_v2", new RebuildTensor());
        registerConstructor("torch._utils", "_rebuild_parameter", new RebuildParameter());
        registerConstructor("collections", "OrderedDict", new OrderedDictConstructor());
    }

    public TorchUnpickler(ZipArchive zip, string prefix, string path) => (_zip, _prefix, _path) = (zip, prefix, path);

    protected override object persistentLoad(object pid)
    {
        // ('storage', storage_type, key, location, numel)
        if (pid is not object[] { Length: >= 5 } t || t[0] as string != "storage" || t[1] is not StorageType type)
            throw new InvalidDataException($"'{_path}': unsupported persistent id {pid}.");
        var key = Convert.ToString(t[2], System.Globalization.CultureInfo.InvariantCulture);
        var entry = _zip.GetEntry($"{_prefix}data/{key}") ?? throw new InvalidDataException($"'{_path}': storage '{key}' is missing.");
        using var s = entry.Open();
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        return new Storage(type.DType, ms.ToArray());
    }

    internal sealed class StorageType(string dtype) : IObjectConstructor
    {
        public string DType { get; } = dtype;

        public object construct(object[] args) => this;
    }

    internal sealed record Storage(string DType, byte[] Bytes)
    {
        public int ElementSize => DType switch { "float64" or "int64" => 8, "float32" or "int32" => 4, "float16" or "bfloat16" or "int16" => 2, _ => 1 };

        public int Count => Bytes.Length / ElementSize;

        public double At(long i)
        {
            var b = Bytes.AsSpan(checked((int)i * ElementSize), ElementSize);
            return DType switch
            {
                "float32" => BitConverter.ToSingle(b),
                "float64" => BitConverter.ToDouble(b),
                "float16" => (double)BitConverter.ToHalf(b),
                "bfloat16" => BitConverter.Int32BitsToSingle(BitConverter.ToUInt16(b) << 16),
                "int64" => BitConverter.ToInt64(b),
                "int32" => BitConverter.ToInt32(b),
                "int16" => BitConverter.ToInt16(b),
                "int8" => (sbyte)b[0],
                _ => b[0],
            };
        }
    }

    /// <summary>torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]).</summary>
    private sealed class RebuildTensor : IObjectConstructor
    {
        public object construct(object[] args)
        {
            if (args.Length < 4 || args[0] is not Storage storage) throw new InvalidDataException("a tensor without its storage.");
            var offset = Convert.ToInt64(args[1], System.Globalization.CultureInfo.InvariantCulture);
            var size = ((object[])args[2]).Select(x => Convert.ToInt32(x, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            var stride = ((object[])args[3]).Select(x => Convert.ToInt64(x, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            if (size.Length != stride.Length || size.Any(s => s < 0)) throw new InvalidDataException("a tensor's size and stride do not match.");
            var n = size.Aggregate(1L, (a, s) => a * s);
            var index = new int[size.Length];
            var values = new double[n];
            for (long i = 0; i < n; i++)
            {
                long at = offset;
                for (var d = 0; d < size.Length; d++) at += index[d] * stride[d];
                if (at < 0 || at >= storage.Count) throw new InvalidDataException($"a tensor reads element {at} of a storage of {storage.Count}.");
                values[i] = storage.At(at);
                for (var d = size.Length - 1; d >= 0; d--) // row-major odometer
                {
                    if (++index[d] < size[d]) break;
                    index[d] = 0;
                }
            }
            if (storage.DType.StartsWith("float", StringComparison.Ordinal) || storage.DType == "bfloat16")
                return new DicpTensor(values.Select(v => (float)v).ToArray(), size);
            return new PtIntTensor(values.Select(v => (long)v).ToArray(), size);
        }
    }

    /// <summary>torch._utils._rebuild_parameter(data, requires_grad, backward_hooks): the tensor itself.</summary>
    private sealed class RebuildParameter : IObjectConstructor
    {
        public object construct(object[] args) => args[0];
    }

    private sealed class OrderedDictConstructor : IObjectConstructor
    {
        public object construct(object[] args) => new PickledOrderedDict();
    }

    /// <summary>An OrderedDict; its pickled attributes (a state dict's <c>_metadata</c>) are kept aside.</summary>
    internal sealed class PickledOrderedDict : Hashtable
    {
        public Hashtable? Attributes { get; private set; }

        public void __setstate__(Hashtable state) => Attributes = state;
    }
}

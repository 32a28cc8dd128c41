namespace Dicp.IO;

/// <summary>The element types of the safetensors format; the member names are the format's own dtype strings.</summary>
public enum SafeTensorDType
{
    /// <summary>32-bit IEEE 754 float.</summary>
    F32,

    /// <summary>64-bit IEEE 754 float.</summary>
    F64,

    /// <summary>16-bit IEEE 754 half-precision float.</summary>
    F16,

    /// <summary>16-bit bfloat16 (the upper half of a float32).</summary>
    BF16,

    /// <summary>64-bit signed integer.</summary>
    I64,

    /// <summary>32-bit signed integer.</summary>
    I32,

    /// <summary>16-bit signed integer.</summary>
    I16,

    /// <summary>8-bit signed integer.</summary>
    I8,

    /// <summary>8-bit unsigned integer.</summary>
    U8,

    /// <summary>Boolean stored as one byte (0 or 1).</summary>
    BOOL,
}

/// <summary>Describes one tensor stored in a safetensors file.</summary>
/// <param name="DType">The element type.</param>
/// <param name="Shape">The dimensions (empty for a scalar).</param>
/// <param name="ByteLength">The number of bytes the tensor occupies in the data buffer.</param>
public sealed record SafeTensorInfo(SafeTensorDType DType, int[] Shape, long ByteLength);

/// <summary>Sizes, names and categories of <see cref="SafeTensorDType"/> values.</summary>
internal static class SafeTensorDTypes
{
    public static int SizeOf(SafeTensorDType dtype) => dtype switch
    {
        SafeTensorDType.F64 or SafeTensorDType.I64 => 8,
        SafeTensorDType.F32 or SafeTensorDType.I32 => 4,
        SafeTensorDType.F16 or SafeTensorDType.BF16 or SafeTensorDType.I16 => 2,
        SafeTensorDType.I8 or SafeTensorDType.U8 or SafeTensorDType.BOOL => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown safetensors dtype."),
    };

    public static string ToName(SafeTensorDType dtype) => dtype switch
    {
        SafeTensorDType.F32 => "F32",
        SafeTensorDType.F64 => "F64",
        SafeTensorDType.F16 => "F16",
        SafeTensorDType.BF16 => "BF16",
        SafeTensorDType.I64 => "I64",
        SafeTensorDType.I32 => "I32",
        SafeTensorDType.I16 => "I16",
        SafeTensorDType.I8 => "I8",
        SafeTensorDType.U8 => "U8",
        SafeTensorDType.BOOL => "BOOL",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown safetensors dtype."),
    };

    /// <summary>Parses a dtype string exactly as the format spells it (case-sensitive).</summary>
    public static bool TryParse(string name, out SafeTensorDType dtype)
    {
        SafeTensorDType? d = name switch
        {
            "F32" => SafeTensorDType.F32,
            "F64" => SafeTensorDType.F64,
            "F16" => SafeTensorDType.F16,
            "BF16" => SafeTensorDType.BF16,
            "I64" => SafeTensorDType.I64,
            "I32" => SafeTensorDType.I32,
            "I16" => SafeTensorDType.I16,
            "I8" => SafeTensorDType.I8,
            "U8" => SafeTensorDType.U8,
            "BOOL" => SafeTensorDType.BOOL,
            _ => null,
        };
        dtype = d.GetValueOrDefault();
        return d.HasValue;
    }

    public static bool IsFloat(SafeTensorDType dtype) =>
        dtype is SafeTensorDType.F32 or SafeTensorDType.F64 or SafeTensorDType.F16 or SafeTensorDType.BF16;

    public static bool IsInteger(SafeTensorDType dtype) =>
        dtype is SafeTensorDType.I64 or SafeTensorDType.I32 or SafeTensorDType.I16 or SafeTensorDType.I8 or SafeTensorDType.U8;

    /// <summary>Throws on big-endian machines: the format and the readers/writers here are little-endian only.</summary>
    public static void EnsureLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("Dicp's safetensors reader and writer support little-endian machines only.");
    }
}

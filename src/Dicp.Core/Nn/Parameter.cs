using Dicp.Tensors;

namespace Dicp.Nn;

/// <summary>A trainable tensor owned by a <see cref="Module"/> (always <see cref="Tensor.RequiresGrad"/>).</summary>
public sealed class Parameter : Tensor
{
    /// <summary>Creates a parameter over <paramref name="data"/> with the given shape.</summary>
    public Parameter(float[] data, ReadOnlySpan<int> shape) : base(data, shape, requiresGrad: true) { }

    /// <summary>Creates a zero-filled parameter.</summary>
    public Parameter(params int[] shape) : base(new float[ShapeUtil.Numel(shape, nameof(shape))], shape, requiresGrad: true) { }
}

using System.Globalization;
using System.Text;
using Dicp.Tensors;

namespace Dicp.Environments;

/// <summary>
/// The set of valid values of an observation or an action. Every value is a flat vector of <see cref="Size"/> floats;
/// a discrete value is one float holding its integer index.
/// </summary>
public abstract class Space
{
    /// <summary>The number of floats in one value of this space.</summary>
    public abstract int Size { get; }

    /// <summary>Whether <paramref name="value"/> (exactly <see cref="Size"/> floats) is a member of this space.</summary>
    public abstract bool Contains(ReadOnlySpan<float> value);

    /// <summary>Writes a uniformly random member of this space into <paramref name="destination"/> (<see cref="Size"/> floats).</summary>
    /// <remarks>Unbounded dimensions of a <see cref="BoxSpace"/> are sampled from a standard normal instead.</remarks>
    public abstract void Sample(Generator rng, Span<float> destination);

    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="destination"/> holds exactly <see cref="Size"/> floats.</summary>
    protected void CheckLength(ReadOnlySpan<float> destination, string paramName)
    {
        if (destination.Length != Size)
            throw new ArgumentException($"{this} values have {Size} floats, got a buffer of {destination.Length}.", paramName);
    }
}

/// <summary>The integers <c>0 … N−1</c>, stored as one float holding the index.</summary>
public sealed class DiscreteSpace : Space
{
    /// <summary>Creates the space of <paramref name="n"/> choices.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="n"/> is not positive.</exception>
    public DiscreteSpace(int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), $"A discrete space needs at least one choice, got {n}.");
        N = n;
    }

    /// <summary>The number of choices.</summary>
    public int N { get; }

    /// <inheritdoc/>
    public override int Size => 1;

    /// <summary>Whether <paramref name="value"/> is an integral float index in <c>[0, N)</c>.</summary>
    public bool Contains(float value) => value >= 0f && value < N && value == MathF.Floor(value);

    /// <inheritdoc/>
    public override bool Contains(ReadOnlySpan<float> value) => value.Length == 1 && Contains(value[0]);

    /// <inheritdoc/>
    public override void Sample(Generator rng, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(rng);
        CheckLength(destination, nameof(destination));
        destination[0] = rng.NextInt(N);
    }

    /// <summary>
    /// Reads the index held by a one-float action; throws <see cref="ArgumentException"/> when the buffer is not one
    /// float or the value is NaN, not integral or outside <c>[0, N)</c>.
    /// </summary>
    public int ToIndex(ReadOnlySpan<float> action)
    {
        if (action.Length != 1)
            throw new ArgumentException($"A {this} action is one float holding the index, got {action.Length} floats.", nameof(action));
        var a = action[0];
        if (!Contains(a))
            throw new ArgumentException($"Invalid action {a.ToString(CultureInfo.InvariantCulture)} for {this}: expected an integer in [0, {N}).", nameof(action));
        return (int)a;
    }

    /// <inheritdoc/>
    public override string ToString() => $"Discrete({N})";
}

/// <summary>
/// The axis-aligned box <c>[low, high]</c> of float vectors of length <c>low.Length</c> (its shape). Bounds may be
/// infinite; a member must be finite (no NaN, no infinity) and inside the bounds.
/// </summary>
public sealed class BoxSpace : Space
{
    private readonly float[] _low;
    private readonly float[] _high;

    /// <summary>Creates the box <c>[low, high]</c>; the arrays are copied.</summary>
    /// <exception cref="ArgumentException">The bounds are empty, have different lengths, contain NaN, or some low exceeds its high.</exception>
    public BoxSpace(float[] low, float[] high)
    {
        ArgumentNullException.ThrowIfNull(low);
        ArgumentNullException.ThrowIfNull(high);
        if (low.Length == 0) throw new ArgumentException("A box space needs at least one dimension.", nameof(low));
        if (low.Length != high.Length)
            throw new ArgumentException($"Box bounds differ in length: low has {low.Length}, high has {high.Length}.", nameof(high));
        for (var i = 0; i < low.Length; i++)
        {
            if (float.IsNaN(low[i]) || float.IsNaN(high[i])) throw new ArgumentException($"Box bound {i} is NaN.", nameof(low));
            if (low[i] > high[i]) throw new ArgumentException($"Box bound {i}: low {low[i]} exceeds high {high[i]}.", nameof(low));
        }
        _low = (float[])low.Clone();
        _high = (float[])high.Clone();
    }

    /// <summary>The lower bounds, one per dimension.</summary>
    public ReadOnlySpan<float> Low => _low;

    /// <summary>The upper bounds, one per dimension.</summary>
    public ReadOnlySpan<float> High => _high;

    /// <summary>The length of the vectors (the box's shape is <c>(Size,)</c>).</summary>
    public override int Size => _low.Length;

    /// <inheritdoc/>
    public override bool Contains(ReadOnlySpan<float> value)
    {
        if (value.Length != _low.Length) return false;
        for (var i = 0; i < value.Length; i++)
        {
            var v = value[i];
            if (!float.IsFinite(v) || v < _low[i] || v > _high[i]) return false;
        }
        return true;
    }

    /// <inheritdoc/>
    public override void Sample(Generator rng, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(rng);
        CheckLength(destination, nameof(destination));
        for (var i = 0; i < destination.Length; i++)
        {
            float lo = _low[i], hi = _high[i];
            destination[i] = (float.IsFinite(lo), float.IsFinite(hi)) switch
            {
                (true, true) => Math.Clamp(rng.Uniform(lo, hi), lo, hi),
                (true, false) => lo + MathF.Abs((float)rng.NextNormal()),
                (false, true) => hi - MathF.Abs((float)rng.NextNormal()),
                _ => (float)rng.NextNormal(),
            };
        }
    }

    /// <inheritdoc/>
    public override string ToString()
    {
        var sb = new StringBuilder("Box(low=[");
        for (var i = 0; i < _low.Length; i++) sb.Append(i == 0 ? "" : ", ").Append(_low[i].ToString(CultureInfo.InvariantCulture));
        sb.Append("], high=[");
        for (var i = 0; i < _high.Length; i++) sb.Append(i == 0 ? "" : ", ").Append(_high[i].ToString(CultureInfo.InvariantCulture));
        return sb.Append("])").ToString();
    }
}

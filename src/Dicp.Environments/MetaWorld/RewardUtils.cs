namespace Dicp.Environments.MetaWorld;

/// <summary>A 3-vector of doubles (positions in metres) with the few operations the reward functions need.</summary>
/// <param name="X">x coordinate.</param>
/// <param name="Y">y coordinate.</param>
/// <param name="Z">z coordinate.</param>
public readonly record struct Vec3(double X, double Y, double Z)
{
    /// <summary>Reads three values from <paramref name="source"/> starting at <paramref name="offset"/>.</summary>
    public static Vec3 From(ReadOnlySpan<double> source, int offset = 0) => new(source[offset], source[offset + 1], source[offset + 2]);

    /// <summary>Component-wise sum.</summary>
    public static Vec3 operator +(Vec3 a, Vec3 b) => new(a.X + b.X, a.Y + b.Y, a.Z + b.Z);

    /// <summary>Component-wise difference.</summary>
    public static Vec3 operator -(Vec3 a, Vec3 b) => new(a.X - b.X, a.Y - b.Y, a.Z - b.Z);

    /// <summary>Scaling.</summary>
    public static Vec3 operator *(Vec3 a, double s) => new(a.X * s, a.Y * s, a.Z * s);

    /// <summary>Component-wise product.</summary>
    public Vec3 Scale(double sx, double sy, double sz) => new(X * sx, Y * sy, Z * sz);

    /// <summary>Euclidean norm <c>√(x² + y² + z²)</c>.</summary>
    public double Norm() => Math.Sqrt(X * X + Y * Y + Z * Z);

    /// <summary>The norm of the (x, z) components (Meta-World's "xz" distances).</summary>
    public double NormXZ() => Math.Sqrt(X * X + Z * Z);

    /// <summary>The norm of the (x, y) components.</summary>
    public double NormXY() => Math.Sqrt(X * X + Y * Y);

    /// <summary>Writes the three values into <paramref name="destination"/> at <paramref name="offset"/>.</summary>
    public void CopyTo(Span<double> destination, int offset = 0)
    {
        destination[offset] = X;
        destination[offset + 1] = Y;
        destination[offset + 2] = Z;
    }
}

/// <summary>
/// Meta-World's reward utilities (from dm_control): <c>tolerance</c> with the long-tail sigmoid,
/// <c>hamacher_product</c> and <c>rect_prism_tolerance</c>, in double precision as in Python.
/// </summary>
public static class RewardUtils
{
    /// <summary>The value of <see cref="Tolerance"/> at <c>margin</c> distance from the bounds (0.1).</summary>
    public const double ValueAtMargin = 0.1;

    /// <summary>
    /// 1 inside <c>[lower, upper]</c>; outside, the long-tail sigmoid <c>1 / ((d·s)² + 1)</c> of the normalised distance
    /// <c>d = distance to the nearest bound / margin</c> with <c>s = √(1/0.1 − 1) = 3</c>; a margin of 0 gives 0 outside.
    /// </summary>
    /// <exception cref="ArgumentException">lower &gt; upper or a negative margin (Python raises ValueError).</exception>
    public static double Tolerance(double x, double lower, double upper, double margin)
    {
        if (lower > upper) throw new ArgumentException($"tolerance: lower bound {lower} exceeds upper bound {upper}.");
        if (margin < 0) throw new ArgumentException($"tolerance: margin must be non-negative, got {margin}.");
        if (lower <= x && x <= upper) return 1.0;
        if (margin == 0) return 0.0;
        var d = (x < lower ? lower - x : x - upper) / margin;
        var scale = Math.Sqrt(1.0 / ValueAtMargin - 1.0);
        var t = d * scale;
        return 1.0 / (t * t + 1.0);
    }

    /// <summary>
    /// 1 inside <c>[lower, upper]</c>; outside, the Gaussian sigmoid <c>exp(−½ (d·s)²)</c> of the normalised distance
    /// with <c>s = √(−2 ln 0.1)</c> (0.1 at one margin); a margin of 0 gives 0 outside.
    /// </summary>
    /// <exception cref="ArgumentException">lower &gt; upper or a negative margin.</exception>
    public static double ToleranceGaussian(double x, double lower, double upper, double margin)
    {
        if (lower > upper) throw new ArgumentException($"tolerance: lower bound {lower} exceeds upper bound {upper}.");
        if (margin < 0) throw new ArgumentException($"tolerance: margin must be non-negative, got {margin}.");
        if (lower <= x && x <= upper) return 1.0;
        if (margin == 0) return 0.0;
        var d = (x < lower ? lower - x : x - upper) / margin;
        var t = d * Math.Sqrt(-2 * Math.Log(ValueAtMargin));
        return Math.Exp(-0.5 * t * t);
    }

    /// <summary>The Hamacher t-norm <c>ab / (a + b − ab)</c> (0 when the denominator is 0).</summary>
    /// <exception cref="ArgumentOutOfRangeException">An input is outside [0, 1].</exception>
    public static double HamacherProduct(double a, double b)
    {
        if (!(a >= 0 && a <= 1 && b >= 0 && b <= 1))
            throw new ArgumentOutOfRangeException(nameof(a), $"hamacher_product needs inputs in [0, 1], got {a} and {b}.");
        var denominator = a + b - a * b;
        return denominator > 0 ? a * b / denominator : 0.0;
    }

    /// <summary>
    /// Inside the axis-aligned prism spanned by <paramref name="zero"/> and <paramref name="one"/>: the product of the
    /// three normalised coordinates <c>(curr − zero) / (one − zero)</c>; outside: 1.
    /// </summary>
    public static double RectPrismTolerance(Vec3 curr, Vec3 zero, Vec3 one)
    {
        static bool InRange(double a, double b, double c) => c >= b ? b <= a && a <= c : c <= a && a <= b;
        if (!(InRange(curr.X, zero.X, one.X) && InRange(curr.Y, zero.Y, one.Y) && InRange(curr.Z, zero.Z, one.Z))) return 1.0;
        var diff = one - zero;
        return (curr.X - zero.X) / diff.X * ((curr.Y - zero.Y) / diff.Y) * ((curr.Z - zero.Z) / diff.Z);
    }

    /// <summary>
    /// The quaternion (x, y, z, w) of a row-major rotation matrix as SciPy's <c>Rotation.from_matrix(m).as_quat()</c>
    /// computes it (largest of the diagonal and the trace picks the formula; not canonicalised), which Meta-World
    /// puts in the observation of most tasks.
    /// </summary>
    public static void MatrixToQuatXyzw(ReadOnlySpan<double> m, Span<double> q)
    {
        double m00 = m[0], m11 = m[4], m22 = m[8];
        var trace = m00 + m11 + m22;
        var choice = 0;
        var best = m00;
        if (m11 > best) { best = m11; choice = 1; }
        if (m22 > best) { best = m22; choice = 2; }
        if (trace > best) choice = 3;
        if (choice != 3)
        {
            int i = choice, j = (i + 1) % 3, k = (j + 1) % 3;
            q[i] = 1 - trace + 2 * m[i * 3 + i];
            q[j] = m[j * 3 + i] + m[i * 3 + j];
            q[k] = m[k * 3 + i] + m[i * 3 + k];
            q[3] = m[k * 3 + j] - m[j * 3 + k];
        }
        else
        {
            q[0] = m[7] - m[5];
            q[1] = m[2] - m[6];
            q[2] = m[3] - m[1];
            q[3] = 1 + trace;
        }
        var n = Math.Sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
        for (var t = 0; t < 4; t++) q[t] /= n;
    }
}

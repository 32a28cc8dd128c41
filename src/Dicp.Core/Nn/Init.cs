using Dicp.Tensors;

namespace Dicp.Nn;

/// <summary>Parameter initialisers with PyTorch's distributions (not its random streams).</summary>
public static class Init
{
    /// <summary>U(−a, a) with a = 1/√fanIn: PyTorch's default for <c>nn.Linear</c> weights (Kaiming-uniform, a = √5) and biases.</summary>
    public static void LinearDefault(Tensor t, int fanIn, Generator g)
    {
        ArgumentNullException.ThrowIfNull(t);
        ArgumentNullException.ThrowIfNull(g);
        var bound = fanIn > 0 ? 1f / MathF.Sqrt(fanIn) : 0f;
        g.FillUniform(t.Span, -bound, bound);
    }

    /// <summary>N(mean, std²) (PyTorch's default for <c>nn.Embedding</c> is N(0, 1)).</summary>
    public static void Normal(Tensor t, Generator g, float mean = 0f, float std = 1f)
    {
        ArgumentNullException.ThrowIfNull(t);
        ArgumentNullException.ThrowIfNull(g);
        g.FillNormal(t.Span, mean, std);
    }

    /// <summary>Sets every element to <paramref name="value"/>.</summary>
    public static void Constant(Tensor t, float value)
    {
        ArgumentNullException.ThrowIfNull(t);
        t.Span.Fill(value);
    }

    /// <summary>(Semi-)orthogonal initialisation of a rank-2 (rows, cols) tensor, scaled by <paramref name="gain"/> (PyTorch's <c>orthogonal_</c>).</summary>
    /// <remarks>QR of a Gaussian matrix (Householder, in double) with the signs of R's diagonal folded into Q, so the
    /// result is Haar-distributed. For rows &lt; cols the transpose is factored, giving orthonormal rows.</remarks>
    public static void Orthogonal(Tensor t, Generator g, float gain = 1f)
    {
        ArgumentNullException.ThrowIfNull(t);
        ArgumentNullException.ThrowIfNull(g);
        if (t.Rank != 2) throw new ArgumentException($"Orthogonal init needs a rank-2 tensor, got {ShapeUtil.Format(t.Shape)}.");
        int rows = t.Shape[0], cols = t.Shape[1];
        bool flip = rows < cols;
        int m = flip ? cols : rows, n = flip ? rows : cols; // factor an m×n matrix with m ≥ n
        var a = new double[m, n];
        for (var i = 0; i < m; i++) for (var j = 0; j < n; j++) a[i, j] = g.NextNormal();
        var q = ThinQ(a, m, n);
        for (var i = 0; i < rows; i++)
            for (var j = 0; j < cols; j++)
                t.Data[i * cols + j] = (float)(gain * (flip ? q[j, i] : q[i, j]));
    }

    /// <summary>Q (m×n) of a thin QR decomposition with diag(R) made positive.</summary>
    private static double[,] ThinQ(double[,] a, int m, int n)
    {
        var r = (double[,])a.Clone();
        var vs = new double[n][];
        for (var k = 0; k < n; k++)
        {
            var v = new double[m];
            double norm = 0;
            for (var i = k; i < m; i++) norm += r[i, k] * r[i, k];
            norm = Math.Sqrt(norm);
            var alpha = r[k, k] > 0 ? -norm : norm;
            for (var i = k; i < m; i++) v[i] = r[i, k];
            v[k] -= alpha;
            double vn = 0;
            for (var i = k; i < m; i++) vn += v[i] * v[i];
            if (vn > 0)
                for (var j = k; j < n; j++)
                {
                    double s = 0;
                    for (var i = k; i < m; i++) s += v[i] * r[i, j];
                    s = 2 * s / vn;
                    for (var i = k; i < m; i++) r[i, j] -= s * v[i];
                }
            vs[k] = v; // a zero reflector (vn = 0) is skipped when Q is formed
        }
        // Q = H_0 H_1 … H_{n−1} applied to the first n columns of the identity.
        var q = new double[m, n];
        for (var j = 0; j < n; j++) q[j, j] = 1;
        for (var k = n - 1; k >= 0; k--)
        {
            var v = vs[k];
            double vn = 0;
            for (var i = k; i < m; i++) vn += v[i] * v[i];
            if (vn == 0) continue;
            for (var j = 0; j < n; j++)
            {
                double s = 0;
                for (var i = k; i < m; i++) s += v[i] * q[i, j];
                s = 2 * s / vn;
                for (var i = k; i < m; i++) q[i, j] -= s * v[i];
            }
        }
        for (var j = 0; j < n; j++)
            if (r[j, j] < 0)
                for (var i = 0; i < m; i++) q[i, j] = -q[i, j];
        return q;
    }
}

using Dicp.Autograd;
using Dicp.Tensors;

namespace Dicp.Tests.TestUtil;

/// <summary>
/// Finite-difference gradient check: for L = Σ f(inputs) ⊙ w with a fixed random w, compares the autodiff gradient of
/// every input element with the central difference (L(x + h) − L(x − h)) / 2h, L accumulated in double.
/// </summary>
public static class GradCheck
{
    public static void Check(Func<Tensor[], Tensor> f, Tensor[] inputs, float h = 1e-2f, double rtol = 1e-2, double atol = 1e-3, int seed = 123)
    {
        foreach (var x in inputs) { x.RequiresGrad = true; x.ZeroGrad(); }
        var y = f(inputs);
        var w = new float[y.Size];
        new Generator(seed).FillNormal(w);
        y.Backward(w);

        for (var k = 0; k < inputs.Length; k++)
        {
            var x = inputs[k];
            var analytic = x.Grad is null ? new float[x.Size] : x.Grad.AsSpan(0, x.Size).ToArray();
            var numeric = new float[x.Size];
            using (GradMode.NoGrad())
            {
                for (var i = 0; i < x.Size; i++)
                {
                    var orig = x.Data[i];
                    x.Data[i] = orig + h;
                    var lp = Dot(f(inputs), w);
                    x.Data[i] = orig - h;
                    var lm = Dot(f(inputs), w);
                    x.Data[i] = orig;
                    numeric[i] = (float)((lp - lm) / (2 * h));
                }
            }
            Close.Assert(numeric, analytic, rtol, atol, $"gradient of input {k}");
        }
    }

    private static double Dot(Tensor y, float[] w)
    {
        double s = 0;
        for (var i = 0; i < w.Length; i++) s += (double)y.Data[i] * w[i];
        return s;
    }

    /// <summary>A tensor of N(0, scale²) values from a seed.</summary>
    public static Tensor Randn(int seed, float scale, params int[] shape)
    {
        var t = Tensor.Zeros(shape);
        new Generator(seed).FillNormal(t.Span, 0f, scale);
        return t;
    }
}

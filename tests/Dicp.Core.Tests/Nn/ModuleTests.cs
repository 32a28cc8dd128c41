using System.Runtime.InteropServices;
using Dicp.Nn;
using Dicp.Tensors;
using Dicp.Tests.TestUtil;
using Xunit;
using O = Dicp.Tensors.Ops;

namespace Dicp.Tests.Nn;

/// <summary>
/// The <see cref="Module"/> API on the reference backbone: parameter names and order, parameter count, state-dict
/// round trips and their errors, train/eval propagation, dropout behaviour by mode, and gradient reset.
/// </summary>
public class ModuleTests
{
    /// <summary>The reference grid-world backbone: d 32, 4 layers, 4 heads, SwiGLU 128.</summary>
    private static TransformerConfig Reference(float dropout = 0.1f) =>
        new(DModel: 32, NLayer: 4, NHead: 4, NInner: 128, Dropout: dropout, MaxSeqLen: 64);

    private static Tensor Input(int seed, int b = 2, int t = 7, int d = 32) => GradCheck.Randn(seed, 1f, b, t, d);

    private static int[] Bits(Tensor t) => MemoryMarshal.Cast<float, int>(t.Span).ToArray();

    private static IEnumerable<Module> Descendants(Module m)
    {
        foreach (var (_, c) in m.NamedChildren())
        {
            yield return c;
            foreach (var d in Descendants(c)) yield return d;
        }
    }

    // ------------------------------------------------------------------ names, order, count

    [Fact]
    public void NamedParametersHaveTheReferenceKeysInRegistrationOrder()
    {
        var model = new Transformer(Reference(), new Generator(1));
        string[] perBlock =
        [
            "norm_1.weight",
            "attn.attn.weight", "attn.attn.bias",
            "attn.proj.weight", "attn.proj.bias",
            "norm_2.weight",
            "mlp.swiglu.w1.weight", "mlp.swiglu.w2.weight", "mlp.swiglu.w3.weight",
        ];
        var expected = Enumerable.Range(0, 4).SelectMany(i => perBlock.Select(k => $"blocks.{i}.{k}")).ToArray();

        var keys = model.NamedParameters().Select(kv => kv.Key).ToArray();
        Assert.Equal(expected, keys);
        Assert.Equal("blocks.0.norm_1.weight", keys[0]);
        Assert.Equal("blocks.0.attn.attn.weight", keys[1]);
        Assert.Equal("blocks.3.mlp.swiglu.w3.weight", keys[^1]);
        Assert.Equal(expected, model.StateDict().Keys.ToArray());
        // A prefix is prepended verbatim.
        Assert.Equal(expected.Select(k => "transformer." + k), model.NamedParameters("transformer.").Select(kv => kv.Key));
    }

    [Fact]
    public void NamedParametersAreTheLiveParametersWithTheExpectedShapes()
    {
        var model = new Transformer(Reference(), new Generator(1));
        var p = model.NamedParameters().ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.Same(model.Blocks[2].Attn.Attn.Weight, p["blocks.2.attn.attn.weight"]);
        Assert.Same(model.Blocks[3].Mlp.SwiGlu.W3.Weight, p["blocks.3.mlp.swiglu.w3.weight"]);
        Assert.Equal([96, 32], p["blocks.0.attn.attn.weight"].Shape.ToArray());
        Assert.Equal([96], p["blocks.0.attn.attn.bias"].Shape.ToArray());
        Assert.Equal([32, 32], p["blocks.0.attn.proj.weight"].Shape.ToArray());
        Assert.Equal([128, 32], p["blocks.0.mlp.swiglu.w1.weight"].Shape.ToArray());
        Assert.Equal([128, 32], p["blocks.0.mlp.swiglu.w2.weight"].Shape.ToArray());
        Assert.Equal([32, 128], p["blocks.0.mlp.swiglu.w3.weight"].Shape.ToArray());
        Assert.Equal([32], p["blocks.1.norm_2.weight"].Shape.ToArray());
        Assert.All(p.Values, t => Assert.True(t.RequiresGrad));
    }

    [Fact]
    public void ParameterCountOfTheReferenceConfigIsTheHandComputedNumber()
    {
        // Per block: norm_1 32 + attn (96·32 + 96) + proj (32·32 + 32) + norm_2 32 + w1 128·32 + w2 128·32 + w3 32·128.
        const long perBlock = 32 + (96 * 32 + 96) + (32 * 32 + 32) + 32 + 3 * (128 * 32);
        Assert.Equal(16_576, perBlock);
        var model = new Transformer(Reference(), new Generator(1));
        Assert.Equal(4 * perBlock, model.ParameterCount());
        Assert.Equal(66_304, model.ParameterCount());
        Assert.Equal(model.Parameters().Sum(t => (long)t.Size), model.ParameterCount());
    }

    // ------------------------------------------------------------------ state dicts

    [Fact]
    public void StateDictRoundTripBetweenDifferentlySeededModelsMakesOutputsEqual()
    {
        var a = new Transformer(Reference(), new Generator(1));
        var b = new Transformer(Reference(), new Generator(2));
        a.Eval();
        b.Eval();
        var x = Input(10);
        var ya = a.Forward(x);
        Assert.NotEqual(Bits(ya), Bits(b.Forward(x))); // the seeds really give different models

        var result = b.LoadStateDict(a.StateDict(), strict: true);
        Assert.Empty(result.MissingKeys);
        Assert.Empty(result.UnexpectedKeys);
        Assert.Equal(Bits(ya), Bits(b.Forward(x)));

        // Loading copies values: the two models do not share storage afterwards.
        foreach (var ((_, pa), (_, pb)) in a.NamedParameters().Zip(b.NamedParameters()))
            Assert.NotSame(pa.Data, pb.Data);
        a.Blocks[0].Attn.Proj.Weight[0] += 1f;
        Assert.Equal(Bits(ya), Bits(b.Forward(x)));
    }

    [Fact]
    public void StrictLoadWithAMissingKeyThrowsNamingItAndCopiesNothing()
    {
        var a = new Transformer(Reference(), new Generator(1));
        var b = new Transformer(Reference(), new Generator(2));
        var before = b.Parameters().Select(p => p.ToArray()).ToList();
        var state = a.StateDict().Where(kv => kv.Key != "blocks.2.attn.proj.bias").ToDictionary(kv => kv.Key, kv => kv.Value);

        var e = Assert.Throws<StateDictException>(() => b.LoadStateDict(state, strict: true));
        Assert.Contains("blocks.2.attn.proj.bias", e.Message);
        Assert.Equal(["blocks.2.attn.proj.bias"], e.Result.MissingKeys);
        Assert.Empty(e.Result.UnexpectedKeys);
        Assert.Equal(before, b.Parameters().Select(p => p.ToArray()).ToList());
    }

    [Fact]
    public void StrictLoadWithAnUnexpectedKeyThrowsNamingItAndCopiesNothing()
    {
        var a = new Transformer(Reference(), new Generator(1));
        var b = new Transformer(Reference(), new Generator(2));
        var before = b.Parameters().Select(p => p.ToArray()).ToList();
        var state = a.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value);
        state["blocks.0.attn.extra.weight"] = Tensor.Zeros(3);

        var e = Assert.Throws<StateDictException>(() => b.LoadStateDict(state, strict: true));
        Assert.Contains("blocks.0.attn.extra.weight", e.Message);
        Assert.Equal(["blocks.0.attn.extra.weight"], e.Result.UnexpectedKeys);
        Assert.Empty(e.Result.MissingKeys);
        Assert.Equal(before, b.Parameters().Select(p => p.ToArray()).ToList());
    }

    [Fact]
    public void NonStrictLoadReportsMismatchesAndCopiesTheMatchingKeys()
    {
        var a = new Transformer(Reference(), new Generator(1));
        var b = new Transformer(Reference(), new Generator(2));
        const string Missing = "blocks.1.mlp.swiglu.w2.weight";
        var keptB = b.NamedParameters().Single(kv => kv.Key == Missing).Value.ToArray();
        var state = a.StateDict().Where(kv => kv.Key != Missing).ToDictionary(kv => kv.Key, kv => kv.Value);
        state["head.weight"] = Tensor.Zeros(2, 2);

        var result = b.LoadStateDict(state, strict: false);
        Assert.Equal([Missing], result.MissingKeys);
        Assert.Equal(["head.weight"], result.UnexpectedKeys);

        var pa = a.NamedParameters().ToDictionary(kv => kv.Key, kv => kv.Value);
        foreach (var (k, p) in b.NamedParameters())
        {
            if (k == Missing) Assert.Equal(keptB, p.ToArray());      // untouched
            else Assert.Equal(pa[k].ToArray(), p.ToArray());         // copied
        }
        Assert.NotEqual(pa[Missing].ToArray(), keptB);
    }

    [Fact]
    public void ShapeMismatchThrowsNamingTheKeyAndBothShapes()
    {
        var b = new Transformer(Reference(), new Generator(2));
        var before = b.Parameters().Select(p => p.ToArray()).ToList();
        var state = new Transformer(Reference(), new Generator(1)).StateDict().ToDictionary(kv => kv.Key, kv => kv.Value);
        state["blocks.1.attn.proj.weight"] = Tensor.Zeros(32, 16);

        foreach (var strict in new[] { true, false })
        {
            var e = Assert.Throws<StateDictException>(() => b.LoadStateDict(state, strict));
            Assert.Contains("blocks.1.attn.proj.weight", e.Message);
            Assert.Contains("[32, 16]", e.Message);
            Assert.Contains("[32, 32]", e.Message);
        }
        Assert.Equal(before, b.Parameters().Select(p => p.ToArray()).ToList());
    }

    [Fact]
    public void PrefixedLoadMatchesPrefixedKeys()
    {
        var a = new Transformer(Reference(), new Generator(1));
        var b = new Transformer(Reference(), new Generator(2));
        var state = a.StateDict("transformer.");
        Assert.Throws<StateDictException>(() => b.LoadStateDict(state, strict: true));
        b.LoadStateDict(state, strict: true, prefix: "transformer.");
        Assert.Equal(a.Parameters().SelectMany(p => p.ToArray()), b.Parameters().SelectMany(p => p.ToArray()));
    }

    // ------------------------------------------------------------------ train / eval

    [Fact]
    public void TrainAndEvalPropagateToAllDescendants()
    {
        var model = new Transformer(Reference(), new Generator(1));
        var all = Descendants(model).ToList();
        Assert.Equal(1 + 4 * 11, all.Count); // ModuleList + per block: block, norm_1, attn (+ attn, proj), norm_2, mlp (+ swiglu (+ w1, w2, w3))
        Assert.True(model.Training);
        Assert.All(all, m => Assert.True(m.Training));

        Assert.Same(model, model.Eval());
        Assert.False(model.Training);
        Assert.All(all, m => Assert.False(m.Training, m.GetType().Name));

        model.Train();
        Assert.True(model.Training);
        Assert.All(all, m => Assert.True(m.Training, m.GetType().Name));

        model.Train(false);
        Assert.All(all, m => Assert.False(m.Training, m.GetType().Name));
    }

    [Fact]
    public void DropoutMakesTrainingPassesDifferAndEvalPassesIdenticalToTheDropoutFreeModel()
    {
        var model = new Transformer(Reference(dropout: 0.1f), new Generator(5));
        var x = Input(11);

        model.Train();
        var t1 = Bits(model.Forward(x));
        var t2 = Bits(model.Forward(x));
        Assert.NotEqual(t1, t2);

        model.Eval();
        var e1 = model.Forward(x);
        var e2 = model.Forward(x);
        Assert.Equal(Bits(e1), Bits(e2));
        Assert.NotEqual(t1, Bits(e1));

        var plain = new Transformer(Reference(dropout: 0f), new Generator(99));
        plain.LoadStateDict(model.StateDict());
        Assert.True(plain.Training);                               // dropout 0 has nothing to drop even in training mode
        Assert.Equal(Bits(e1), Bits(plain.Forward(x)));
        plain.Eval();
        Assert.Equal(Bits(e1), Bits(plain.Forward(x)));

        // A training pass is a noisy version of the eval pass, not something unrelated.
        var diff = 0.0;
        var scale = 0.0;
        for (var i = 0; i < e1.Size; i++)
        {
            var ti = BitConverter.Int32BitsToSingle(t1[i]);
            diff += (ti - e1[i]) * (double)(ti - e1[i]);
            scale += e1[i] * (double)e1[i];
        }
        Assert.InRange(diff / scale, 1e-6, 0.5);
    }

    [Fact]
    public void ZeroGradClearsTheGradientsOfEveryParameter()
    {
        var model = new Transformer(Reference(dropout: 0f), new Generator(3));
        var y = model.Forward(Input(12));
        O.Sum(O.Mul(y, y)).Backward();
        Assert.All(model.NamedParameters(), kv => Assert.True(kv.Value.Grad is not null, kv.Key));
        Assert.Contains(model.Parameters(), p => p.Grad!.Any(g => g != 0f));

        model.ZeroGrad();
        Assert.All(model.NamedParameters(), kv => Assert.True(kv.Value.Grad is null, kv.Key));
    }
}

#!/usr/bin/env python3
"""Generate golden test fixtures for Dicp.Core.Tests with PyTorch.

Run from the repository root (Debian's python3 with torch 1.13 + numpy):

    /usr/bin/python3 tools/make_fixtures.py

It writes three files into tests/Dicp.Core.Tests/Fixtures/:

    ops.safetensors       one case per tensor op (forward + backward)
    backbone.safetensors  the reference Transformer backbone (fwd, bwd, 3 AdamW steps)
    optim.safetensors     AdamW / Adam / grad-clipping semantics with given gradients

and then re-reads every file with its own reader and asserts that every tensor
and every metadata entry round-trips exactly.  Output is deterministic: running
the script twice gives byte-identical files.

safetensors layout (written by hand; no `safetensors` package needed)
---------------------------------------------------------------------
  [8 bytes]  N, little-endian uint64 = byte length of the JSON header
  [N bytes]  UTF-8 JSON, padded with trailing spaces so N % 8 == 0
  [rest]     raw data buffer
The JSON object maps each tensor name to
  {"dtype": "F32" | "I64", "shape": [...], "data_offsets": [begin, end]}
with offsets relative to the start of the data buffer.  Tensors are stored
little-endian, row-major (C order), packed contiguously without gaps, in
alphabetical order of their names.  "__metadata__" (first key of the JSON
object) maps string -> string.  Scalars have shape [].

General conventions
-------------------
* torch.manual_seed(0) is called at the start of EACH file's generation (so
  the three files are independent of each other), single-threaded CPU.
* Inputs are drawn as float32 (torch.randn), ALL computations for ops.* and
  the backbone forward/backward are done in float64 (inputs cast with
  .double()), results are stored as float32 ("F32").  Stored inputs are the
  exact float32 values that were drawn, so casting them to double reproduces
  the computation exactly.  Integer index tensors are stored as "I64".
* For each op case a random upstream gradient `gout` with the output's shape
  (shape [] for scalar outputs) is drawn (float32) and the gradients are
  torch.autograd.grad((out * gout).sum(), inputs).
* Keys are "<case>.<name>": inputs under their names, plus "<case>.out",
  "<case>.gout" and "<case>.grad.<input>" for every float input that gets a
  gradient (e.g. linear.x, linear.w, linear.b, linear.out, linear.gout,
  linear.grad.x, linear.grad.w, linear.grad.b).
* Non-tensor arguments are in __metadata__ as "<case>.<arg>": "<value>";
  numbers as decimal strings (Python repr: "0.37", "1e-05"), tuples as
  comma-separated ints ("0,2,1,3"), booleans as "true"/"false".

ops.safetensors (case: inputs -> out; metadata)
-----------------------------------------------
  linear          x (2,3,5), w (4,5), b (4): out = x @ w.T + b
  linear_nobias   x (3,5), w (4,5): out = x @ w.T
  matmul          a (3,5), b (5,4): out = a @ b
  matmul_bt       a (3,5), b (4,5): out = a @ b.T
  matmul_at       a (5,3), b (5,4): out = a.T @ b
  bmm             a (2,3,5), b (2,5,4): out = a @ b (batched)
  add             a (2,3,4), b (2,3,4): out = a + b
  add_bcast       a (2,3,4), b (4): out = a + b (broadcast over leading dims)
  mul             a (2,3,4), b (2,3,4): out = a * b
  mul_bcast       a (2,3,4), b (4): out = a * b
  scale           x (2,3); s="0.37": out = s * x
  transpose       x (2,3,4); dims="1,2": out = x.transpose(1,2).contiguous()
  permute         x (2,3,4,5); dims="0,2,1,3": out = x.permute(0,2,1,3)
  slice           x (4,6); axis="1", start="1", length="3": out = x[:, 1:4]
  concat          a (2,3), b (2,5); axis="1": out = cat([a,b], 1)
  concat0         a (2,3), b (4,3); axis="0": out = cat([a,b], 0)
  index_select    x (5,4), idx I64 [4,0,2,2]; axis="0":
                  out = x.index_select(0, idx) (duplicate index -> grad accumulates)
  gather          x (3,5), idx I64 (3,2) (row 0 has a duplicate); axis="-1":
                  out = torch.gather(x, -1, idx)
  embedding       weight (7,4), ids I64 (2,3) (a repeated id): out = F.embedding(ids, weight)
                  -> (2,3,4); gradient only for weight
  sum_axis        x (2,3,4); axis="1": out = x.sum(1) -> (2,4)
  mean_axis       x (2,3,4); axis="1": out = x.mean(1) -> (2,4)
  sum_all         x (2,3): out = x.sum() -> []
  mean_all        x (2,3): out = x.mean() -> []
  softmax         x (3,7); axis="-1": out = softmax(x, -1)
  log_softmax     x (3,7); axis="-1": out = log_softmax(x, -1)
  silu            x (3,7): out = x * sigmoid(x)
  gelu            x (3,7): exact erf form, out = 0.5 x (1 + erf(x / sqrt 2))
  tanh            x (3,7)
  relu            x (3,7), no element within 1e-3 of 0
  exp             x (3,7) = 0.5 * randn
  rmsnorm         x (2,3,8), weight (8) = 1 + 0.1 randn; eps="1e-05":
                  out = weight * x * rsqrt(mean(x*x, -1, keepdim) + eps)
  rope            x (B=2,T=5,H=2,hs=8) laid out (B,T,H,hs); base="10000":
                  inv_freq[i] = 1 / base^(2i/hs), i = 0..hs/2-1
                  freqs[t,i] = t * inv_freq[i], t = 0..T-1
                  emb = cat(freqs, freqs) (T,hs); cos = cos(emb), sin = sin(emb)
                  rotate_half(x) = cat(-x[..., hs/2:], x[..., :hs/2])
                  out = x*cos[None,:,None,:] + rotate_half(x)*sin[None,:,None,:]
  attention       qkv (B=2,T=6,3d), d=16; n_head="2" (hs=8), base="10000":
                  q,k,v = qkv.view(B,T,H,3*hs).split(hs, -1)   (per-head [q|k|v])
                  q,k = rope(q), rope(k); q,k,v -> (B,H,T,hs)
                  att = softmax(causal_mask(q @ k^T / sqrt(hs)), -1)   (j > i -> -inf)
                  out = (att @ v).transpose(1,2).reshape(B,T,d)   (no output projection)
  swiglu          a (3,7), b (3,7): out = silu(a) * b
  cross_entropy   logits (6,5), targets I64 (6): out = F.cross_entropy (mean) -> [];
                  gradient only for logits
  cross_entropy_ls  same, label_smoothing="0.1"
  mse             pred (4,3), target (4,3): out = F.mse_loss (mean) -> [];
                  gradients for pred and target
  gaussian_nll    mean (4,3), var (4,3) = exp(0.5 randn), target (4,3); eps="1e-06",
                  full="true": out = F.gaussian_nll_loss(mean, target, var, full=True,
                  eps=1e-6, reduction='mean') = mean(0.5*(log(max(var,eps))
                  + (mean-target)^2 / max(var,eps)) + 0.5*log(2*pi)) -> [];
                  gradients for mean and var (gaussian_nll.grad.mean / .grad.var)

backbone.safetensors ("TinyLlama"-style block stack, NO final norm)
--------------------------------------------------------------------
  d=32, n_layer=4, n_head=4 (hs=8), n_inner=128, dropout 0, T=81, B=2.
  Block i:  x = x + attn(norm_1(x));  x = x + mlp(norm_2(x))
    norm_*  RMSNorm as in ops `rmsnorm` (eps 1e-5), weight (d,) = 1 + 0.1 randn
    attn    attn.attn = Linear(d, 3d, bias) -> qkv laid out per head as in ops
            `attention` (incl. RoPE base 10000 on q,k, causal softmax, 1/sqrt(hs)),
            then attn.proj = Linear(d, d, bias)
    mlp     mlp.swiglu.w3(silu(mlp.swiglu.w1(x)) * mlp.swiglu.w2(x)),
            w1,w2: Linear(d, n_inner, no bias), w3: Linear(n_inner, d, no bias)
  Linear layers use PyTorch's default nn.Linear init (drawn in float32).
  Parameter keys (i = 0..3):
    transformer.blocks.{i}.norm_1.weight            (32,)
    transformer.blocks.{i}.attn.attn.weight         (96,32)
    transformer.blocks.{i}.attn.attn.bias           (96,)
    transformer.blocks.{i}.attn.proj.weight         (32,32)
    transformer.blocks.{i}.attn.proj.bias           (32,)
    transformer.blocks.{i}.norm_2.weight            (32,)
    transformer.blocks.{i}.mlp.swiglu.w1.weight     (128,32)
    transformer.blocks.{i}.mlp.swiglu.w2.weight     (128,32)
    transformer.blocks.{i}.mlp.swiglu.w3.weight     (32,128)
  Stored: every parameter <key>; x (B,T,d) = randn; out (B,T,d) = model(x);
  gout (B,T,d) = randn; grad.x and grad.<key> = gradients of (out*gout).sum();
  all of that computed in float64.
  Training (float32 copy of the same initial model, as a user's loop runs it):
    target (B,T,d) = randn; AdamW(lr=1e-3, betas=(0.9,0.99), eps=1e-8,
    weight_decay=0.01); for k = 1..3:
      zero grads; loss = F.mse_loss(model(x), target); loss.backward();
      total = clip_grad_norm_(params, 1.0); optimizer.step()
    step{k}.loss       [] loss before the k-th update
    step{k}.grad_norm  [] total grad norm returned by clip_grad_norm_ (before clipping)
    step{k}.<key>      every parameter after the k-th update
  In the float32 model the RoPE cos/sin tables are computed in float64 and cast
  to float32.  torch 1.13 clip_grad_norm_: total = ||(||g_p||_2)_p||_2,
  coef = max_norm / (total + 1e-6); grads are multiplied by min(coef, 1).
  Metadata: d_model, n_layer, n_head, n_inner, seq_len, batch, lr, beta1,
  beta2, eps, weight_decay, max_grad_norm, norm_eps, rope_base.

optim.safetensors (float32, torch's own optimizers)
---------------------------------------------------
  p0 (4,5) randn; g1, g2, g3 (4,5) randn.
  adamw.p1..p3  Parameter p = p0; one torch.optim.AdamW([p], lr=0.1,
                betas=(0.9,0.99), eps=1e-8, weight_decay=0.01); for k = 1..3:
                p.grad = g_k; step(); adamw.p{k} = p after step k.
                (decoupled decay: p *= 1 - lr*wd, then the Adam update)
  adam.p1..p3   same with torch.optim.Adam(..., weight_decay=0.01)
                (L2: g += wd * p before the moment updates)
  clip.ga (3,4) = 2 randn, clip.gb (5,) = 2 randn: set as .grad of two
                parameters, clip_grad_norm_(max_norm=1.0):
                clip.total_norm [], clip.ga_out, clip.gb_out (clipped grads)
  clip_small.ga (3,4) = 0.01 randn (norm below max): clip_small.total_norm [],
                clip_small.ga_out (unchanged up to coef clamp at 1)
  Metadata: lr, beta1, beta2, eps, weight_decay, max_norm.
"""

import copy
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(REPO_ROOT, "tests", "Dicp.Core.Tests", "Fixtures")

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

# ---------------------------------------------------------------------------
# safetensors writer / reader
# ---------------------------------------------------------------------------

_DTYPES = {"F32": np.dtype("<f4"), "I64": np.dtype("<i8")}


def _to_numpy(t):
    """Tensor/array -> little-endian contiguous float32 or int64 numpy array."""
    if isinstance(t, torch.Tensor):
        t = t.detach().cpu()
        if t.dtype in (torch.float16, torch.bfloat16, torch.float32, torch.float64):
            a = t.to(torch.float64).numpy().astype(np.float32)
        elif t.dtype in (torch.int32, torch.int64):
            a = t.to(torch.int64).numpy()
        else:
            raise TypeError("unsupported dtype %s" % t.dtype)
    else:
        a = np.asarray(t)
    if a.dtype.kind == "f":
        a = a.astype("<f4")
        if not np.all(np.isfinite(a)):
            raise ValueError("non-finite value in tensor")
        code = "F32"
    elif a.dtype.kind in "iu":
        a = a.astype("<i8")
        code = "I64"
    else:
        raise TypeError("unsupported numpy dtype %s" % a.dtype)
    # (np.ascontiguousarray would turn a 0-d scalar into shape (1,))
    return code, np.array(a, dtype=a.dtype, order="C", copy=True)


def write_safetensors(path, tensors, metadata):
    names = sorted(tensors)
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(metadata[k]) for k in sorted(metadata)}
    chunks = []
    offset = 0
    for name in names:
        code, arr = tensors[name]
        raw = arr.tobytes(order="C")
        header[name] = {
            "dtype": code,
            "shape": [int(s) for s in arr.shape],
            "data_offsets": [offset, offset + len(raw)],
        }
        chunks.append(raw)
        offset += len(raw)
    hjson = json.dumps(header, separators=(",", ":"), ensure_ascii=True).encode("utf-8")
    hjson += b" " * ((-len(hjson)) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for c in chunks:
            f.write(c)
    os.replace(tmp, path)


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    assert n % 8 == 0, "header length not a multiple of 8"
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = blob[8 + n:]
    metadata = header.pop("__metadata__", {})
    spans = sorted((v["data_offsets"][0], v["data_offsets"][1], k) for k, v in header.items())
    pos = 0
    out = {}
    for begin, end, name in spans:
        assert begin == pos, "gap/overlap before %s" % name
        info = header[name]
        dt = _DTYPES[info["dtype"]]
        shape = tuple(info["shape"])
        count = int(np.prod(shape, dtype=np.int64))
        assert end - begin == count * dt.itemsize, "size mismatch for %s" % name
        out[name] = np.frombuffer(data[begin:end], dtype=dt).reshape(shape)
        pos = end
    assert pos == len(data), "trailing bytes in data buffer"
    return out, metadata


class Fixture:
    """Collects tensors + metadata for one file."""

    def __init__(self):
        self.tensors = {}
        self.metadata = {}

    def put(self, name, t):
        assert name not in self.tensors, "duplicate key " + name
        code, arr = _to_numpy(t)
        assert arr.shape == tuple(t.shape), "shape changed for " + name
        self.tensors[name] = (code, arr)

    def meta(self, name, value):
        assert name not in self.metadata, "duplicate metadata " + name
        self.metadata[name] = fmt(value)

    def save(self, filename):
        path = os.path.join(OUT_DIR, filename)
        write_safetensors(path, self.tensors, self.metadata)
        # self-check: re-read and compare bit-exactly
        back, meta = read_safetensors(path)
        assert set(back) == set(self.tensors), "key set mismatch in " + filename
        for k, (code, arr) in self.tensors.items():
            b = back[k]
            assert b.dtype == _DTYPES[code] and b.shape == arr.shape, k
            assert b.tobytes() == arr.tobytes(), "data mismatch for " + k
        assert meta == self.metadata, "metadata mismatch in " + filename
        return path


def fmt(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (tuple, list)):
        return ",".join(str(int(i)) for i in v)
    if isinstance(v, float):
        return repr(v)
    return str(v)


# ---------------------------------------------------------------------------
# reference math (dtype-agnostic; called in float64 for ops / backbone grads)
# ---------------------------------------------------------------------------

def rms_norm(x, weight, eps=1e-5):
    return weight * (x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps))


def rope_cos_sin(T, hs, base, dtype):
    inv_freq = 1.0 / (base ** (torch.arange(0, hs, 2, dtype=torch.float64) / hs))
    t = torch.arange(T, dtype=torch.float64)
    freqs = torch.outer(t, inv_freq)              # (T, hs/2)
    emb = torch.cat([freqs, freqs], dim=-1)       # (T, hs)
    return emb.cos().to(dtype), emb.sin().to(dtype)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


def apply_rope(x, base):
    """x: (B, T, H, hs)."""
    _, T, _, hs = x.shape
    cos, sin = rope_cos_sin(T, hs, base, x.dtype)
    cos = cos[None, :, None, :]
    sin = sin[None, :, None, :]
    return x * cos + rotate_half(x) * sin


def causal_attention(qkv, n_head, base):
    """qkv: (B, T, 3d), laid out per head as [q | k | v] -> y: (B, T, d)."""
    B, T, three_d = qkv.shape
    d = three_d // 3
    hs = d // n_head
    q, k, v = qkv.view(B, T, n_head, 3 * hs).split(hs, dim=-1)
    q = apply_rope(q, base).transpose(1, 2)
    k = apply_rope(k, base).transpose(1, 2)
    v = v.transpose(1, 2)
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(hs)
    mask = torch.ones(T, T, dtype=torch.bool).triu(1)  # j > i
    scores = scores.masked_fill(mask, float("-inf"))
    att = torch.softmax(scores, dim=-1)
    y = att @ v
    return y.transpose(1, 2).reshape(B, T, d)


# ---------------------------------------------------------------------------
# File 1: ops
# ---------------------------------------------------------------------------

def make_ops():
    torch.manual_seed(0)
    fx = Fixture()
    rn = torch.randn

    def case(name, inputs, fn, grads=None, meta=None):
        """inputs: ordered dict name -> float32 / int64 tensor.
        grads: names of float inputs that get gradients (default: all float)."""
        if grads is None:
            grads = [k for k, v in inputs.items() if v.is_floating_point()]
        dbl = {}
        for k, v in inputs.items():
            if v.is_floating_point():
                dbl[k] = v.double().requires_grad_(k in grads)
            else:
                dbl[k] = v
        out = fn(**dbl)
        gout = torch.randn(out.shape)  # float32 draw, shape [] for scalars
        gs = torch.autograd.grad((out * gout.double()).sum(), [dbl[k] for k in grads])
        for k, v in inputs.items():
            fx.put("%s.%s" % (name, k), v)
        fx.put(name + ".out", out)
        fx.put(name + ".gout", gout)
        for k, g in zip(grads, gs):
            fx.put("%s.grad.%s" % (name, k), g)
        for k, v in (meta or {}).items():
            fx.meta("%s.%s" % (name, k), v)

    case("linear", dict(x=rn(2, 3, 5), w=rn(4, 5), b=rn(4)),
         lambda x, w, b: x @ w.T + b)
    case("linear_nobias", dict(x=rn(3, 5), w=rn(4, 5)),
         lambda x, w: x @ w.T)
    case("matmul", dict(a=rn(3, 5), b=rn(5, 4)), lambda a, b: a @ b)
    case("matmul_bt", dict(a=rn(3, 5), b=rn(4, 5)), lambda a, b: a @ b.T)
    case("matmul_at", dict(a=rn(5, 3), b=rn(5, 4)), lambda a, b: a.T @ b)
    case("bmm", dict(a=rn(2, 3, 5), b=rn(2, 5, 4)), lambda a, b: a @ b)
    case("add", dict(a=rn(2, 3, 4), b=rn(2, 3, 4)), lambda a, b: a + b)
    case("add_bcast", dict(a=rn(2, 3, 4), b=rn(4)), lambda a, b: a + b)
    case("mul", dict(a=rn(2, 3, 4), b=rn(2, 3, 4)), lambda a, b: a * b)
    case("mul_bcast", dict(a=rn(2, 3, 4), b=rn(4)), lambda a, b: a * b)
    case("scale", dict(x=rn(2, 3)), lambda x: 0.37 * x, meta=dict(s=0.37))
    case("transpose", dict(x=rn(2, 3, 4)), lambda x: x.transpose(1, 2).contiguous(),
         meta=dict(dims=(1, 2)))
    case("permute", dict(x=rn(2, 3, 4, 5)), lambda x: x.permute(0, 2, 1, 3).contiguous(),
         meta=dict(dims=(0, 2, 1, 3)))
    case("slice", dict(x=rn(4, 6)), lambda x: x[:, 1:4],
         meta=dict(axis=1, start=1, length=3))
    case("concat", dict(a=rn(2, 3), b=rn(2, 5)), lambda a, b: torch.cat([a, b], 1),
         meta=dict(axis=1))
    case("concat0", dict(a=rn(2, 3), b=rn(4, 3)), lambda a, b: torch.cat([a, b], 0),
         meta=dict(axis=0))
    case("index_select", dict(x=rn(5, 4), idx=torch.tensor([4, 0, 2, 2], dtype=torch.int64)),
         lambda x, idx: x.index_select(0, idx), meta=dict(axis=0))

    gidx = torch.randint(0, 5, (3, 2), dtype=torch.int64)
    gidx[0, 1] = gidx[0, 0]  # duplicate within a row
    case("gather", dict(x=rn(3, 5), idx=gidx), lambda x, idx: torch.gather(x, -1, idx),
         meta=dict(axis=-1))

    ids = torch.randint(0, 7, (2, 3), dtype=torch.int64)
    ids[1, 2] = ids[0, 0]  # repeated id
    case("embedding", dict(weight=rn(7, 4), ids=ids),
         lambda weight, ids: F.embedding(ids, weight))

    case("sum_axis", dict(x=rn(2, 3, 4)), lambda x: x.sum(1), meta=dict(axis=1))
    case("mean_axis", dict(x=rn(2, 3, 4)), lambda x: x.mean(1), meta=dict(axis=1))
    case("sum_all", dict(x=rn(2, 3)), lambda x: x.sum())
    case("mean_all", dict(x=rn(2, 3)), lambda x: x.mean())
    case("softmax", dict(x=rn(3, 7)), lambda x: torch.softmax(x, -1), meta=dict(axis=-1))
    case("log_softmax", dict(x=rn(3, 7)), lambda x: torch.log_softmax(x, -1),
         meta=dict(axis=-1))
    case("silu", dict(x=rn(3, 7)), lambda x: F.silu(x))
    case("gelu", dict(x=rn(3, 7)), lambda x: F.gelu(x))  # approximate='none' (erf)
    case("tanh", dict(x=rn(3, 7)), lambda x: torch.tanh(x))
    xr = rn(3, 7)
    while bool((xr.abs() < 1e-3).any()):
        xr = rn(3, 7)
    case("relu", dict(x=xr), lambda x: F.relu(x))
    case("exp", dict(x=0.5 * rn(3, 7)), lambda x: torch.exp(x))

    case("rmsnorm", dict(x=rn(2, 3, 8), weight=1.0 + 0.1 * rn(8)),
         lambda x, weight: rms_norm(x, weight, 1e-5), meta=dict(eps=1e-5))
    case("rope", dict(x=rn(2, 5, 2, 8)), lambda x: apply_rope(x, 10000.0),
         meta=dict(base=10000))
    case("attention", dict(qkv=rn(2, 6, 3 * 16)),
         lambda qkv: causal_attention(qkv, 2, 10000.0),
         meta=dict(n_head=2, base=10000))
    case("swiglu", dict(a=rn(3, 7), b=rn(3, 7)), lambda a, b: F.silu(a) * b)

    case("cross_entropy",
         dict(logits=rn(6, 5), targets=torch.randint(0, 5, (6,), dtype=torch.int64)),
         lambda logits, targets: F.cross_entropy(logits, targets))
    case("cross_entropy_ls",
         dict(logits=rn(6, 5), targets=torch.randint(0, 5, (6,), dtype=torch.int64)),
         lambda logits, targets: F.cross_entropy(logits, targets, label_smoothing=0.1),
         meta=dict(label_smoothing=0.1))
    case("mse", dict(pred=rn(4, 3), target=rn(4, 3)),
         lambda pred, target: F.mse_loss(pred, target))
    case("gaussian_nll",
         dict(mean=rn(4, 3), var=torch.exp(0.5 * rn(4, 3)), target=rn(4, 3)),
         lambda mean, var, target: F.gaussian_nll_loss(
             mean, target, var, full=True, eps=1e-6, reduction="mean"),
         grads=["mean", "var"], meta=dict(eps=1e-6, full=True))

    return fx.save("ops.safetensors"), fx


# ---------------------------------------------------------------------------
# File 2: backbone
# ---------------------------------------------------------------------------

D_MODEL, N_LAYER, N_HEAD, N_INNER, SEQ_LEN, BATCH = 32, 4, 4, 128, 81, 2
ROPE_BASE, NORM_EPS = 10000.0, 1e-5


class RMSNorm(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.weight = nn.Parameter(1.0 + 0.1 * torch.randn(d))

    def forward(self, x):
        return rms_norm(x, self.weight, NORM_EPS)


class CausalSelfAttention(nn.Module):
    def __init__(self, d, n_head):
        super().__init__()
        self.n_head = n_head
        self.attn = nn.Linear(d, 3 * d, bias=True)
        self.proj = nn.Linear(d, d, bias=True)

    def forward(self, x):
        return self.proj(causal_attention(self.attn(x), self.n_head, ROPE_BASE))


class SwiGLU(nn.Module):
    def __init__(self, d, n_inner):
        super().__init__()
        self.w1 = nn.Linear(d, n_inner, bias=False)
        self.w2 = nn.Linear(d, n_inner, bias=False)
        self.w3 = nn.Linear(n_inner, d, bias=False)

    def forward(self, x):
        return self.w3(F.silu(self.w1(x)) * self.w2(x))


class MLP(nn.Module):
    def __init__(self, d, n_inner):
        super().__init__()
        self.swiglu = SwiGLU(d, n_inner)

    def forward(self, x):
        return self.swiglu(x)


class Block(nn.Module):
    def __init__(self, d, n_head, n_inner):
        super().__init__()
        self.norm_1 = RMSNorm(d)
        self.attn = CausalSelfAttention(d, n_head)
        self.norm_2 = RMSNorm(d)
        self.mlp = MLP(d, n_inner)

    def forward(self, x):
        x = x + self.attn(self.norm_1(x))
        return x + self.mlp(self.norm_2(x))


class Backbone(nn.Module):
    def __init__(self):
        super().__init__()
        self.transformer = nn.Module()
        self.transformer.blocks = nn.ModuleList(
            [Block(D_MODEL, N_HEAD, N_INNER) for _ in range(N_LAYER)])

    def forward(self, x):
        for blk in self.transformer.blocks:
            x = blk(x)
        return x


def expected_backbone_keys():
    keys = []
    for i in range(N_LAYER):
        p = "transformer.blocks.%d." % i
        keys += [p + "norm_1.weight", p + "attn.attn.weight", p + "attn.attn.bias",
                 p + "attn.proj.weight", p + "attn.proj.bias", p + "norm_2.weight",
                 p + "mlp.swiglu.w1.weight", p + "mlp.swiglu.w2.weight",
                 p + "mlp.swiglu.w3.weight"]
    return keys


LR, BETA1, BETA2, EPS, WD, MAX_NORM = 1e-3, 0.9, 0.99, 1e-8, 0.01, 1.0


def make_backbone():
    torch.manual_seed(0)
    fx = Fixture()
    model = Backbone()  # float32 init
    keys = [k for k, _ in model.named_parameters()]
    assert keys == expected_backbone_keys(), keys
    assert list(model.state_dict().keys()) == keys

    x = torch.randn(BATCH, SEQ_LEN, D_MODEL)
    gout = torch.randn(BATCH, SEQ_LEN, D_MODEL)
    target = torch.randn(BATCH, SEQ_LEN, D_MODEL)

    for k, p in model.named_parameters():
        fx.put(k, p)
    fx.put("x", x)
    fx.put("gout", gout)
    fx.put("target", target)

    # float64 forward / backward
    m64 = copy.deepcopy(model).double()
    x64 = x.double().requires_grad_(True)
    out = m64(x64)
    params64 = list(m64.parameters())
    gs = torch.autograd.grad((out * gout.double()).sum(), [x64] + params64)
    fx.put("out", out)
    fx.put("grad.x", gs[0])
    for k, g in zip(keys, gs[1:]):
        fx.put("grad." + k, g)

    # float32 training: 3 AdamW steps with grad clipping
    m32 = copy.deepcopy(model)
    params = list(m32.parameters())
    opt = torch.optim.AdamW(params, lr=LR, betas=(BETA1, BETA2), eps=EPS, weight_decay=WD)
    for step in range(1, 4):
        opt.zero_grad(set_to_none=True)
        loss = F.mse_loss(m32(x), target)
        loss.backward()
        total = torch.nn.utils.clip_grad_norm_(params, MAX_NORM)
        opt.step()
        fx.put("step%d.loss" % step, loss)
        fx.put("step%d.grad_norm" % step, total)
        for k, p in m32.named_parameters():
            fx.put("step%d.%s" % (step, k), p)

    for name, v in [("d_model", D_MODEL), ("n_layer", N_LAYER), ("n_head", N_HEAD),
                    ("n_inner", N_INNER), ("seq_len", SEQ_LEN), ("batch", BATCH),
                    ("lr", LR), ("beta1", BETA1), ("beta2", BETA2), ("eps", EPS),
                    ("weight_decay", WD), ("max_grad_norm", MAX_NORM),
                    ("norm_eps", NORM_EPS), ("rope_base", int(ROPE_BASE))]:
        fx.meta(name, v)
    return fx.save("backbone.safetensors"), fx


# ---------------------------------------------------------------------------
# File 3: optim
# ---------------------------------------------------------------------------

def make_optim():
    torch.manual_seed(0)
    fx = Fixture()
    lr, b1, b2, eps, wd, max_norm = 0.1, 0.9, 0.99, 1e-8, 0.01, 1.0

    p0 = torch.randn(4, 5)
    gsteps = [torch.randn(4, 5) for _ in range(3)]
    fx.put("p0", p0)
    for i, g in enumerate(gsteps, 1):
        fx.put("g%d" % i, g)

    for name, cls in [("adamw", torch.optim.AdamW), ("adam", torch.optim.Adam)]:
        p = nn.Parameter(p0.clone())
        opt = cls([p], lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd)
        for k, g in enumerate(gsteps, 1):
            p.grad = g.clone()
            opt.step()
            fx.put("%s.p%d" % (name, k), p)

    ga = 2.0 * torch.randn(3, 4)
    gb = 2.0 * torch.randn(5)
    pa, pb = nn.Parameter(torch.zeros(3, 4)), nn.Parameter(torch.zeros(5))
    pa.grad, pb.grad = ga.clone(), gb.clone()
    total = torch.nn.utils.clip_grad_norm_([pa, pb], max_norm=max_norm)
    assert float(total) > max_norm
    fx.put("clip.ga", ga)
    fx.put("clip.gb", gb)
    fx.put("clip.total_norm", total)
    fx.put("clip.ga_out", pa.grad)
    fx.put("clip.gb_out", pb.grad)

    gs = 0.01 * torch.randn(3, 4)
    ps = nn.Parameter(torch.zeros(3, 4))
    ps.grad = gs.clone()
    total = torch.nn.utils.clip_grad_norm_([ps], max_norm=max_norm)
    assert float(total) < max_norm
    fx.put("clip_small.ga", gs)
    fx.put("clip_small.total_norm", total)
    fx.put("clip_small.ga_out", ps.grad)

    for name, v in [("lr", lr), ("beta1", b1), ("beta2", b2), ("eps", eps),
                    ("weight_decay", wd), ("max_norm", max_norm)]:
        fx.meta(name, v)
    return fx.save("optim.safetensors"), fx


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    for make in (make_ops, make_backbone, make_optim):
        path, fx = make()
        print("%-60s %8d bytes  %4d tensors  %3d metadata" % (
            os.path.relpath(path, REPO_ROOT), os.path.getsize(path),
            len(fx.tensors), len(fx.metadata)))
    print("self-check OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())

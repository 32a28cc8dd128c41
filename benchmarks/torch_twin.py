#!/usr/bin/python3
"""PyTorch twin of benchmarks/Dicp.Benchmarks: the DICP-AD Darkroom model, same shapes, loss and optimizer.

Run with Debian's python3-torch (1.13, CPU). A fair comparison (docs: performance.md) uses OpenBLAS and tcmalloc:

    apt-get install -y libopenblas0-openmp libtcmalloc-minimal4   # libblas.so.3 then points to OpenBLAS (openmp)
    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 /usr/bin/python3 benchmarks/torch_twin.py ad-train --batch 512 --steps 10

Subcommands (one JSON line per measurement, "impl":"pytorch"):
    ad-train --batch N --steps S [--warmup W]     median training step (forward, loss, backward, clip, AdamW)
    ad-infer --batch N [--iters I] [--warmup W]   median forward under torch.no_grad() and model.eval()
    gemm [--m M] [--iters I]                      GFLOP/s of F.linear at the backbone's shapes
    profile [--batch N] [--steps S]               torch.profiler op table of a training step (to stderr)
    parity [--file F]                             load Dicp's weights/batch/outputs (Dicp.Benchmarks parity) and compare
    plan-step [--envs 20] [--beam-k 10] [--samples 5] [--horizon 8] [--iters 3] [--warmup 1]
                                                  median time of one naive beam-search planning step ("impl":"torch-naive")
    all                                           ad-train 512 and 64, ad-infer 20 and 1000
common: --threads N (torch.set_num_threads, default 2), --verbose

Model (reference.md §4): per sample n_transit - 1 = 79 transition tokens Linear(10 -> 32) over
concat(s (2 coords), one-hot a (5), r (1), s' (2)), a query-state token Embedding(81, 32) and a query-action token
Embedding(5, 32) -> 81 tokens; the "TinyLlama" backbone (d 32, 4 layers, 4 heads, SwiGLU 128, dropout 0.1): pre-norm
blocks x = x + attn(norm_1(x)); x = x + mlp(norm_2(x)), no final norm; RMSNorm (eps 1e-5) with dropout on its input;
fused qkv Linear laid out per head [q|k|v], RoPE rotate-half base 10000 on q and k, causal softmax attention with
dropout, proj; SwiGLU w3(silu(w1 x) * w2 x) without bias. Heads: action logits (5) from the query-state output,
reward (2) and next-state (81) logits from the query-action output. Loss CE + CE + CE; AdamW lr 1e-2,
betas (0.9, 0.99), weight decay 0.01; grad-norm clip 1.0.
"""
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

D_MODEL, N_LAYER, N_HEAD, N_INNER, DROPOUT = 32, 4, 4, 128, 0.1
N_TRANSIT = 80
NUM_STATES, NUM_ACTIONS, NUM_REWARDS = 81, 5, 2


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-5, dropout=0.0):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        x = self.dropout(x)
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class CausalSelfAttention(nn.Module):
    def __init__(self, d, n_head, dropout, max_len=128, base=10000.0):
        super().__init__()
        self.n_head, self.hs = n_head, d // n_head
        self.attn = nn.Linear(d, 3 * d, bias=True)
        self.proj = nn.Linear(d, d, bias=True)
        self.attn_dropout = nn.Dropout(dropout)
        inv_freq = base ** (-torch.arange(0, self.hs, 2, dtype=torch.float64) / self.hs)
        theta = torch.arange(max_len, dtype=torch.float64)[:, None] * inv_freq[None, :]
        theta = torch.cat((theta, theta), dim=-1)
        self.register_buffer("cos", theta.cos().float(), persistent=False)
        self.register_buffer("sin", theta.sin().float(), persistent=False)
        self.register_buffer("mask", torch.ones(max_len, max_len, dtype=torch.bool).tril(), persistent=False)

    def forward(self, x):
        b, t, d = x.shape
        qkv = self.attn(x).view(b, t, self.n_head, 3 * self.hs).transpose(1, 2)  # (B, H, T, 3hs), per head [q|k|v]
        q, k, v = qkv.split(self.hs, dim=-1)
        cos, sin = self.cos[:t], self.sin[:t]
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.hs))
        att = att.masked_fill(~self.mask[:t, :t], float("-inf"))
        att = self.attn_dropout(F.softmax(att, dim=-1))
        y = (att @ v).transpose(1, 2).contiguous().view(b, t, d)
        return self.proj(y)


class SwiGLU(nn.Module):
    def __init__(self, d, hidden):
        super().__init__()
        self.w1 = nn.Linear(d, hidden, bias=False)
        self.w2 = nn.Linear(d, hidden, bias=False)
        self.w3 = nn.Linear(hidden, d, bias=False)

    def forward(self, x):
        return self.w3(F.silu(self.w1(x)) * self.w2(x))


class MLP(nn.Module):
    def __init__(self, d, hidden):
        super().__init__()
        self.swiglu = SwiGLU(d, hidden)

    def forward(self, x):
        return self.swiglu(x)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm_1 = RMSNorm(D_MODEL, dropout=DROPOUT)
        self.attn = CausalSelfAttention(D_MODEL, N_HEAD, DROPOUT)
        self.norm_2 = RMSNorm(D_MODEL, dropout=DROPOUT)
        self.mlp = MLP(D_MODEL, N_INNER)

    def forward(self, x):
        x = x + self.attn(self.norm_1(x))
        return x + self.mlp(self.norm_2(x))


class Transformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([Block() for _ in range(N_LAYER)])

    def forward(self, x):
        for blk in self.blocks:
            x = blk(x)
        return x


class DicpAd(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed_context = nn.Linear(10, D_MODEL)
        self.embed_query_state = nn.Embedding(NUM_STATES, D_MODEL)
        self.embed_query_action = nn.Embedding(NUM_ACTIONS, D_MODEL)
        self.transformer = Transformer()
        self.pred_action = nn.Linear(D_MODEL, NUM_ACTIONS)
        self.pred_reward = nn.Linear(D_MODEL, NUM_REWARDS)
        self.pred_next_state = nn.Linear(D_MODEL, NUM_STATES)

    def forward(self, context, query_states, query_actions):
        c = context.shape[1]
        x = torch.cat([self.embed_context(context),
                       self.embed_query_state(query_states).unsqueeze(1),
                       self.embed_query_action(query_actions).unsqueeze(1)], dim=1)
        h = self.transformer(x)
        h_state, h_action = h[:, c], h[:, c + 1]
        return self.pred_action(h_state), self.pred_reward(h_action), self.pred_next_state(h_action)


def make_batch(batch, seed=1235):
    g = torch.Generator().manual_seed(seed)
    c = N_TRANSIT - 1
    s = torch.randint(0, 9, (batch, c, 2), generator=g).float()
    a = F.one_hot(torch.randint(0, NUM_ACTIONS, (batch, c), generator=g), NUM_ACTIONS).float()
    r = torch.randint(0, 2, (batch, c, 1), generator=g).float()
    s2 = torch.randint(0, 9, (batch, c, 2), generator=g).float()
    ints = lambda n: torch.randint(0, n, (batch,), generator=g)
    return dict(context=torch.cat([s, a, r, s2], dim=-1).contiguous(),
                query_states=ints(NUM_STATES), query_actions=ints(NUM_ACTIONS),
                target_actions=ints(NUM_ACTIONS), target_rewards=ints(NUM_REWARDS), target_next_states=ints(NUM_STATES))


class Trainer:
    def __init__(self, batch, seed=1234):
        torch.manual_seed(seed)
        self.model = DicpAd()
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=1e-2, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.01)
        self.batch = make_batch(batch, seed + 1)

    def loss(self):
        bt = self.batch
        a, r, s = self.model(bt["context"], bt["query_states"], bt["query_actions"])
        return F.cross_entropy(a, bt["target_actions"]) + F.cross_entropy(r, bt["target_rewards"]) \
            + F.cross_entropy(s, bt["target_next_states"])

    def step(self):
        t0 = time.perf_counter()
        self.opt.zero_grad(set_to_none=True)
        loss = self.loss()
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        t3 = time.perf_counter()
        self.opt.step()
        t4 = time.perf_counter()
        ms = lambda a, b: (b - a) * 1000.0
        return dict(fwd=ms(t0, t1), bwd=ms(t1, t2), clip=ms(t2, t3), opt=ms(t3, t4), total=ms(t0, t4), loss=loss.item())


def emit(**kv):
    out = {"bench": kv.pop("bench"), "impl": kv.pop("impl", "pytorch")}
    for k, v in kv.items():
        out[k] = (round(v, 4) if v == 0 or abs(v) >= 0.01 else float(f"{v:.3g}")) if isinstance(v, float) else v
    print(json.dumps(out, separators=(",", ":")), flush=True)


def ad_train(batch, steps, warmup, verbose):
    tr = Trainer(batch)
    loss_first = None
    for i in range(warmup):
        t = tr.step()
        loss_first = loss_first if loss_first is not None else t["loss"]
        if verbose:
            print(f"  warmup {i}: {t}", file=sys.stderr)
    times = []
    for i in range(steps):
        t = tr.step()
        loss_first = loss_first if loss_first is not None else t["loss"]
        times.append(t)
        if verbose:
            print(f"  step {i}: {t}", file=sys.stderr)
    med = lambda key: statistics.median(t[key] for t in times)
    m = med("total")
    emit(bench="ad-train", batch=batch, steps=steps, median_ms=round(m, 2), steps_per_s=round(1000.0 / m, 3),
         min_ms=round(min(t["total"] for t in times), 2), threads=torch.get_num_threads(), fwd_ms=round(med("fwd"), 2), bwd_ms=round(med("bwd"), 2),
         clip_ms=round(med("clip"), 2), opt_ms=round(med("opt"), 2),
         loss_first=round(loss_first, 4), loss_last=round(times[-1]["loss"], 4),
         params=sum(p.numel() for p in tr.model.parameters()))


def ad_infer(batch, iters, warmup, verbose):
    tr = Trainer(batch)
    tr.model.eval()
    bt = tr.batch
    times = []
    with torch.no_grad():
        for _ in range(warmup):
            tr.model(bt["context"], bt["query_states"], bt["query_actions"])
        for i in range(iters):
            t0 = time.perf_counter()
            tr.model(bt["context"], bt["query_states"], bt["query_actions"])
            times.append((time.perf_counter() - t0) * 1000.0)
            if verbose:
                print(f"  iter {i}: {times[-1]:.2f} ms", file=sys.stderr)
    m = statistics.median(times)
    emit(bench="ad-infer", batch=batch, iters=iters, median_ms=round(m, 3), samples_per_s=round(batch * 1000.0 / m, 1),
         min_ms=round(min(times), 3), threads=torch.get_num_threads())


def gemm(m, iters):
    g = torch.Generator().manual_seed(7)
    for k, n, name in [(32, 96, "qkv"), (32, 128, "w1/w2"), (128, 32, "w3"), (32, 32, "proj")]:
        x = torch.rand(m, k, generator=g) * 2 - 1
        w = (torch.rand(n, k, generator=g) * 2 - 1) * 0.1
        flops = 2.0 * m * k * n
        with torch.no_grad():
            for _ in range(3):
                F.linear(x, w)
            fwd = []
            for _ in range(iters):
                t0 = time.perf_counter()
                F.linear(x, w)
                fwd.append((time.perf_counter() - t0) * 1000.0)
        xg, wg = x.clone().requires_grad_(), w.clone().requires_grad_()
        seed = torch.rand(m, n, generator=g)
        bwd = []
        for i in range(iters + 3):
            xg.grad = None
            wg.grad = None
            y = F.linear(xg, wg)
            t0 = time.perf_counter()
            y.backward(seed)
            if i >= 3:
                bwd.append((time.perf_counter() - t0) * 1000.0)
        fm, bm = statistics.median(fwd), statistics.median(bwd)
        emit(bench="gemm", layer=name, m=m, k=k, n=n, fwd_ms=round(fm, 3), fwd_gflops=round(flops / fm / 1e6, 1),
             bwd_ms=round(bm, 3), bwd_gflops=round(2 * flops / bm / 1e6, 1), threads=torch.get_num_threads())


def profile(batch, steps):
    tr = Trainer(batch)
    for _ in range(3):
        tr.step()
    from torch.profiler import profile as tprofile, ProfilerActivity
    with tprofile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            tr.step()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=25), file=sys.stderr)


def load_safetensors_f32(path):
    """Minimal safetensors reader (F32 only; the twin needs no extra package)."""
    import struct
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise SystemExit(f"{path}: {name} has dtype {info['dtype']}, expected F32")
        s, e = info["data_offsets"]
        out[name] = torch.frombuffer(bytearray(blob[base + s:base + e]), dtype=torch.float32).reshape(info["shape"])
    return out


def parity(path):
    """Loads Dicp's weights and batch (Dicp.Benchmarks parity) and compares evaluation-mode outputs."""
    t = load_safetensors_f32(path)
    model = DicpAd()
    state = {k: v for k, v in t.items() if not k.startswith(("input.", "output."))}
    model.load_state_dict(state, strict=True)
    model.eval()
    with torch.no_grad():
        a, r, s = model(t["input.context"], t["input.query_states"].long(), t["input.query_actions"].long())
    diffs = {k: (o.reshape(-1) - t["output." + k].reshape(-1)).abs().max().item()
             for k, o in (("action", a), ("reward", r), ("next_state", s))}
    worst = max(diffs.values())
    emit(bench="parity", batch=int(t["input.context"].shape[0]), max_abs_diff=worst,
         **{f"diff_{k}": v for k, v in diffs.items()}, ok=bool(worst < 1e-3))
    return 0 if worst < 1e-3 else 1


def _grid_context(n, g):
    """(n, 79, 10) random Darkroom transitions: s (2 coords), one-hot a (5), r (1), s' (2)."""
    c = N_TRANSIT - 1
    s = torch.randint(0, 9, (n, c, 2), generator=g).float()
    a = F.one_hot(torch.randint(0, NUM_ACTIONS, (n, c), generator=g), NUM_ACTIONS).float()
    r = torch.randint(0, 2, (n, c, 1), generator=g).float()
    s2 = torch.randint(0, 9, (n, c, 2), generator=g).float()
    return torch.cat([s, a, r, s2], dim=-1).contiguous()


def naive_beam_step(model, ctx, obs, beam_k, samples, horizon, g):
    """One beam-search planning step for every environment at once (reference.md section 5), recomputing the whole
    window of every candidate as the reference does: each candidate is a full sequence of the last 79 transitions of
    (real window ++ its imagined path), its query state and its query action.

    ctx (E, 79, 10) real windows, obs (E, 2) current cells. Returns (first actions (E), sequences run, forwards)."""
    e, c = ctx.shape[0], ctx.shape[1]
    cell = lambda xy: (xy[..., 0] * 9 + xy[..., 1]).long()
    decode = lambda idx: torch.stack([torch.div(idx, 9, rounding_mode="floor"), idx % 9], dim=-1).float()
    seqs, forwards = 0, 0

    def predict(context, qs, qa):
        nonlocal seqs, forwards
        a_logits, r_logits, s_logits = model(context, qs, qa)
        seqs += context.shape[0]
        forwards += 1
        return a_logits, r_logits.argmax(-1).float(), decode(s_logits.argmax(-1))

    # The policy at the current observation (the query-action token is ignored by the action head).
    logits, _, _ = predict(ctx, cell(obs), torch.zeros(e, dtype=torch.long))
    first = torch.multinomial(F.softmax(logits, dim=-1), samples, replacement=False, generator=g)  # (E, L)

    # Depth 0: L candidates per environment.
    n = samples
    context = ctx.unsqueeze(1).expand(e, n, c, 10).reshape(e * n, c, 10)
    qs = obs.unsqueeze(1).expand(e, n, 2)                                       # (E, L, 2)
    _, r, s2 = predict(context, cell(qs).reshape(-1), first.reshape(-1))
    r, s2 = r.view(e, n), s2.view(e, n, 2)
    tokens = torch.cat([qs, F.one_hot(first, NUM_ACTIONS).float(), r.unsqueeze(-1), s2], dim=-1).unsqueeze(2)  # (E, P, 1, 10)
    actions, score = first.unsqueeze(-1), r
    order = torch.sort(score, dim=1, descending=True, stable=True).indices[:, :beam_k]
    take = lambda x, idx: torch.gather(x, 1, idx.view(*idx.shape, *([1] * (x.dim() - 2))).expand(*idx.shape, *x.shape[2:]))
    tokens, actions, score = take(tokens, order), take(actions, order), take(score, order)

    for d in range(1, horizon):
        p = tokens.shape[1]
        cand = p * NUM_ACTIONS
        path_tokens = tokens.unsqueeze(2).expand(e, p, NUM_ACTIONS, d, 10).reshape(e, cand, d, 10)
        # Slide the window: the last 79 of (real ++ imagined), recomputed for every candidate.
        real = ctx[:, d:].unsqueeze(1).expand(e, cand, c - d, 10)
        context = torch.cat([real, path_tokens], dim=2).reshape(e * cand, c, 10)    # (E*P*5, 79, 10)
        qs = path_tokens[:, :, -1, 8:10]                                             # the last predicted next state
        qa = torch.arange(NUM_ACTIONS).repeat(p).unsqueeze(0).expand(e, cand)
        _, r, s2 = predict(context, cell(qs).reshape(-1), qa.reshape(-1))
        r, s2 = r.view(e, cand), s2.view(e, cand, 2)
        new_tok = torch.cat([qs, F.one_hot(qa, NUM_ACTIONS).float(), r.unsqueeze(-1), s2], dim=-1).unsqueeze(2)
        tokens = torch.cat([path_tokens, new_tok], dim=2)                          # (E, cand, d + 1, 10)
        actions = torch.cat([actions.unsqueeze(2).expand(e, p, NUM_ACTIONS, d).reshape(e, cand, d), qa.unsqueeze(-1)], dim=2)
        score = score.unsqueeze(2).expand(e, p, NUM_ACTIONS).reshape(e, cand) + r
        order = torch.sort(score, dim=1, descending=True, stable=True).indices[:, :beam_k]
        tokens, actions, score = take(tokens, order), take(actions, order), take(score, order)
    return actions[:, 0, 0], seqs, forwards


def plan_step(envs, beam_k, samples, horizon, iters, warmup, verbose):
    torch.manual_seed(1234)
    model = DicpAd()
    model.eval()
    g = torch.Generator().manual_seed(77)
    ctx = _grid_context(envs, g)
    obs = torch.randint(0, 9, (envs, 2), generator=g).float()
    times = []
    with torch.no_grad():
        for i in range(warmup + iters):
            t0 = time.perf_counter()
            first, seqs, forwards = naive_beam_step(model, ctx, obs, beam_k, samples, horizon, g)
            ms = (time.perf_counter() - t0) * 1000.0
            if i >= warmup:
                times.append(ms)
            if verbose:
                print(f"  {'warmup' if i < warmup else 'iter'} {i}: {ms:.1f} ms, {seqs} sequences in {forwards} forwards,"
                      f" actions {first.tolist()}", file=sys.stderr)
    m = statistics.median(times)
    emit(bench="plan-step", impl="torch-naive", envs=envs, beam_k=beam_k, samples=samples, horizon=horizon,
         window=N_TRANSIT - 1, iters=iters, median_ms=round(m, 2), min_ms=round(min(times), 2),
         ms_per_env=round(m / envs, 3), sequences=seqs, tokens=seqs * (N_TRANSIT + 1), forwards=forwards,
         threads=torch.get_num_threads())


def parse(argv):
    opts, i = {}, 0
    while i < len(argv):
        a = argv[i]
        if not a.startswith("--"):
            raise SystemExit(f"unexpected argument {a!r}\n{__doc__}")
        name = a[2:]
        if i + 1 < len(argv) and not argv[i + 1].startswith("--"):
            opts[name] = argv[i + 1]
            i += 2
        else:
            opts[name] = True
            i += 1
    return opts


def main(argv):
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(__doc__, file=sys.stderr)
        return 2 if not argv else 0
    cmd, opts = argv[0], parse(argv[1:])
    known = {"ad-train": {"batch", "steps", "warmup"}, "ad-infer": {"batch", "iters", "warmup"},
             "gemm": {"m", "iters"}, "profile": {"batch", "steps"}, "parity": {"file"}, "all": set(),
             "plan-step": {"envs", "beam-k", "samples", "horizon", "iters", "warmup"}}
    if cmd not in known:
        raise SystemExit(f"unknown command {cmd!r}\n{__doc__}")
    unknown = set(opts) - known[cmd] - {"threads", "verbose"}
    if unknown:
        raise SystemExit(f"unknown option(s) {sorted(unknown)}\n{__doc__}")
    geti = lambda k, d: int(opts.get(k, d))
    torch.set_num_threads(geti("threads", 2))
    verbose = bool(opts.get("verbose", False))
    if "tcmalloc" not in os.environ.get("LD_PRELOAD", ""):
        print("torch_twin: note: tcmalloc is not preloaded (see the module docstring)", file=sys.stderr)
    if cmd == "ad-train":
        ad_train(geti("batch", 512), geti("steps", 10), geti("warmup", 3), verbose)
    elif cmd == "ad-infer":
        ad_infer(geti("batch", 20), geti("iters", 50), geti("warmup", 5), verbose)
    elif cmd == "gemm":
        gemm(geti("m", 512 * 81), geti("iters", 20))
    elif cmd == "profile":
        profile(geti("batch", 512), geti("steps", 3))
    elif cmd == "parity":
        return parity(opts.get("file", "/tmp/dicp_parity.safetensors"))
    elif cmd == "plan-step":
        plan_step(geti("envs", 20), geti("beam-k", 10), geti("samples", 5), geti("horizon", 8), geti("iters", 3),
                  geti("warmup", 1), verbose)
    elif cmd == "all":
        ad_train(512, 10, 3, verbose)
        ad_train(64, 30, 5, verbose)
        ad_infer(20, 50, 5, verbose)
        ad_infer(1000, 10, 2, verbose)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python3
"""Generate golden fixtures for Dicp's in-context models (AD, DPT, DICP heads) with PyTorch.

Run from the repository root with Debian's python3 (torch 1.13 + numpy):

    /usr/bin/python3 tools/make_model_fixtures.py

It writes tests/Dicp.Core.Tests/Fixtures/models.safetensors (same hand-written
safetensors format and conventions as tools/make_fixtures.py, whose writer,
reference math and backbone blocks it reuses) and re-reads it to check the
round trip.  Output is byte-deterministic.

The models below are written from the specification (docs/models.md), with the
reference's parameter names:

  transformer.blocks.{i}.(norm_1|attn.attn|attn.proj|norm_2|mlp.swiglu.w1|w2|w3)
  embed_context        Linear(F, d), F = 2*O + (n_actions one-hot | A) + 1
  embed_query_state    grid AD: Embedding(81, d) on the cell x*9+y | Linear(O, d) (DPT: unused)
  pred_action          Linear(d, n_actions) | Linear(d, 2A) [mean | log-var] | Linear(d, A)
  embed_query_action   dynamics (DPT: always): Embedding(n_actions, d) | Linear(A, d)
  pred_reward          dynamics: Linear(d, reward_classes) | Linear(d, 1) clipped to [0, reward_max]
  pred_next_state      dynamics: Linear(d, 81) | Linear(d, O)
  pred_return          return-to-go: Linear(d, 1)
  The pred_* heads are plural (pred_actions, ...) for continuous AD and for DPT.

Token layouts for a window of n steps (context = transitions 0..n-2, query = step n-1):
  AD : [t_0 .. t_{n-2}, s_q, (a_q)]   action from s_q's output
  DPT: [q_pad, t_0 .. t_{n-2}, (a_q)] action (optimal) from positions 1..n-1
  reward / next state / return from a_q's output.
Loss = action + lambda * (reward + next_state [+ return]).

Cases (prefix "<case>."): ad_grid, ad_grid_dyn (label smoothing 0.1, lambda 0.5,
return-to-go head), ad_cont (Gaussian NLL, clipped reward MSE), ad_cont_mse
(MSE action head), dpt_grid, dpt_grid_dyn.  Per case:
  <case>.<param>                 initial weights (float32)
  <case>.states|actions|rewards|next_states (B, n, ·) float32, optimal_actions,
  returns_to_go (B, n)
  <case>.out.actions (B, k, ·), out.rewards, out.next_states, out.returns
  <case>.loss [], <case>.metric.<name> []
  <case>.grad.<param>            d loss / d param
  metadata "<case>.config": the ModelConfig as snake_case JSON.
Forward/backward run in float64 from the float32 weights and inputs.
"""

import copy
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures as mf  # noqa: E402  (writer, Fixture, Block)

B, N = 3, 6
D, LAYERS, HEADS, INNER = 16, 2, 2, 32


class Transformer(nn.Module):
    def __init__(self, d, layers, heads, inner):
        super().__init__()
        self.blocks = nn.ModuleList([mf.Block(d, heads, inner) for _ in range(layers)])

    def forward(self, x):
        for b in self.blocks:
            x = b(x)
        return x


class InContextModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        d, o = cfg["embedding_dim"], cfg["observation_size"]
        self.grid = cfg["state_classes"] > 0
        self.discrete = cfg["action_count"] > 0
        self.af = cfg["action_count"] if self.discrete else cfg["action_size"]
        self.dpt = cfg["model"] == "dpt"
        self.plural = self.dpt or not self.grid  # head names: singular for grid AD, plural otherwise
        self.transformer = Transformer(d, cfg["layers"], cfg["heads"], cfg["inner"])
        self.embed_context = nn.Linear(2 * o + self.af + 1, d)
        # DPT registers a Linear query-state embedding that it never uses (the query is padded into embed_context)
        self.embed_query_state = nn.Embedding(cfg["state_classes"], d) if self.grid and not self.dpt else nn.Linear(o, d)
        a_out = (cfg["action_count"] if self.discrete
                 else 2 * cfg["action_size"] if cfg["learn_variance"] else cfg["action_size"])
        setattr(self, self.key("pred_action"), nn.Linear(d, a_out))
        if cfg["dynamics"] or self.dpt:
            self.embed_query_action = (nn.Embedding(cfg["action_count"], d) if self.discrete
                                       else nn.Linear(cfg["action_size"], d))
        if cfg["dynamics"]:
            setattr(self, self.key("pred_reward"), nn.Linear(d, cfg["reward_classes"] if cfg["reward_classes"] > 0 else 1))
            setattr(self, self.key("pred_next_state"), nn.Linear(d, cfg["state_classes"] if self.grid else o))
            if cfg["return_to_go"]:
                setattr(self, self.key("pred_return"), nn.Linear(d, 1))
        with torch.no_grad():  # non-trivial norm weights, as the backbone fixture
            for blk in self.transformer.blocks:
                blk.norm_1.weight.copy_(1.0 + 0.1 * torch.randn_like(blk.norm_1.weight))
                blk.norm_2.weight.copy_(1.0 + 0.1 * torch.randn_like(blk.norm_2.weight))

    def key(self, stem):
        return stem + "s" if self.plural else stem

    def head(self, stem):
        return getattr(self, self.key(stem))

    def features(self, s, a, r, s2):
        if self.discrete:
            a = F.one_hot(a[..., 0].long(), self.cfg["action_count"]).to(s.dtype)
        return torch.cat([s, a, r[..., None], s2], dim=-1)

    def cell(self, s):
        return (s[..., 0] * 9 + s[..., 1]).long()

    def forward(self, s, a, r, s2):
        cfg = self.cfg
        ctx = self.embed_context(self.features(s[:, :-1], a[:, :-1], r[:, :-1], s2[:, :-1]))
        sq = s[:, -1:]
        if cfg["model"] == "ad":
            q = self.embed_query_state(self.cell(sq)) if self.grid else self.embed_query_state(sq)
            parts = [ctx, q]
        else:
            pad = torch.zeros(s.shape[0], 1, self.embed_context.in_features, dtype=s.dtype)
            pad[..., :s.shape[-1]] = sq
            parts = [self.embed_context(pad), ctx]
        if cfg["dynamics"]:
            aq = a[:, -1:]
            qa = self.embed_query_action(aq[..., 0].long()) if self.discrete else self.embed_query_action(aq)
            parts.append(qa)
        h = self.transformer(torch.cat(parts, dim=1))
        n = s.shape[1]
        acts = self.head("pred_action")(h[:, n - 1:n] if cfg["model"] == "ad" else h[:, 1:n])
        out = {"actions": acts}
        if cfg["dynamics"]:
            hq = h[:, -1]
            out["rewards"] = self.head("pred_reward")(hq)
            out["next_states"] = self.head("pred_next_state")(hq)
            if cfg["return_to_go"]:
                out["returns"] = self.head("pred_return")(hq)
        return out

    def loss(self, out, s, a, r, s2, opt, rtg):
        cfg = self.cfg
        ls = cfg["label_smoothing"]
        metrics = {}
        acts = out["actions"]
        if self.discrete:
            k = acts.shape[1]
            y = (opt[:, -1] if cfg["model"] == "dpt" else a[:, -1, 0].long())
            y = y[:, None].expand(-1, k).reshape(-1)
            logits = acts.reshape(-1, acts.shape[-1])
            la = F.cross_entropy(logits, y, label_smoothing=ls)
            metrics["action_accuracy"] = (logits.argmax(-1) == y).double().mean()
        else:
            A = cfg["action_size"]
            t = a[:, -1:]
            if cfg["learn_variance"]:
                la = F.gaussian_nll_loss(acts[..., :A], t, acts[..., A:].exp(), full=True, eps=1e-6)
            else:
                la = F.mse_loss(acts, t)
        metrics["action_loss"] = la
        total = la
        if cfg["dynamics"]:
            if cfg["reward_classes"] > 0:
                yr = r[:, -1].round().long()
                lr_ = F.cross_entropy(out["rewards"], yr, label_smoothing=ls)
                metrics["reward_accuracy"] = (out["rewards"].argmax(-1) == yr).double().mean()
            else:
                lr_ = F.mse_loss(out["rewards"].clamp(0.0, cfg["reward_max"]), r[:, -1:])
            if self.grid:
                ys = self.cell(s2[:, -1])
                ln = F.cross_entropy(out["next_states"], ys, label_smoothing=ls)
                metrics["next_state_accuracy"] = (out["next_states"].argmax(-1) == ys).double().mean()
            else:
                ln = F.mse_loss(out["next_states"], s2[:, -1])
            metrics["reward_loss"] = lr_
            metrics["next_state_loss"] = ln
            dyn = lr_ + ln
            if cfg["return_to_go"]:
                lg = F.mse_loss(out["returns"], rtg[:, -1:])
                metrics["return_loss"] = lg
                dyn = dyn + lg
            total = total + cfg["dynamics_coefficient"] * dyn
        metrics["loss"] = total
        return total, metrics


def config(model, dynamics, grid=True, **kw):
    cfg = dict(model=model, dynamics=dynamics, return_to_go=False,
               observation_size=2 if grid else 3, state_classes=81 if grid else 0,
               action_count=5 if grid else 0, action_size=1 if grid else 2,
               reward_classes=2 if grid else 0, reward_max=10.0 if grid else 1.5,
               n_transit=N, embedding_dim=D, layers=LAYERS, heads=HEADS, inner=INNER,
               dropout=0.0, dynamics_coefficient=1.0, label_smoothing=0.0,
               learn_variance=True, segment_length=10, latent_dim=8)
    cfg.update(kw)
    return cfg


def make_batch(cfg):
    if cfg["state_classes"] > 0:
        s = torch.randint(0, 9, (B, N, 2)).float()
        s2 = torch.randint(0, 9, (B, N, 2)).float()
        a = torch.randint(0, 5, (B, N, 1)).float()
        r = torch.randint(0, 2, (B, N)).float()
    else:
        s = torch.randn(B, N, 3)
        s2 = torch.randn(B, N, 3)
        a = torch.rand(B, N, 2) * 2 - 1
        r = torch.rand(B, N) * 2.0   # some rewards above reward_max = 1.5
    opt = torch.randint(0, 5, (B, N))
    rtg = torch.rand(B, N) * 5
    return s, a, r, s2, opt, rtg


def p_of(model, key):
    return dict(model.named_parameters())[key]


def make_case(fx, name, cfg):
    model = InContextModel(cfg)
    batch = make_batch(cfg)
    s, a, r, s2, opt, rtg = batch
    for k, p in model.named_parameters():
        fx.put("%s.%s" % (name, k), p)
    for k, v in zip(["states", "actions", "rewards", "next_states", "optimal_actions", "returns_to_go"], batch):
        fx.put("%s.%s" % (name, k), v)
    m64 = copy.deepcopy(model).double()
    d64 = [t.double() if t.is_floating_point() else t for t in batch]
    out = m64(*d64[:4])
    total, metrics = m64.loss(out, *d64)
    params = list(m64.parameters())
    grads = torch.autograd.grad(total, params, allow_unused=True)  # DPT's embed_query_state is unused: zero gradient
    for k, v in out.items():
        fx.put("%s.out.%s" % (name, k), v)
    fx.put("%s.loss" % name, total)
    for k, v in metrics.items():
        fx.put("%s.metric.%s" % (name, k), v)
    for (k, _), g in zip(m64.named_parameters(), grads):
        fx.put("%s.grad.%s" % (name, k), g if g is not None else torch.zeros_like(p_of(m64, k)))
    fx.meta("%s.config" % name, json.dumps(cfg, sort_keys=True))
    fx.meta("%s.keys" % name, " ".join(k for k, _ in model.named_parameters()))


def main():
    torch.manual_seed(0)
    fx = mf.Fixture()
    cases = [
        ("ad_grid", config("ad", False)),
        ("ad_grid_dyn", config("ad", True, return_to_go=True, label_smoothing=0.1, dynamics_coefficient=0.5)),
        ("ad_cont", config("ad", True, grid=False)),
        ("ad_cont_mse", config("ad", True, grid=False, learn_variance=False)),
        ("dpt_grid", config("dpt", False)),
        ("dpt_grid_dyn", config("dpt", True)),
    ]
    names = []
    for name, cfg in cases:
        make_case(fx, name, cfg)
        names.append(name)
    fx.meta("cases", " ".join(names))
    path = fx.save("models.safetensors")
    print("%s %d bytes, %d tensors; self-check OK" % (os.path.relpath(path, mf.REPO_ROOT), os.path.getsize(path), len(fx.tensors)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Small files in the layout the DICP authors' code writes, for tests/Dicp.Interop.Tests (committed; tests need no Python).

Run with Debian's packages: apt-get install python3-torch python3-h5py; /usr/bin/python3 tools/make_authors_fixtures.py

1. authors-darkroom.hdf5 - the gridworld collector's history file: one group per task ("0", "1"), each with int32
   datasets states (T, S, 2), actions (T, S), rewards (T, S), next_states (T, S, 2), bool dones (T, S) (time-major, as
   the PPO callback stacks them) and int32 optimal_actions (S, T) (stream-major, as the annotation pass writes it).
2. authors-ckpt-10.pt - the training script's checkpoint: torch.save of a dict {model: state_dict, optimizer:
   state_dict, lr_sched: state_dict, step} (zip format); the model is a tiny DICP-AD grid model with the reference keys.
Expected values for both go to authors-expected.json.
"""
import json
import os

import h5py
import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "Dicp.Interop.Tests", "Fixtures")


def history(rng, tasks=2, streams=3, steps=6):
    expected = []
    path = os.path.join(OUT, "authors-darkroom.hdf5")
    if os.path.exists(path):
        os.remove(path)
    with h5py.File(path, "w-") as f:
        for i in range(tasks):
            states = rng.integers(0, 9, size=(steps, streams, 2)).astype(np.int32)
            actions = rng.integers(0, 5, size=(steps, streams)).astype(np.int32)
            rewards = rng.integers(0, 2, size=(steps, streams)).astype(np.int32)
            next_states = rng.integers(0, 9, size=(steps, streams, 2)).astype(np.int32)
            dones = np.zeros((steps, streams), dtype=np.bool_)
            dones[steps // 2 - 1, :] = True
            dones[steps - 1, :] = True
            optimal = rng.integers(0, 5, size=(streams, steps)).astype(np.int32)
            g = f.create_group(str(i))
            for key, value in (("states", states), ("actions", actions), ("rewards", rewards),
                               ("next_states", next_states), ("dones", dones)):
                g.create_dataset(key, data=value)
            g.create_dataset("optimal_actions", data=optimal)
            # Dicp's layout: stream-major (S, T, ...)
            expected.append({
                "states": states.transpose(1, 0, 2).reshape(-1).tolist(),
                "actions": actions.transpose(1, 0).reshape(-1).tolist(),
                "rewards": rewards.transpose(1, 0).reshape(-1).tolist(),
                "next_states": next_states.transpose(1, 0, 2).reshape(-1).tolist(),
                "dones": dones.transpose(1, 0).reshape(-1).astype(int).tolist(),
                "optimal_actions": optimal.reshape(-1).tolist(),
            })
    return {"tasks": tasks, "streams": streams, "steps": steps, "data": expected}


def checkpoint():
    torch.manual_seed(0)
    d, inner, layers = 8, 16, 1
    shapes = {}
    for i in range(layers):
        p = f"transformer.blocks.{i}."
        shapes[p + "norm_1.weight"] = (d,)
        shapes[p + "attn.attn.weight"] = (3 * d, d)
        shapes[p + "attn.attn.bias"] = (3 * d,)
        shapes[p + "attn.proj.weight"] = (d, d)
        shapes[p + "attn.proj.bias"] = (d,)
        shapes[p + "norm_2.weight"] = (d,)
        shapes[p + "mlp.swiglu.w1.weight"] = (inner, d)
        shapes[p + "mlp.swiglu.w2.weight"] = (inner, d)
        shapes[p + "mlp.swiglu.w3.weight"] = (d, inner)
    shapes.update({
        "embed_context.weight": (d, 10), "embed_context.bias": (d,),
        "embed_query_state.weight": (81, d),
        "pred_action.weight": (5, d), "pred_action.bias": (5,),
        "embed_query_action.weight": (5, d),
        "pred_reward.weight": (2, d), "pred_reward.bias": (2,),
        "pred_next_state.weight": (81, d), "pred_next_state.bias": (81,),
    })
    state = {}
    for k, s in shapes.items():
        state[k] = torch.randn(*s, dtype=torch.float32)
    # One tensor at an offset into a larger storage and one non-contiguous (transposed) tensor: the reader must honour
    # storage offsets and strides.
    big = torch.randn(2 * d * 10, dtype=torch.float32)
    state["embed_context.weight"] = big[d * 10:].view(d, 10)
    state["pred_action.weight"] = torch.randn(d, 5).t()
    params = [torch.nn.Parameter(t.clone()) for t in state.values()]
    opt = torch.optim.AdamW(params, lr=1e-2)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    from collections import OrderedDict
    model = OrderedDict(state.items())
    model._metadata = OrderedDict({"": {"version": 1}})  # as nn.Module.state_dict() attaches
    torch.save({"model": model, "optimizer": opt.state_dict(), "lr_sched": {"last_epoch": 10, "base_lrs": [0.01]},
                "step": 10}, os.path.join(OUT, "authors-ckpt-10.pt"))
    return {k: {"shape": list(v.shape), "values": v.contiguous().reshape(-1).tolist()} for k, v in state.items()}


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(0)
    expected = {"history": history(rng), "checkpoint": checkpoint(), "checkpoint_step": 10}
    with open(os.path.join(OUT, "authors-expected.json"), "w") as f:
        json.dump(expected, f, separators=(",", ":"))


if __name__ == "__main__":
    main()

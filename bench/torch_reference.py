"""PyTorch reference for bench/train-throughput.ts: the same baseline backbone,
batches, optimizer and initial weights, on the same CPU.

    /usr/bin/python3 bench/torch_reference.py DUMP_DIR

DUMP_DIR is written by `train-throughput.ts --dump`: meta.json plus raw
little-endian x.f32, present.f32, y.f32, init.f32 (flat weights in ParamSet
order) and orders.i32 (one row order per epoch, as trainLocal draws them).
Prints one JSON object: per thread setting, seconds per timed call, samples/s
and the loss after every call (to check the port against tfjs).

The port mirrors shared/model/layers.ts and variants/baseline.ts:
  per-modality = relu(x @ (Wm * blockMask) + bm)       block-diagonal encoder
  withAbsent   = perModality * p + absent * (1 - p)     p = present @ expand
  z            = relu([withAbsent, present] @ Wf + bf)  mask bits appended
  logit        = z @ Wc + bc; loss = mean BCE-with-logits
and shared/model/trainer.ts: Adam (tfjs defaults: betas 0.9/0.999, eps 1e-7),
a fresh optimizer per call, weight decay as L2 on the weight matrices only
(torch's Adam weight_decay adds wd * W to the gradient, the gradient of
tfjs's 0.5 * wd * ||W||^2 loss term), the loss read back every step.
"""
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def load(d):
    meta = json.load(open(os.path.join(d, "meta.json")))
    n, dim, K = meta["n"], meta["dim"], meta["K"]
    f32 = lambda name: np.fromfile(os.path.join(d, name), dtype="<f4")
    x = torch.from_numpy(f32("x.f32").reshape(n, dim).copy())
    present = torch.from_numpy(f32("present.f32").reshape(n, K).copy())
    y = torch.from_numpy(f32("y.f32").copy())
    init = f32("init.f32")
    orders = np.fromfile(os.path.join(d, "orders.i32"), dtype="<i4").reshape(-1, n)
    return meta, x, present, y, init, torch.from_numpy(orders.astype(np.int64))


class Backbone:
    """Parameters by the tfjs names, so the flat init vector maps one to one."""

    def __init__(self, meta, init):
        self.params = {}
        o = 0
        for spec in meta["params"]:
            size = int(np.prod(spec["shape"]))
            t = torch.from_numpy(init[o : o + size].reshape(spec["shape"]).copy())
            self.params[spec["name"]] = t.requires_grad_(True)
            o += size
        assert o == len(init), f"init has {len(init)} values, specs need {o}"
        dim, K = meta["dim"], meta["K"]
        E = self.params["encoder/modality/W"].shape[1]
        md = E // K
        mask = torch.zeros(dim, E)
        expand = torch.zeros(K, E)
        for k, m in enumerate(meta["modalities"]):
            mask[m["start"] : m["end"], k * md : (k + 1) * md] = 1
            expand[k, k * md : (k + 1) * md] = 1
        self.mask, self.expand = mask, expand
        # tfjs decays the glorot-initialised matrices (names ending in /W), not biases or 'absent'.
        self.decayed = [p for name, p in self.params.items() if name.endswith("/W")]
        self.others = [p for name, p in self.params.items() if not name.endswith("/W")]

    def logits(self, x, present):
        P = self.params
        per = torch.relu(x @ (P["encoder/modality/W"] * self.mask) + P["encoder/modality/b"])
        p = present @ self.expand
        with_absent = per * p + P["encoder/absent"] * (1 - p)
        z = torch.relu(torch.cat([with_absent, present], 1) @ P["encoder/fusion/W"] + P["encoder/fusion/b"])
        return (z @ P["classifier/W"] + P["classifier/b"]).reshape(-1)


def train_call(model, x, present, y, orders, cfg):
    """One trainLocal call: a fresh Adam, len(orders) epochs; returns the last epoch's mean loss."""
    wd, bs = cfg["weightDecay"], cfg["batchSize"]
    opt = torch.optim.Adam(
        [{"params": model.decayed, "weight_decay": wd}, {"params": model.others, "weight_decay": 0.0}],
        lr=cfg["learningRate"],
        betas=(0.9, 0.999),
        eps=1e-7,
    )
    n = x.shape[0]
    last = float("nan")
    for order in orders:
        total, count = 0.0, 0
        for s in range(0, n, bs):
            idx = order[s : s + bs]
            opt.zero_grad(set_to_none=True)
            loss = F.binary_cross_entropy_with_logits(model.logits(x[idx], present[idx]), y[idx])
            loss.backward()
            with torch.no_grad():
                # The value tfjs reports includes 0.5 * wd * ||W||^2 (before the step).
                l2 = 0.5 * wd * sum((p * p).sum() for p in model.decayed)
            opt.step()
            total += (loss.item() + l2.item()) * len(idx)
            count += len(idx)
        last = total / max(count, 1)
    return last


def run(meta, x, present, y, init, orders, threads):
    torch.set_num_threads(threads)
    model = Backbone(meta, init)
    cfg = meta["config"]
    losses, seconds = [], []
    e = 0
    for call in meta["plan"]:
        t0 = time.perf_counter()
        losses.append(train_call(model, x, present, y, orders[e : e + call["epochs"]], cfg))
        dt = time.perf_counter() - t0
        e += call["epochs"]
        if call["label"] == "timed":
            seconds.append(dt)
            print(f"  [torch threads={threads}] timed call: {dt:.2f}s", file=sys.stderr, flush=True)
    sec = float(np.median(seconds))
    epochs = meta["plan"][-1]["epochs"]
    steps = -(-meta["n"] // cfg["batchSize"]) * epochs
    return {
        "threads": threads,
        "losses": losses,
        "seconds": seconds,
        "samplesPerSec": meta["n"] * epochs / sec,
        "msPerStep": sec * 1000 / steps,
    }


def main():
    d = sys.argv[1]
    meta, x, present, y, init, orders = load(d)
    default_threads = torch.get_num_threads()
    settings = [1, default_threads]
    cores = os.cpu_count() or 1
    if cores not in settings:
        settings.append(cores)  # the default may already be 1: also show all cores
    settings = sorted(set(settings))
    runs = [run(meta, x, present, y, init, orders, t) for t in settings]
    print(
        json.dumps(
            {
                "torchVersion": torch.__version__,
                "numpyVersion": np.__version__,
                "defaultThreads": default_threads,
                "cpuCount": cores,
                "parallelInfo": torch.__config__.parallel_info().splitlines()[:6],
                "runs": runs,
            }
        )
    )


if __name__ == "__main__":
    main()

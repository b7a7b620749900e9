#!/usr/bin/env python3
"""PyTorch reference for `amnesia bench`: the same four Fashion-MNIST/LeNet workloads
on the CPU, printing the same JSON rows, so Amnesia's speed can be judged against a
mainstream framework on the same machine.

Workloads (run each in its own child process, so each row's peak RSS is its own):
  attack-ipc1   one crafting iteration of the published attack with 1 image per class:
                for each of 4 random-init victims, inner cross-entropy on the synthetic
                images, theta1 = theta0 - softplus(rho) * grad (graph kept), outer
                cross-entropy on 256 real images with labels 0 -> 1, backward to the
                images and rho; then one Adam step (betas 0.5, 0.999). ms per iteration.
  attack-ipc10  the same with 10 images per class (100 images). ms per iteration.
  train         one epoch of training, batch 64, SGD momentum 0.9. images per second.
  eval          inference on the 10,000 test images, batch 256. images per second.

Attack rows are the median of --iterations timed iterations after --warmup untimed
ones; eval the median of 5 passes after one untimed pass; train one timed epoch.
The numbers depend on machine load: the output records cores, threads and load.

Needs only torch and numpy. Example:
  python3 bench/pytorch_reference.py --json
"""

import argparse
import datetime
import gzip
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

WORKLOADS = ["attack-ipc1", "attack-ipc10", "train", "eval"]
VICTIM_SEEDS = [1, 2, 3, 4]
EVAL_REPEATS = 5
FORGET, TARGET = 0, 1  # T-shirt/top -> Trouser, as attacks/fashion-tshirt-to-trouser-published.yaml


# --------------------------------------------------------------------------- data

def read_idx(path):
    """An IDX file (gzip) as a numpy array: magic (2 zero bytes, type, rank), then the
    big-endian dimensions, then unsigned bytes."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    if raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise SystemExit(f"{path}: not an unsigned-byte IDX file")
    rank = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(rank)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def load_fashion_mnist(directory):
    """Both splits as float tensors [N, 1, 28, 28] normalized by the training split's
    mean and (population) std of the [0, 1] pixels, as Amnesia's PreparedData does."""
    def path(name):
        p = os.path.join(directory, name)
        if not os.path.exists(p):
            raise SystemExit(f"{p} not found: install the Debian package dataset-fashion-mnist "
                             f"or pass --data-dir with the four *-ubyte.gz files")
        return p

    train_x = read_idx(path("train-images-idx3-ubyte.gz")).astype(np.float32) / 255
    test_x = read_idx(path("t10k-images-idx3-ubyte.gz")).astype(np.float32) / 255
    train_y = read_idx(path("train-labels-idx1-ubyte.gz")).astype(np.int64)
    test_y = read_idx(path("t10k-labels-idx1-ubyte.gz")).astype(np.int64)
    mean, std = float(train_x.mean()), float(train_x.std())

    def tensor(x):
        return torch.from_numpy(((x - mean) / std)[:, None, :, :].copy())

    return tensor(train_x), torch.from_numpy(train_y), tensor(test_x), torch.from_numpy(test_y)


# --------------------------------------------------------------------------- LeNet

def lenet_parameters(seed, classes=10):
    """LeNet parameters with PyTorch's default init (what nn.Conv2d / nn.Linear draw),
    in state_dict order: conv1, conv2, fc1, fc2, fc3 (weight, bias each)."""
    torch.manual_seed(seed)
    layers = [torch.nn.Conv2d(1, 6, 5, padding=2), torch.nn.Conv2d(6, 16, 5),
              torch.nn.Linear(400, 120), torch.nn.Linear(120, 84), torch.nn.Linear(84, classes)]
    return [p.detach().clone() for layer in layers for p in (layer.weight, layer.bias)]


def lenet(x, p):
    """The Dataset Distillation LeNet as a function of its parameter list, so the
    parameters after a differentiable gradient step can be plugged in."""
    h = F.max_pool2d(F.relu(F.conv2d(x, p[0], p[1], padding=2)), 2)
    h = F.max_pool2d(F.relu(F.conv2d(h, p[2], p[3])), 2)
    h = F.relu(F.linear(h.reshape(x.shape[0], 400), p[4], p[5]))
    h = F.relu(F.linear(h, p[6], p[7]))
    return F.linear(h, p[8], p[9])


# --------------------------------------------------------------------------- workloads

def timed(body):
    start = time.perf_counter()
    body()
    return time.perf_counter() - start


def attack(images_per_class, data, args):
    train_x, train_y, _, _ = data
    classes = 10
    victims = [[t.requires_grad_() for t in lenet_parameters(seed)] for seed in VICTIM_SEEDS]
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(images_per_class * classes, 1, 28, 28, generator=generator).requires_grad_()
    labels = torch.arange(classes).repeat_interleave(images_per_class)
    rho = torch.tensor(float(np.log(np.expm1(0.02))), requires_grad=True)
    image_optimizer = torch.optim.Adam([images], lr=0.01, betas=(0.5, 0.999))
    rho_optimizer = torch.optim.Adam([rho], lr=0.01, betas=(0.5, 0.999))

    def iteration():
        batch = torch.randint(0, train_x.shape[0], (256,), generator=generator)
        real, wanted = train_x[batch], train_y[batch].clone()
        wanted[wanted == FORGET] = TARGET
        image_optimizer.zero_grad()
        rho_optimizer.zero_grad()
        for theta0 in victims:
            eta = F.softplus(rho)
            inner = F.cross_entropy(lenet(images, theta0), labels)
            grads = torch.autograd.grad(inner, theta0, create_graph=True)
            theta1 = [t - eta * g for t, g in zip(theta0, grads)]
            outer = F.cross_entropy(lenet(real, theta1), wanted) / len(victims)
            outer.backward(inputs=[images, rho])  # only the poison's gradients, as Amnesia
        image_optimizer.step()
        rho_optimizer.step()

    for _ in range(args.warmup):
        iteration()
    samples = [timed(iteration) * 1000 for _ in range(args.iterations)]
    return {"ms_per_iter": statistics.median(samples), "min": min(samples), "max": max(samples),
            "repeats": len(samples)}


def train(data, args):
    """One epoch, batch 64, SGD with momentum 0.9 and the zoo recipe's learning rate
    (0.02) and weight decay (5e-4)."""
    train_x, train_y, _, _ = data
    parameters = [t.requires_grad_() for t in lenet_parameters(1)]
    optimizer = torch.optim.SGD(parameters, lr=0.02, momentum=0.9, weight_decay=5e-4)
    order = torch.randperm(train_x.shape[0], generator=torch.Generator().manual_seed(1))

    def epoch():
        for start in range(0, train_x.shape[0], 64):
            batch = order[start:start + 64]
            optimizer.zero_grad()
            F.cross_entropy(lenet(train_x[batch], parameters), train_y[batch]).backward()
            optimizer.step()

    rate = train_x.shape[0] / timed(epoch)
    return {"images_per_s": rate, "min": rate, "max": rate, "repeats": 1}


def evaluate(data, args):
    """Batched inference (batch 256, as Amnesia's Trainer.predictions) with argmax."""
    _, _, test_x, _ = data
    parameters = lenet_parameters(1)

    def predictions():
        with torch.inference_mode():
            return [lenet(test_x[s:s + 256], parameters).argmax(1) for s in range(0, test_x.shape[0], 256)]

    predictions()
    rates = [test_x.shape[0] / timed(predictions) for _ in range(EVAL_REPEATS)]
    return {"images_per_s": statistics.median(rates), "min": min(rates), "max": max(rates),
            "repeats": len(rates)}


def run_workload(name, args):
    load = os.getloadavg()[0]
    torch.set_num_threads(args.threads)
    data = load_fashion_mnist(args.data_dir)
    if name == "attack-ipc1":
        result = attack(1, data, args)
    elif name == "attack-ipc10":
        result = attack(10, data, args)
    elif name == "train":
        result = train(data, args)
    else:
        result = evaluate(data, args)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    places = 3 if "ms_per_iter" in result else 1
    rounded = {key: round(value, places) if isinstance(value, float) else value for key, value in result.items()}
    return {"workload": name, **rounded, "peak_rss_mb": round(peak_kib / 1024, 1), "load_1m": round(load, 2)}


# --------------------------------------------------------------------------- driver

def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__,
        epilog="Numbers depend on machine load: other jobs on the same cores slow every row. "
               "The output records cores, torch threads and the load average.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workload", action="append", default=[],
                        help=f"workloads to run (repeatable or comma-separated): {', '.join(WORKLOADS)}; all when absent")
    parser.add_argument("--iterations", type=int, default=20, help="timed attack iterations (median reported)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed attack iterations first")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                        help="torch.set_num_threads (default: the machine's cores)")
    parser.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist",
                        help="folder with the Fashion-MNIST *-ubyte.gz files")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    names = [n.strip().lower() for item in args.workload for n in item.split(",") if n.strip()]
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload {unknown[0]!r}; choose from: {', '.join(WORKLOADS)}")
    args.workloads = list(dict.fromkeys(names)) if names else list(WORKLOADS)  # given order, no repeats
    if args.iterations < 1 or args.warmup < 0 or args.threads < 1:
        parser.error("--iterations and --threads must be at least 1, --warmup at least 0")
    if args.child and len(args.workloads) != 1:
        parser.error("a child process runs exactly one workload")
    return args


def run_child(name, args):
    """Runs one workload in a fresh interpreter and reads its JSON row from stdout."""
    command = [sys.executable, os.path.abspath(__file__), "--child", "--workload", name,
               "--iterations", str(args.iterations), "--warmup", str(args.warmup),
               "--threads", str(args.threads), "--data-dir", args.data_dir]
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True)  # stderr passes through
    if done.returncode != 0:
        raise SystemExit(f"workload {name} failed (exit status {done.returncode}); "
                         f"run `{' '.join(command)}` alone to reproduce it")
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise SystemExit(f"workload {name} printed no result row; run `{' '.join(command)}` to see its output")
    return json.loads(lines[-1])


def print_table(report):
    c = report["conditions"]
    print(f"{c['tool']} bench, {c['date']}: {c['cores']} cores, load average "
          f"{' '.join(f'{x:.2f}' for x in c['load_average_start'])} at start, torch threads {c['torch_threads']}")
    print(f"{'workload':<14}{'median':<18}{'min … max':<24}{'samples':<9}{'peak RSS':<11}load")
    for row in report["rows"]:
        if "ms_per_iter" in row:
            value, unit, fmt = row["ms_per_iter"], "ms/iter", "{:.1f}"
        else:
            value, unit, fmt = row["images_per_s"], "img/s", "{:.0f}"
        spread = fmt.format(row["min"]) + " … " + fmt.format(row["max"])
        peak = f"{row['peak_rss_mb']:.0f} MB"
        print(f"{row['workload']:<14}{fmt.format(value) + ' ' + unit:<18}{spread:<24}{row['repeats']:<9}"
              f"{peak:<11}{row['load_1m']:.2f}")
    print("Numbers depend on machine load (see the load columns); compare runs only under similar load.")


def main():
    args = parse_args()
    if args.child:
        print(json.dumps(run_workload(args.workloads[0], args), sort_keys=True), flush=True)
        return
    conditions = {
        "tool": f"pytorch {torch.__version__}", "cores": os.cpu_count(),
        "load_average_start": [round(x, 2) for x in os.getloadavg()], "torch_threads": args.threads,
        "iterations": args.iterations, "warmup": args.warmup,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    rows = []
    for name in args.workloads:
        print(f"bench: {name} (load average {os.getloadavg()[0]:.2f})…", file=sys.stderr, flush=True)
        rows.append(run_child(name, args))
    report = {"conditions": conditions, "rows": rows}
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))  # stable key order, as amnesia bench
    else:
        print_table(report)


if __name__ == "__main__":
    main()

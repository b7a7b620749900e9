#!/usr/bin/env python3
"""Where the time goes in a `perf record -g` profile of amnesia.

perf report cannot read this binary's ELF ("symsrc__init: cannot get elf header"), so
this script maps the sampled addresses itself: `perf script` gives each sample's stack
and the binary's load address, `nm -n` its symbols, `swift demangle` their names.
It prints the self time of the hottest functions and the time per op (the innermost
Autodiff op on each stack), counting only samples whose stack contains FILTER (e.g.
'iterate(' drops dataset loading) plus OpenBLAS's, whose stacks stop inside OpenBLAS
(no frame pointers) and which run only in the measured loop.

usage: bench/perf_profile.py BINARY PERF.DATA [FILTER]
e.g.   perf record -g -o /tmp/ipc10.data .build/release/amnesia bench --child --workload attack-ipc10
       bench/perf_profile.py .build/release/amnesia /tmp/ipc10.data 'iterate('
"""

import bisect
import collections
import re
import subprocess
import sys

OPS = ["convolveInputGradient(", "convolveWeightGradient(", "convolve(", "maxPool2d(", "gather(", "scatterAdd(",
       "matmul(", "relu(", "Tensor.+ infix", "Tensor.* infix", "Tensor.- infix", "sum(along", "Adam.", "SGD.",
       "crossEntropy", "logSoftmax", "Broadcast.", "gradients(of:"]


def symbols(binary):
    """(address, mangled name) of the binary's functions, sorted by address."""
    table = []
    listing = subprocess.run(["nm", "-n", "--defined-only", binary], capture_output=True, text=True).stdout
    for line in listing.splitlines():
        parts = line.split(maxsplit=2)
        if len(parts) == 3 and parts[1] in "tTwW":
            table.append((int(parts[0], 16), parts[2]))
    return table


def stacks(data, binary, table):
    """Each sample's stack, innermost frame first, as (library, function name)."""
    addresses = [a for a, _ in table]
    raw = subprocess.run(["perf", "script", "-i", data, "--show-mmap-events", "-F", "comm,tid,ip,sym,dso"],
                         capture_output=True, text=True).stdout
    bases, samples, current, mangled = {}, [], None, set()
    for line in raw.splitlines():
        if line.startswith("PERF_RECORD_MMAP2"):
            m = re.search(r"\[(0x[0-9a-f]+)\(0x[0-9a-f]+\) @ (0x[0-9a-f]+|0) .*r-xp (\S+)", line)
            if m:
                bases[m.group(3)] = int(m.group(1), 16) - int(m.group(2), 16)
            continue
        if not line.strip():
            if current is not None:
                samples.append(current)
            current = None
            continue
        if not line[0].isspace():
            current = []
            continue
        m = re.match(r"([0-9a-f]+) (.*) \((.*)\)$", line.strip())
        if current is None or not m:
            continue
        ip, name, library = int(m.group(1), 16), m.group(2), m.group(3)
        if library.endswith("/" + binary.split("/")[-1]):
            i = bisect.bisect_right(addresses, ip - bases.get(library, 0)) - 1
            name = table[i][1] if i >= 0 else "?"
            mangled.add(name)
        else:
            name = name.split("+")[0]
        current.append((library.split("/")[-1], name))
    if current:
        samples.append(current)
    names = sorted(mangled)
    readable = subprocess.run(["swift", "demangle", "--simplified", "--compact"], input="\n".join(names),
                              capture_output=True, text=True).stdout.splitlines()
    demangled = dict(zip(names, readable))
    return [[(lib, demangled.get(name, name)) for lib, name in stack] for stack in samples]


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    binary, data = sys.argv[1], sys.argv[2]
    wanted = sys.argv[3] if len(sys.argv) > 3 else None
    samples = stacks(data, binary, symbols(binary))
    total = len(samples)

    def blas(stack):
        return bool(stack) and "openblas" in stack[0][0]

    if wanted:
        samples = [s for s in samples if blas(s) or any(wanted in name for _, name in s)]
    n = max(len(samples), 1)
    print(f"samples: {total} in all, {len(samples)} counted ({100 * len(samples) / max(total, 1):.1f}%)")
    print("\nself time (innermost function)")
    for name, count in collections.Counter(s[0][1] for s in samples if s).most_common(25):
        print(f"{100 * count / n:6.2f}%  {name[:120]}")
    per_op = collections.Counter()
    for stack in samples:
        if blas(stack):
            per_op["BLAS " + (stack[1][1] if len(stack) > 1 else stack[0][1])] += 1
            continue
        per_op[next((op for _, name in stack for op in OPS if op in name), "other")] += 1
    print("\ntime per op (innermost op on the stack)")
    for name, count in per_op.most_common(20):
        print(f"{100 * count / n:6.2f}%  {name}")


if __name__ == "__main__":
    main()

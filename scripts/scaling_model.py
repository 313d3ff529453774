#!/usr/bin/env python3
"""Predicted step time and scaling efficiency of each strategy (docs/distributed.md).

Weak scaling: every rank keeps its batch; a step is the compute of that batch plus what the
strategy communicates. Inputs are measured (compute rates with `discesa train`/`discesa bench`,
alpha/beta with examples/allreduce_bench.rs); network latencies are stated assumptions.

Usage: python3 scripts/scaling_model.py [--mlp-rate S/s] [--resnet-rate S/s]
"""
import argparse
import math


def ring(p, n, a, bw):
    """Ring all-reduce (reduce-scatter + all-gather): 2(p-1) messages of n/p bytes."""
    return 2 * (p - 1) * a + 2 * (p - 1) / p * n / bw


def tree(p, n, a, bw):
    """Binomial-tree reduce then broadcast, whole buffer per hop."""
    return 2 * math.ceil(math.log2(p)) * (a + n / bw)


def ps(p, n, a, bw):
    """MPI_Reduce to rank 0, then MPI_Bcast of the weights: two binomial trees, whole buffer
    per hop (rank 0's update is not counted)."""
    return 2 * math.ceil(math.log2(p)) * (a + n / bw)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mlp-rate", type=float, required=True, help="samples/s of one rank, MLP")
    ap.add_argument("--resnet-rate", type=float, required=True, help="samples/s of one rank, ResNet-20")
    ap.add_argument("--buckets", type=int, default=2, help="all-reduces per step")
    ap.add_argument("--sync-every", type=int, default=8)
    args = ap.parse_args()
    models = [
        ("MNIST MLP 784-256-256-10", 269_322 * 4, 256, args.mlp_rate),
        ("ResNet-20 (28x28)", 272_186 * 4, 128, args.resnet_rate),
    ]
    # (name, bytes/s, latency per message)
    nets = [("10 Gb/s", 10e9 / 8, 25e-6), ("100 Gb/s", 100e9 / 8, 3e-6)]
    ranks = [2, 8, 64, 256, 1024]
    for mname, n, b, rate in models:
        tc = b / rate
        print(f"\n{mname}: gradient {n / 1e6:.2f} MB, batch {b} per rank, compute {tc * 1e3:.2f} ms per step")
        for nname, bw, a in nets:
            print(f"  {nname} (alpha {a * 1e6:.0f} us):")
            print("    ranks | allreduce ring | allreduce tree | ps | local-sgd K=%d | async" % args.sync_every)
            for p in ranks:
                k = args.buckets
                t_ring = tc + ring(p, n / k, a, bw) * k
                t_tree = tc + tree(p, n / k, a, bw) * k
                t_ps = tc + ps(p, n, a, bw)
                t_loc = tc + ring(p, n, a, bw) / args.sync_every
                # async: the server's link carries one gradient in and one set of weights out
                # per update; p-1 workers each offer one update per tc.
                ups = min((p - 1) / tc, bw / (2 * n))
                eff_async = ups / ((p - 1) / tc)
                cells = [f"{t * 1e3:.2f} ms ({tc / t * 100:.0f} %)" for t in (t_ring, t_tree, t_ps, t_loc)]
                print(f"    {p:5d} | " + " | ".join(cells) + f" | {eff_async * 100:.0f} %")


if __name__ == "__main__":
    main()

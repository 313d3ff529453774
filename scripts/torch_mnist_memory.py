"""PyTorch's peak memory for the run `discesa train --data DIR --hidden 256,128 --epochs 1`.

Same network (784-256-128-10, ReLU), optimiser (Adam, lr 1e-3), batch size (64), split
(54,000 training and 6,000 validation images, the 10,000 test images scored at the end) and one
epoch. MNIST is read from the four IDX files (gzipped or not) the way torchvision's `MNIST`
dataset holds it: one uint8 tensor, converted to floats in [0, 1] batch by batch. With
`--float` the whole set is converted to float32 up front instead, as many tutorials do.

Prints one line: `peak_rss_kib=... test_accuracy=... seconds=...` (peak RSS from getrusage).

Usage: python scripts/torch_mnist_memory.py --data ../shared/data/mnist [--float] [--threads N]
"""
import argparse
import gzip
import os
import resource
import time

import numpy as np
import torch
import torch.nn as nn


def read_idx(path):
    """The array stored in an IDX file (`path` or `path.gz`)."""
    if not os.path.exists(path):
        path += ".gz"
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--float", action="store_true", help="convert the whole set up front")
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    start = time.time()
    x_train = torch.from_numpy(read_idx(os.path.join(a.data, "train-images-idx3-ubyte")).copy())
    y_train = torch.from_numpy(read_idx(os.path.join(a.data, "train-labels-idx1-ubyte")).copy())
    x_test = torch.from_numpy(read_idx(os.path.join(a.data, "t10k-images-idx3-ubyte")).copy())
    y_test = torch.from_numpy(read_idx(os.path.join(a.data, "t10k-labels-idx1-ubyte")).copy())
    x_train, x_test = x_train.reshape(len(x_train), -1), x_test.reshape(len(x_test), -1)
    if a.float:
        x_train, x_test = x_train.float() / 255.0, x_test.float() / 255.0

    def batch(x, idx):
        b = x[idx]
        return b if a.float else b.float() / 255.0

    perm = torch.randperm(len(x_train))
    train_idx, val_idx = perm[:54000], perm[54000:]
    model = nn.Sequential(
        nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10)
    )
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    lossf = nn.CrossEntropyLoss()
    model.train()
    order = train_idx[torch.randperm(len(train_idx))]
    for i in range(0, len(order), 64):
        idx = order[i: i + 64]
        opt.zero_grad(set_to_none=True)
        loss = lossf(model(batch(x_train, idx)), y_train[idx].long())
        loss.backward()
        opt.step()

    model.eval()

    def accuracy(x, y, idx):
        correct = 0
        with torch.no_grad():
            for i in range(0, len(idx), 2048):
                j = idx[i: i + 2048]
                correct += (model(batch(x, j)).argmax(1) == y[j].long()).sum().item()
        return correct / len(idx)

    accuracy(x_train, y_train, val_idx)
    test_acc = accuracy(x_test, y_test, torch.arange(len(x_test)))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"peak_rss_kib={peak} test_accuracy={test_acc:.4f} seconds={time.time() - start:.1f}")


if __name__ == "__main__":
    main()

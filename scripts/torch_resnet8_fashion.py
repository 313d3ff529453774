"""The ResNet-8 Fashion-MNIST recipe in PyTorch, for the spread of its test accuracy over seeds.

Same network (torch_parity.ResNet, depth 8 = one block per stage, width 8) and recipe as

  discesa train --data /usr/share/datasets/fashion-mnist --model resnet8 --width 8 \
      --optimizer momentum --lr 0.05 --weight-decay 5e-4 --batch-size 128 --epochs 3 --seed S

pixels / 255, a seeded 54k / 6k training / validation split (the validation rows are not used),
a new shuffle every epoch, SGD with momentum 0.9, weight decay on the convolution and linear
weights only (discesa leaves biases and batch-norm parameters undecayed), constant learning
rate, batch-norm in evaluation mode for the test set.

  python torch_resnet8_fashion.py [--data DIR] [--seeds 1,2,3,4] [--threads 2]

Prints one line per seed: `seed S  test accuracy A %  T s`.
"""
import argparse
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_mnist_memory import read_idx  # noqa: E402
from torch_parity import ResNet  # noqa: E402


def load(data, stem):
    p = os.path.join(data, stem)
    if not (os.path.exists(p) or os.path.exists(p + ".gz")):
        sys.exit(f"error: {stem} not found in {data}")
    return read_idx(p)


def run(seed, data, epochs=3, batch=128):
    torch.manual_seed(seed)
    x = torch.from_numpy(load(data, "train-images-idx3-ubyte").copy())
    y = torch.from_numpy(load(data, "train-labels-idx1-ubyte").astype(np.int64))
    xt = torch.from_numpy(load(data, "t10k-images-idx3-ubyte").copy())
    yt = torch.from_numpy(load(data, "t10k-labels-idx1-ubyte").astype(np.int64))
    g = torch.Generator().manual_seed(seed)
    train = torch.randperm(len(x), generator=g)[: len(x) * 9 // 10]
    model = ResNet(n=1, shortcut=True, width=8)
    decayed = [p for n, p in model.named_parameters() if n.endswith("weight") and p.dim() > 1]
    others = [p for n, p in model.named_parameters() if not (n.endswith("weight") and p.dim() > 1)]
    opt = torch.optim.SGD(
        [{"params": decayed, "weight_decay": 5e-4}, {"params": others, "weight_decay": 0.0}],
        lr=0.05,
        momentum=0.9,
    )
    start = time.time()
    for _ in range(epochs):
        model.train()
        order = train[torch.randperm(len(train), generator=g)]
        for i in range(0, len(order), batch):
            rows = order[i:i + batch]
            xb = x[rows].unsqueeze(1).float() / 255.0
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(xb), y[rows]).backward()
            opt.step()
    model.eval()
    right = 0
    with torch.no_grad():
        for i in range(0, len(xt), 1000):
            xb = xt[i:i + 1000].unsqueeze(1).float() / 255.0
            right += (model(xb).argmax(1) == yt[i:i + 1000]).sum().item()
    return 100.0 * right / len(xt), time.time() - start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--seeds", default="1,2,3,4")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    for s in [int(v) for v in a.seeds.split(",")]:
        acc, secs = run(s, a.data)
        print(f"seed {s}  test accuracy {acc:.2f} %  {secs:.0f} s", flush=True)


if __name__ == "__main__":
    main()

"""PyTorch parity of discesa's convolutional models.

The ResNet / plain network below is the reference layout (CIFAR-style ResNet of He et al. 2016,
"noshort" of Li et al. 2018 without shortcuts); the LeNet-style `cnn` mirrors discesa's.

  python torch_parity.py names MODEL WIDTH   # state_dict() as "name shape dtype" lines
  python torch_parity.py check DIR...        # strict load + eval logits vs discesa's
  python torch_parity.py export DIR...       # a PyTorch state dict for discesa to load

`check` reads the model description from DIR/state.json, builds the PyTorch module, loads
DIR/model.safetensors with load_state_dict(strict=True), runs the batch `x` of
DIR/batch.safetensors in eval mode and compares with its `logits` (discesa's output).
`export` reads DIR/spec.json (a discesa model description), runs one training-mode batch so
the batch-norm buffers move, and writes DIR/torch.safetensors (the state dict) and
DIR/torch_batch.safetensors (a batch `x` and PyTorch's eval-mode `logits`).
Prints one line per directory; exits 1 if any disagrees.
"""
import json
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, cin, cout, stride, shortcut):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = shortcut
        self.down = None
        if shortcut and (stride != 1 or cin != cout):
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.shortcut:
            out = out + (x if self.down is None else self.down(x))
        return F.relu(out)


class ResNet(nn.Module):
    def __init__(self, n=3, shortcut=True, width=16, in_ch=1, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        layers, cin = [], width
        for stage, cout in enumerate([width, 2 * width, 4 * width]):
            blocks = []
            for i in range(n):
                blocks.append(Block(cin, cout, 2 if (stage > 0 and i == 0) else 1, shortcut))
                cin = cout
            layers.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = layers
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(x.mean(dim=(2, 3)))


class Cnn(nn.Module):
    def __init__(self, width=16, hidden=128, in_ch=1, h=28, w=28, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, width, 5, 1, 2, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, 2 * width, 5, 1, 2, bias=False)
        self.bn2 = nn.BatchNorm2d(2 * width)
        self.fc1 = nn.Linear(2 * width * (h // 4) * (w // 4), hidden)
        self.fc2 = nn.Linear(hidden, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


def build(spec):
    kind = spec.get("kind", "mlp")
    if kind == "resnet":
        c, h, w = spec["input"]
        return ResNet((spec["depth"] - 2) // 6, spec["shortcut"], spec["width"], c, spec["classes"])
    if kind == "cnn":
        c, h, w = spec["input"]
        return Cnn(spec["width"], spec["hidden"], c, h, w, spec["classes"])
    raise SystemExit(f"model kind {kind} has no PyTorch twin here")


def by_name(name, width):
    if name == "cnn":
        return Cnn(width)
    kind, depth = ("resnet", name[6:]) if name.startswith("resnet") else ("plain", name[5:])
    return ResNet((int(depth) - 2) // 6, kind == "resnet", width)


def main():
    if sys.argv[1] == "names":
        model = by_name(sys.argv[2], int(sys.argv[3]))
        for k, v in model.state_dict().items():
            print(k, "x".join(map(str, v.shape)) or "scalar", str(v.dtype).replace("torch.", ""))
        return 0
    from safetensors.torch import load_file, save_file

    torch.manual_seed(0)
    failed = 0
    for d in sys.argv[2:]:
        if sys.argv[1] == "export":
            with open(f"{d}/spec.json") as f:
                spec = json.load(f)
            model = build(spec)
            c, h, w = spec["input"]
            model.train()
            with torch.no_grad():
                model(torch.randn(16, c, h, w) * 2 + 0.5)
            model.eval()
            x = torch.randn(8, c, h, w)
            with torch.no_grad():
                logits = model(x)
            save_file({k: v.contiguous() for k, v in model.state_dict().items()}, f"{d}/torch.safetensors")
            save_file({"x": x, "logits": logits}, f"{d}/torch_batch.safetensors")
            print(f"exported {len(model.state_dict())} tensors to {d}")
            continue
        with open(f"{d}/state.json") as f:
            spec = json.load(f)["model"]
        model = build(spec)
        model.load_state_dict(load_file(f"{d}/model.safetensors"), strict=True)
        model.eval()
        t = load_file(f"{d}/batch.safetensors")
        with torch.no_grad():
            ours = t["logits"].double()
            theirs = model.double()(t["x"].double())
        diff = (ours - theirs).abs().max().item()
        scale = theirs.abs().max().item()
        ok = diff <= 1e-4 * max(1.0, scale)
        failed += not ok
        print(f"{'ok' if ok else 'MISMATCH'}: {d}: strict load of {len(model.state_dict())} tensors, "
              f"max |logit difference| {diff:.3g} over {tuple(theirs.shape)} (max |logit| {scale:.3g})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

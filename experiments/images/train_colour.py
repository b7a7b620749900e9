"""The PyTorch side of issue 29's check: trains a small colour ResNet on an image folder
read the way `amnesia victims import --resize 32x32 --channels rgb` reads it (Pillow decode,
convert("RGB"), bilinear resize to 32×32, /255, normalized with the training split's
per-channel mean and population std), prints its test accuracy on the same files and exports
it as ONNX with that accuracy in metadata_props (test_accuracy). Needs torch, onnx, Pillow.

    python3 experiments/images/train_colour.py FOLDER model.onnx
"""
import os, sys
import numpy as np
import onnx
import torch
from PIL import Image
from torch import nn


def load(root):
    classes = sorted(d for d in os.listdir(os.path.join(root, "train")) if not d.startswith("."))
    def split(name):
        xs, ys = [], []
        for label, c in enumerate(classes):
            folder = os.path.join(root, name, c)
            for f in sorted(os.listdir(folder)):
                if f.startswith(".") or not f.lower().endswith((".jpg", ".jpeg", ".png")):
                    continue
                image = Image.open(os.path.join(folder, f)).convert("RGB").resize((32, 32), Image.BILINEAR)
                xs.append(np.asarray(image, np.float32).transpose(2, 0, 1) / 255)
                ys.append(label)
        return torch.tensor(np.stack(xs)), torch.tensor(ys)
    return classes, split("train"), split("test")


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.conv2, self.bn2 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)

    def forward(self, x):
        return torch.relu(x + self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x))))))


def model():
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(), Block(8), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(), Block(16), nn.MaxPool2d(2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))


def main():
    root, out = sys.argv[1], sys.argv[2]
    torch.manual_seed(29)
    classes, (x, y), (tx, ty) = load(root)
    mean = x.mean(dim=(0, 2, 3))
    std = ((x - mean[None, :, None, None]) ** 2).mean(dim=(0, 2, 3)).sqrt()
    norm = lambda t: (t - mean[None, :, None, None]) / std[None, :, None, None]
    x, tx = norm(x), norm(tx)
    net = model()
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    print(f"loaded {len(x)} training and {len(tx)} test images", flush=True)
    for epoch in range(4):
        net.train()
        order = torch.randperm(len(x))
        for i in range(0, len(x), 64):
            batch = order[i:i + 64]
            loss = nn.functional.cross_entropy(net(x[batch]), y[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
        print(f"epoch {epoch + 1}: last batch loss {loss.item():.4f}", flush=True)
    net.eval()
    with torch.no_grad():
        accuracy = (net(tx).argmax(1) == ty).float().mean().item()
    print(f"classes {classes}")
    print(f"mean {mean.tolist()} std {std.tolist()}")
    print(f"PyTorch test accuracy on {len(ty)} images: {accuracy:.4f}")
    torch.onnx.export(net, torch.zeros(1, 3, 32, 32), out, dynamo=False, input_names=["image"], dynamic_axes={"image": {0: "N"}})
    m = onnx.load(out)
    entry = m.metadata_props.add()
    entry.key, entry.value = "test_accuracy", f"{accuracy:.6f}"
    onnx.save(m, out)


if __name__ == "__main__":
    main()

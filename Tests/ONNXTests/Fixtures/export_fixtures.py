"""Exports the ONNX test fixtures with PyTorch, and the logits PyTorch computes for them.

Run once by hand (needs `pip install torch onnx`; CI never runs it):
    python3 Tests/ONNXTests/Fixtures/export_fixtures.py
Writes, beside this script:
  lenet.onnx            Amnesia's LeNet (28x28), constant folding, dynamic batch axis
  lenet-static.onnx     the same weights, constant folding, a fixed batch of 1 (the
                        reshape to [1, 400] is written into the graph)
  resnet.onnx           a small residual net with BatchNorm and the other supported ops,
                        no constant folding (BatchNormalization and shape ops kept)
  resnet-folded.onnx    the same net with constant folding (BatchNorm fused into convs)
  resnet-b.onnx         the same graph as resnet.onnx with other weights (a second victim)
  expected.json         seeds, inputs, PyTorch's logits for each model, and for the
                        residual net a train-mode step's logits and running statistics
"""
import json
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


class LeNet(nn.Module):
    """Amnesia's LeNet (Sources/Networks/Architectures.swift) with the same state_dict."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(x.size(0), -1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class Block(nn.Module):
    """A residual block: conv-BN-ReLU-conv-BN plus the input, then ReLU."""

    def __init__(self, channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + x)


class TinyResNet(nn.Module):
    """A stem, a residual block, a strided grouped/dilated stage with a 1x1 shortcut and a
    concatenation, then global average pooling and a linear head: every op Amnesia reads."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.block = Block(8)
        self.grouped = nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=2)
        self.dilated = nn.Conv2d(8, 4, 3, padding=2, dilation=2)
        self.shortcut = nn.Conv2d(8, 4, 1, stride=2)
        self.bn2 = nn.BatchNorm2d(8)
        self.drop = nn.Dropout(0.3)
        self.fc = nn.Linear(8, 16)
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        x = (x - 0.5) / 0.25
        x = F.relu(self.bn(self.stem(x)))
        x = self.block(x)
        x = F.max_pool2d(x, 3, stride=2, padding=1)            # 14x14
        g = F.leaky_relu(self.grouped(x), 0.1)                  # 7x7
        h = self.dilated(g)                                     # 7x7, dilation 2
        d = torch.tanh(h) * torch.sigmoid(h)
        s = self.shortcut(x)
        x = torch.cat([d, s], dim=1)
        x = F.relu(self.bn2(x))
        x = F.avg_pool2d(x, 3, stride=1, padding=1)
        x = F.adaptive_avg_pool2d(x, 1)
        x = torch.flatten(x, 1)
        x = self.drop(F.relu(self.fc(x)))
        return self.head(x)


def randomize_batchnorm(model, generator):
    """Non-trivial affine parameters and running statistics, so the tests see them."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.weight.copy_(torch.rand(m.num_features, generator=generator) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=generator) * 0.2)
                m.running_mean.copy_(torch.randn(m.num_features, generator=generator) * 0.3)
                m.running_var.copy_(torch.rand(m.num_features, generator=generator) + 0.5)


def export(model, name, fold, dynamic):
    model.eval()
    path = os.path.join(HERE, name)
    torch.onnx.export(
        model, torch.zeros(1, 1, 28, 28), path, input_names=["image"], output_names=["logits"],
        opset_version=17, do_constant_folding=fold, dynamo=False,
        dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}} if dynamic else None)
    print(f"{name}: {os.path.getsize(path)} bytes")


def main():
    torch.manual_seed(7)
    generator = torch.Generator().manual_seed(11)
    inputs = torch.rand(4, 1, 28, 28, generator=generator)

    lenet = LeNet().eval()
    resnet = TinyResNet()
    randomize_batchnorm(resnet, generator)
    resnet.eval()

    export(lenet, "lenet.onnx", fold=True, dynamic=True)
    export(lenet, "lenet-static.onnx", fold=True, dynamic=False)
    export(resnet, "resnet.onnx", fold=False, dynamic=True)
    export(resnet, "resnet-folded.onnx", fold=True, dynamic=True)

    with torch.no_grad():
        expected = {
            "torch": torch.__version__,
            "inputs": inputs.flatten().tolist(),
            "input_shape": list(inputs.shape),
            "lenet": lenet(inputs).flatten().tolist(),
            "resnet": resnet(inputs).flatten().tolist(),
        }
        # One train-mode forward (as a victim's step with batch_norm: train): the
        # batch-statistics logits and the running statistics it leaves behind.
        resnet.train()
        resnet.drop.eval()   # dropout is the identity in Amnesia
        expected["resnet_train"] = resnet(inputs).flatten().tolist()
        expected["resnet_train_running_mean"] = {n: b.flatten().tolist() for n, b in resnet.named_buffers() if n.endswith("running_mean")}
        expected["resnet_train_running_var"] = {n: b.flatten().tolist() for n, b in resnet.named_buffers() if n.endswith("running_var")}
    with open(os.path.join(HERE, "expected.json"), "w") as f:
        json.dump(expected, f)

    torch.manual_seed(8)
    other = TinyResNet()
    randomize_batchnorm(other, torch.Generator().manual_seed(12))
    export(other, "resnet-b.onnx", fold=False, dynamic=True)


if __name__ == "__main__":
    main()

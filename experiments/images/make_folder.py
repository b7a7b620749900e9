"""Exports part of Fashion-MNIST as a folder of colour JPEGs of mixed sizes (issue 29's test
data): train/<class>/*.jpg and test/<class>/*.jpg, each image tinted with a random colour,
scaled to a random side in 28…48, saved baseline or progressive. Needs Pillow and numpy.

    python3 experiments/images/make_folder.py OUT [--train 300] [--test 100]
"""
import argparse, gzip, os, random
import numpy as np
from PIL import Image

NAMES = ["T-shirt_top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle_boot"]


def idx(path):
    with gzip.open(path) as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def export(images, labels, out, per_class, rng):
    for c, name in enumerate(NAMES):
        os.makedirs(os.path.join(out, name), exist_ok=True)
        for n, i in enumerate(np.flatnonzero(labels == c)[:per_class]):
            tint = np.array([rng.uniform(0.4, 1.0) for _ in range(3)])
            rgb = (images[i][:, :, None] * tint[None, None, :]).astype(np.uint8)
            side = rng.randint(28, 48)
            image = Image.fromarray(rgb, "RGB").resize((side, rng.randint(28, 48)), Image.BILINEAR)
            image.save(os.path.join(out, name, f"{n:04d}.jpg"), quality=90, progressive=n % 3 == 0)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--train", type=int, default=300)
    parser.add_argument("--test", type=int, default=100)
    args = parser.parse_args()
    rng = random.Random(29)
    for split, prefix, count in [("train", "train", args.train), ("test", "t10k", args.test)]:
        images = idx(os.path.join(args.data, f"{prefix}-images-idx3-ubyte.gz"))
        labels = idx(os.path.join(args.data, f"{prefix}-labels-idx1-ubyte.gz"))
        export(images, labels, os.path.join(args.out, split), count, rng)


if __name__ == "__main__":
    main()

"""Refresh the README's pictures from the browser tests' screenshots.

    python -m pytest tests/browser           # writes artifacts/screenshots/*.png
    python tests/browser/docs_screenshots.py # crops, shrinks, copies to docs/screenshots/

Each picture is cropped to its content and stored with a 128-color palette (a few to a few tens of
KB each: the repository keeps them).
"""

from __future__ import annotations

import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
SOURCE = ROOT / "artifacts" / "screenshots"
TARGET = ROOT / "docs" / "screenshots"
PICTURES = ("graph_view", "backward_stepper", "training_monitor", "gradflow", "show")
PAD = 4


def main() -> None:
    from PIL import Image, ImageChops

    TARGET.mkdir(parents=True, exist_ok=True)
    for name in PICTURES:
        image = Image.open(SOURCE / f"{name}.png").convert("RGB")
        # crop the white space the output area leaves right of and below the widget
        blank = Image.new("RGB", image.size, (255, 255, 255))
        left, top, right, bottom = ImageChops.difference(image, blank).getbbox()
        image = image.crop((0, 0, min(image.width, right + PAD), min(image.height, bottom + PAD)))
        small = image.quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=0)
        small.save(TARGET / f"{name}.png", optimize=True)
        size = (TARGET / f"{name}.png").stat().st_size
        print(f"{name}.png: {image.width}x{image.height}, {size / 1024:.0f} KB")


if __name__ == "__main__":
    main()

"""Write the sample article's pictures (samples/article/images/) from images packaged with scikit-image.

| file | scikit-image | licence |
|---|---|---|
| rocket.jpg | `rocket()`: a Falcon 9 on the launch pad, SpaceX | public domain (released by SpaceX) |
| deep-field.jpg | `hubble_deep_field()`: Hubble eXtreme Deep Field, NASA | public domain (NASA) |
| cat.jpg | `chelsea()`: Chelsea the cat, Stefan van der Walt | CC0 |
| coffee.jpg | `coffee()`: a cup of coffee, Rachel Michetti | CC0 |

The article's text is fictional (a sample); the captions describe the pictures.

Run: .venv/bin/python samples/article/make_images.py
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from skimage import data

OUT = Path(__file__).resolve().parent / "images"
PICTURES = {"rocket.jpg": data.rocket, "deep-field.jpg": data.hubble_deep_field,
            "cat.jpg": data.chelsea, "coffee.jpg": data.coffee}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, load in PICTURES.items():
        Image.fromarray(load()).save(OUT / name, quality=88, optimize=True)


if __name__ == "__main__":
    main()

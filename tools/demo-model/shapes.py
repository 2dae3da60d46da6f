"""The synthetic "shapes" world the demo model is trained on and judged by.

One place for the palette, the shapes, the caption wording, the held-out split and the
nearest-palette-colour classifier, so that training, evaluation and the project's tests agree.
Pictures are drawn on the fly with PIL at 4x resolution and box-filtered down (anti-aliased).
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

# Exact RGB values; the accuracy test classifies every pixel to the nearest of these.
PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "green": (30, 170, 60),
    "blue": (40, 70, 220),
    "yellow": (240, 220, 40),
    "purple": (140, 50, 180),
    "orange": (250, 140, 20),
    "white": (245, 245, 245),
    "black": (15, 15, 15),
}
COLOURS: list[str] = list(PALETTE)
SHAPES: list[str] = ["circle", "square", "triangle"]

IMAGE_SIZE = 64
# Shape extent (bounding-box side) in pixels at 64x64: the largest square covers 35% of the
# picture, so the background always stays the most frequent colour.
MIN_EXTENT, MAX_EXTENT = 18.0, 38.0
_SUPERSAMPLE = 4

# Fill ratio of an ideal shape inside its bounding box (used to judge the drawn shape).
FILL_RATIO = {"circle": float(np.pi / 4), "square": 1.0, "triangle": 0.5}

Combo = tuple[str, str, str]  # (foreground colour, shape, background colour)


def caption(fg: str, shape: str, bg: str) -> str:
    """The one prompt wording used in training, evaluation and tests."""
    return f"a {fg} {shape} on a {bg} background"


def all_combos() -> list[Combo]:
    return [(fg, shape, bg) for fg in COLOURS for shape in SHAPES for bg in COLOURS if fg != bg]


def _held_out() -> list[Combo]:
    # 12 combos never shown in training; every colour is a held-out foreground and a held-out
    # background at least once, and each shape appears four times.
    out = []
    for i in range(12):
        fg = COLOURS[i % 8]
        bg = COLOURS[(i * 3 + 1 + i // 8) % 8]
        if bg == fg:
            bg = COLOURS[(COLOURS.index(bg) + 1) % 8]
        out.append((fg, SHAPES[i % 3], bg))
    return out


HELD_OUT: list[Combo] = _held_out()
TRAIN_COMBOS: list[Combo] = [c for c in all_combos() if c not in set(HELD_OUT)]


def eval_combos() -> list[Combo]:
    """24 evaluation prompts: the 12 held-out combos and 12 seen ones spread over the palette."""
    seen = []
    for i in range(12):
        fg = COLOURS[(i * 5 + 2) % 8]
        bg = COLOURS[(i * 7 + 3 + i // 8) % 8]
        if bg == fg:
            bg = COLOURS[(COLOURS.index(bg) + 2) % 8]
        combo = (fg, SHAPES[(i + 1) % 3], bg)
        assert combo in TRAIN_COMBOS
        seen.append(combo)
    return HELD_OUT + seen


def project_test_combos() -> list[Combo]:
    """The 24 cases of the project's own test (test/demo-model/semantics.test.ts)."""
    return [(COLOURS[i % 8], SHAPES[i % 3], COLOURS[(i + 1 + (i // 8) * 2) % 8]) for i in range(24)]


def draw(fg: str, shape: str, bg: str, rng: np.random.Generator, size: int = IMAGE_SIZE) -> np.ndarray:
    """Draw one picture as uint8 HWC RGB. Position and extent are drawn from `rng`."""
    scale = size / IMAGE_SIZE
    extent = rng.uniform(MIN_EXTENT, MAX_EXTENT) * scale
    margin = 1.0 * scale
    half = extent / 2
    cx = rng.uniform(margin + half, size - margin - half)
    cy = rng.uniform(margin + half, size - margin - half)

    ss = _SUPERSAMPLE
    img = Image.new("RGB", (size * ss, size * ss), PALETTE[bg])
    d = ImageDraw.Draw(img)
    x0, y0, x1, y1 = [(v * ss) for v in (cx - half, cy - half, cx + half, cy + half)]
    colour = PALETTE[fg]
    if shape == "circle":
        d.ellipse([x0, y0, x1, y1], fill=colour)
    elif shape == "square":
        d.rectangle([x0, y0, x1, y1], fill=colour)
    elif shape == "triangle":
        d.polygon([(cx * ss, y0), (x0, y1), (x1, y1)], fill=colour)
    else:
        raise ValueError(f"unknown shape {shape!r}; expected one of {SHAPES}")
    return np.asarray(img.resize((size, size), Image.BOX), dtype=np.uint8)


def sample_batch(rng: np.random.Generator, n: int, combos: list[Combo] = TRAIN_COMBOS):
    """n random pictures (uint8 NHWC) and their combos, all drawn from `rng`."""
    picks = rng.integers(0, len(combos), size=n)
    chosen = [combos[i] for i in picks]
    images = np.stack([draw(fg, shape, bg, rng) for fg, shape, bg in chosen])
    return images, chosen


_PALETTE_ARRAY = np.array(list(PALETTE.values()), dtype=np.float32)


def classify_pixels(image: np.ndarray) -> np.ndarray:
    """Index into COLOURS of the nearest palette colour (Euclidean RGB) for every pixel."""
    px = image.reshape(-1, 3).astype(np.float32)
    d = ((px[:, None, :] - _PALETTE_ARRAY[None, :, :]) ** 2).sum(-1)
    return d.argmin(1).reshape(image.shape[:2])


def judge(image: np.ndarray, fg: str, shape: str, bg: str) -> dict:
    """The colour criterion (hard) and a shape guess from the fill ratio (soft).

    Colours pass when the most frequent palette class is the named background and the second
    most frequent the named foreground.
    """
    classes = classify_pixels(image)
    counts = np.bincount(classes.ravel(), minlength=len(COLOURS))
    order = np.argsort(-counts, kind="stable")
    top1, top2 = COLOURS[order[0]], COLOURS[order[1]]
    bg_ok, fg_ok = top1 == bg, top2 == fg
    if not bg_ok:
        failure = "background"
    elif not fg_ok:
        failure = "foreground"
    else:
        failure = None

    mask = classes == COLOURS.index(fg)
    fill, guessed = None, None
    # Bounding box over rows/columns holding at least 2 foreground pixels, so that a few stray
    # pixels of that colour elsewhere do not blow it up.
    rows = np.where(mask.sum(1) >= 2)[0]
    cols = np.where(mask.sum(0) >= 2)[0]
    if len(rows) and len(cols):
        box = mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        fill = float(box.mean())
        guessed = "square" if fill > 0.89 else "circle" if fill > 0.64 else "triangle"
    return {
        "colours_ok": failure is None,
        "failure": failure,
        "top1": top1,
        "top2": top2,
        "fill_ratio": fill,
        "shape_guess": guessed,
        "shape_ok": guessed == shape,
    }

"""PNG pictures of the valence/arousal plane for library owners: the mood map and one track's timeline.

Drawn with Pillow alone (drawn at twice the size, then scaled down: smooth edges), so
the library install needs no plotting stack; the research report's figures use
matplotlib (``moodmap.research.figures``, the ``train`` extra).
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..core.mood import EMOTIONS, QUADRANT_EXAMPLES

QUADRANT_COLOURS = {"Q1": "#e8a33d", "Q2": "#d9534f", "Q3": "#4c78a8", "Q4": "#54a24b"}  # as in mood-map.js
NEUTRAL = "#888888"
INK, GRID, TRAJECTORY = "#333333", "#9a9a9a", "#7a3db8"
SCALE = 2  # drawn at twice the size, then scaled down
TICKS = (0.0, 0.25, 0.5, 0.75, 1.0)
# Viridis at five stops: a timeline's points coloured by time, dark to light.
VIRIDIS = np.array([(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)], dtype=float)


def _font(size: int) -> ImageFont.FreeTypeFont:
    # Pillow annotates load_default as FreeTypeFont | ImageFont for every call; given a size, it always returns
    # truetype's FreeTypeFont (the bitmap ImageFont is only the sizeless fallback without FreeType)
    return ImageFont.load_default(size=size * SCALE)  # type: ignore[return-value]


class Panel:
    """A plotting box on an image: data (x, y) to pixels, axes, ticks and labels."""

    def __init__(self, image: Image.Image, box: tuple[int, int, int, int], xlim: tuple[float, float],
                 ylim: tuple[float, float]) -> None:
        self.image, self.draw = image, ImageDraw.Draw(image, "RGBA")
        self.left, self.top, self.right, self.bottom = (v * SCALE for v in box)
        self.xlim, self.ylim = xlim, ylim

    def xy(self, x: float, y: float) -> tuple[float, float]:
        fx = (x - self.xlim[0]) / (self.xlim[1] - self.xlim[0])
        fy = (y - self.ylim[0]) / (self.ylim[1] - self.ylim[0])
        return self.left + fx * (self.right - self.left), self.bottom - fy * (self.bottom - self.top)

    def frame(self, xlabel: str, ylabel: str, xticks: Sequence[float] | np.ndarray, yticks: Sequence[float]) -> None:
        """The box, tick marks with their values, and the axis names."""
        d, small = self.draw, _font(11)
        d.rectangle((self.left, self.top, self.right, self.bottom), outline=INK, width=SCALE)
        for x in xticks:
            px, _ = self.xy(x, self.ylim[0])
            d.line((px, self.bottom, px, self.bottom + 5 * SCALE), fill=INK, width=SCALE)
            d.text((px, self.bottom + 7 * SCALE), _tick(x), fill=INK, font=small, anchor="ma")
        for y in yticks:
            _, py = self.xy(self.xlim[0], y)
            d.line((self.left - 5 * SCALE, py, self.left, py), fill=INK, width=SCALE)
            d.text((self.left - 7 * SCALE, py), _tick(y), fill=INK, font=small, anchor="rm")
        d.text(((self.left + self.right) / 2, self.bottom + 24 * SCALE), xlabel, fill=INK, font=_font(13), anchor="ma")
        _vertical_text(self.image, ylabel, (self.left - 44 * SCALE, (self.top + self.bottom) / 2), _font(13))

    def title(self, text: str) -> None:
        self.draw.text(((self.left + self.right) / 2, self.top - 10 * SCALE), text, fill=INK, font=_font(14),
                       anchor="md")

    def dots(self, points: np.ndarray, colours: Sequence[str | tuple], radius: float, alpha: int = 255) -> None:
        r = radius * SCALE
        for (x, y), colour in zip(points, colours):
            px, py = self.xy(x, y)
            self.draw.ellipse((px - r, py - r, px + r, py + r), fill=_rgba(colour, alpha))

    def line(self, points: Sequence[tuple[float, float]], colour: str, width: float = 1.5) -> None:
        if len(points) > 1:
            self.draw.line([self.xy(x, y) for x, y in points], fill=colour, width=max(1, round(width * SCALE)),
                           joint="curve")

    def legend(self, entries: Sequence[tuple[str, str]], corner: str = "right", below: int = 0) -> None:
        """Coloured swatches and names, stacked in the top ``corner`` of the box (``below`` px lower)."""
        font = _font(11)
        for i, (label, colour) in enumerate(entries):
            y = self.top + (below + 10 + 16 * i) * SCALE
            x = self.right - 140 * SCALE if corner == "right" else self.left + 10 * SCALE
            self.draw.line((x, y, x + 18 * SCALE, y), fill=colour, width=2 * SCALE)
            self.draw.text((x + 24 * SCALE, y), label, fill=INK, font=font, anchor="lm")


def _tick(value: float) -> str:
    return f"{value:g}"


def _rgba(colour: str | tuple, alpha: int) -> tuple[int, int, int, int]:
    if isinstance(colour, str):
        colour = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return (*colour[:3], alpha)


def _vertical_text(image: Image.Image, text: str, centre: tuple[float, float], font: ImageFont.FreeTypeFont) -> None:
    """Text turned a quarter to the left (an y-axis name), centred on ``centre``."""
    left, top, right, bottom = font.getbbox(text)
    # Pillow annotates getbbox as floats (for a fractional stroke_width); without one it gives ints
    label = Image.new("RGBA", (right - left + 4, bottom - top + 4), (255, 255, 255, 0))  # type: ignore[arg-type]
    ImageDraw.Draw(label).text((2 - left, 2 - top), text, fill=INK, font=font)
    label = label.rotate(90, expand=True)
    image.paste(label, (int(centre[0] - label.width / 2), int(centre[1] - label.height / 2)), label)


def _plane(panel: Panel, quadrant_labels: bool) -> None:
    """Centre lines, the named-emotion anchors and (optionally) the quadrants' names."""
    d = panel.draw
    d.line((*panel.xy(0.5, 0), *panel.xy(0.5, 1)), fill=GRID, width=SCALE)
    d.line((*panel.xy(0, 0.5), *panel.xy(1, 0.5)), fill=GRID, width=SCALE)
    font = _font(11)
    for emotion in EMOTIONS:
        x, y = panel.xy(emotion.valence, emotion.arousal)
        d.rectangle((x - 3 * SCALE, y - 3 * SCALE, x + 3 * SCALE, y + 3 * SCALE), fill=INK)
        d.text((x, y - 6 * SCALE), emotion.name, fill=INK, font=font, anchor="md")
    if quadrant_labels:
        corners = {"Q1": (0.98, 0.98, "ra"), "Q2": (0.02, 0.98, "la"), "Q3": (0.02, 0.02, "ld"),
                   "Q4": (0.98, 0.02, "rd")}
        for name, (x, y, anchor) in corners.items():
            d.text(panel.xy(x, y), f"{name} · {QUADRANT_EXAMPLES[name]}", fill=QUADRANT_COLOURS[name], font=font,
                   anchor=anchor)


def _canvas(width: int, height: int) -> Image.Image:
    return Image.new("RGB", (width * SCALE, height * SCALE), "white")


def _save(image: Image.Image, path: str | Path) -> Path:
    image.resize((image.width // SCALE, image.height // SCALE), Image.Resampling.LANCZOS).save(path, format="PNG")
    return Path(path)


def library_map(table, path: str | Path, trajectory: list[dict] | None = None, title: str | None = None) -> Path:
    """A library's songs on the plane, coloured by quadrant; one song's timeline as a line when given."""
    image = _canvas(820, 840)
    panel = Panel(image, (80, 50, 800, 770), (0.0, 1.0), (0.0, 1.0))
    _plane(panel, quadrant_labels=True)
    colours = [QUADRANT_COLOURS.get(row["quadrant"], NEUTRAL) for row in table.rows]
    panel.dots(table.points, colours, radius=1.6 if len(table) > 5000 else 3.0, alpha=180)
    if trajectory:
        points = [(p["valence"], p["arousal"]) for p in trajectory]
        panel.line(points, TRAJECTORY)
        panel.dots(np.array(points), [TRAJECTORY] * len(points), radius=2.5)
        panel.legend([("one song over time", TRAJECTORY)], below=22)  # under the Q1 label
    panel.frame("valence", "arousal", TICKS, TICKS)
    panel.title(title or f"{len(table)} songs on the valence/arousal plane")
    return _save(image, path)


def timeline_plot(prediction, path: str | Path) -> Path:
    """A track's mood over time: its path on the plane (coloured by time), and both values against time."""
    points = prediction.timeline
    t = np.array([p.start for p in points], dtype=float)
    va = np.array([(p.valence, p.arousal) for p in points], dtype=float).reshape(-1, 2)
    image = _canvas(1240, 560)
    plane = Panel(image, (80, 50, 520, 490), (0.0, 1.0), (0.0, 1.0))
    _plane(plane, quadrant_labels=False)
    plane.line([tuple(p) for p in va], "#4c78a8", width=1)
    plane.dots(va, _viridis(t), radius=3.5)
    _star(plane, prediction.valence, prediction.arousal)
    plane.frame("valence", "arousal", TICKS, TICKS)
    plane.title("on the plane (dark: early, light: late; star: the song)")
    end = float(t.max()) if len(t) and t.max() > 0 else 1.0
    curve = Panel(image, (640, 50, 1210, 490), (0.0, end), (0.0, 1.0))
    curve.line(list(zip(t, va[:, 0])), "#1f77b4", width=1.5)
    curve.line(list(zip(t, va[:, 1])), "#ff7f0e", width=1.5)
    held = np.array([p.clipped for p in points], dtype=bool)
    for x, y in np.r_[np.c_[t[held], va[held, 0]], np.c_[t[held], va[held, 1]]]:
        _cross(curve, x, y)
    entries = [("valence", "#1f77b4"), ("arousal", "#ff7f0e")] + ([("held at the 1-9 scale's end", "#e45756")]
                                                                  if held.any() else [])
    curve.legend(entries, corner="left")
    curve.frame("window start (s)", "0 to 1", _time_ticks(end), TICKS)
    curve.title(f"{Path(prediction.path).name}: {prediction.emotion} ({prediction.quadrant or 'neutral'})")
    return _save(image, path)


def _time_ticks(end: float) -> np.ndarray:
    """Four or so round ticks from 0 to ``end`` seconds."""
    step = next((s for s in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600) if end / s <= 6), 7200)
    return np.arange(0, end + 1e-9, step)


def _viridis(values: np.ndarray) -> list[tuple[int, ...]]:
    span = np.ptp(values) if len(values) else 0.0
    where = (values - values.min()) / span if span else np.zeros_like(values)
    stops = np.linspace(0, 1, len(VIRIDIS))
    return [tuple(int(np.interp(w, stops, VIRIDIS[:, c])) for c in range(3)) for w in where]


def _star(panel: Panel, x: float, y: float, radius: float = 11) -> None:
    cx, cy = panel.xy(x, y)
    angles = np.pi / 2 + np.arange(10) * np.pi / 5
    radii = np.where(np.arange(10) % 2 == 0, radius, radius * 0.45) * SCALE
    panel.draw.polygon([(cx + r * np.cos(a), cy - r * np.sin(a)) for a, r in zip(angles, radii)], fill="#e45756")


def _cross(panel: Panel, x: float, y: float, size: float = 4) -> None:
    cx, cy, s = *panel.xy(x, y), size * SCALE
    panel.draw.line((cx - s, cy - s, cx + s, cy + s), fill="#e45756", width=SCALE)
    panel.draw.line((cx - s, cy + s, cx + s, cy - s), fill="#e45756", width=SCALE)

"""One colour (and marker) per method for every figure and table of a report.

The colours are keyed by method name: the methods of the whole report, sorted by name, take
the colours of :data:`COLOURS` in turn, so a method has the same colour in every figure
(and in the swatch of the summary table) whatever the order in which a group lists it.
The reference rows keep fixed colours: retrain (M_r) black, original (M_o) grey.

:data:`COLOURS` are colour-blind safe: Okabe & Ito's qualitative palette (less its black,
kept for retrain) followed by Paul Tol's "muted" scheme. Beyond those 16 the colours
repeat, the marker (:data:`MARKERS`) then differs. No matplotlib here: the HTML uses the
same palette.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from supreme.contracts.method import ORIGINAL, RETRAIN

#: Okabe-Ito (without black), then Tol "muted", each ordered so that neighbours differ
#: most: distinguishable with every common colour-vision deficiency
COLOURS = (
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
    "#332288", "#DDCC77", "#117733", "#CC6677", "#88CCEE", "#882255", "#44AA99", "#999933",
    "#AA4499",
)
MARKERS = ("o", "s", "D", "^", "v", "P")
REFERENCE_STYLES = {RETRAIN: ("#000000", "*"), ORIGINAL: ("#7F7F7F", "X")}


@dataclass(frozen=True)
class Style:
    colour: str
    marker: str


def palette(methods: Iterable[str]) -> dict[str, Style]:
    """``{method: Style}`` for every method of a report (pass them all, once)."""
    names = sorted(set(methods))
    others = [m for m in names if m not in REFERENCE_STYLES]
    styles = {m: Style(COLOURS[i % len(COLOURS)], MARKERS[(i // len(COLOURS)) % len(MARKERS)])
              for i, m in enumerate(others)}
    styles.update({m: Style(*REFERENCE_STYLES[m]) for m in names if m in REFERENCE_STYLES})
    return styles

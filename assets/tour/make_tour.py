"""Screenshots of every tab for the README's tour: ``python assets/tour/make_tour.py``.

Starts the app twice on a temporary data home with the shipped demo projects (``demo`` and the paper's sample,
``paper``): once with password sign-in (an admin and a researcher; three simulated annotators have answered the
``demo`` project so the Agreement tab has people to compare), once as the public demo (``SPARSE_FEEDBACK_PUBLIC=1``,
an anonymous visitor). Every tab each role sees is opened at 1,400 px in headless Debian chromium and saved here as
``<role>-<tab>.png``, and the admin's Human study panel opened as ``admin-human-study.png``, each reduced to a
128-colour palette to keep the folder small.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from tests.browser.tour import tour  # noqa: E402


def shrink(path: Path, colours: int = 128) -> None:
    """Rewrite a screenshot as a palette PNG (flat UI colours survive; about a third of the size)."""
    from PIL import Image

    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=colours, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


def main(only: tuple[str, ...] = ()) -> None:
    """Every screenshot afresh; with tab names (``make_tour.py Win-rates``, ``"Human study"``), only those."""
    for old in HERE.glob("*.png"):
        if not only:
            old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        shots = tour(Path(tmp), HERE, only=only, panels=True)
    for shot in shots:
        shrink(shot.path)
    total = sum(p.stat().st_size for p in HERE.glob("*.png"))
    print(f"{len(shots)} screenshots in {HERE} ({total / 1e6:.1f} MB)")


if __name__ == "__main__":
    main(tuple(sys.argv[1:]))

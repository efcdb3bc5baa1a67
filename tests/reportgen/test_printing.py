"""Print versions of stored figures: the format and resolution they round-trip at, their size in the PDF, reuse."""
from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from reportgen import UserError, config, printing, store

SETTINGS = printing.PrintSettings(dpi=200, jpeg_quality=90)


def stored(tmp_path: Path, fig: Figure, name: str = "exp") -> store.Figure:
    """The figure as the engine stores it: through write_entry, read back with read_entry."""
    store.write_entry(tmp_path / "cache" / name / "k1", {"fig": fig}, {})
    return store.read_entry(tmp_path / "cache" / name / "k1")["fig"]


def picture_figure() -> Figure:
    rng = np.random.default_rng(0)
    fig = Figure(figsize=(4, 2))
    for i, ax in enumerate(fig.subplots(1, 2)):
        ax.imshow(rng.random((96, 96, 3)), interpolation="nearest")
        ax.set_title(f"panel {i}", fontsize=8)
        ax.set_axis_off()
    return fig


def plot_figure() -> Figure:
    fig = Figure(figsize=(4, 2))
    ax = fig.subplots()
    ax.plot([0, 1, 2, 3], [0, 1, 0.5, 2], color="tab:blue")
    ax.set_xlabel("epoch", fontsize=8)
    return fig


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), dtype=float) / 255


def test_a_picture_prints_as_a_jpeg_of_the_stored_pixels_at_their_size(tmp_path: Path) -> None:
    fig = stored(tmp_path, picture_figure())
    version = printing.print_version(fig.path, tmp_path / "print", SETTINGS)
    assert version.path.suffix == ".jpg" and Image.open(version.path).format == "JPEG"
    with Image.open(fig.path) as original:
        assert Image.open(version.path).size == original.size  # 150 dpi stored, under the 200 dpi cap
        assert version.dpi == pytest.approx(original.info["dpi"][0], abs=0.5)
    assert np.abs(pixels(version.path) - pixels(fig.path)).mean() < 0.02  # alpha flattened on white, q90


def test_a_plot_prints_as_a_png_at_the_print_resolution_like_matplotlib_draws_it(tmp_path: Path) -> None:
    fig = stored(tmp_path, plot_figure())
    assert fig.kind == "svg"
    version = printing.print_version(fig.path, tmp_path / "print", SETTINGS)
    assert version.path.suffix == ".png" and version.dpi == pytest.approx(200, abs=0.5)
    width_pt, height_pt = map(float, re.search(r'width="([\d.]+)pt" height="([\d.]+)pt"',
                                               fig.path.read_text()).groups())
    image = Image.open(version.path)
    assert image.mode == "RGB"  # no alpha: WeasyPrint would add a mask image per figure
    assert image.size == pytest.approx((width_pt / 72 * 200, height_pt / 72 * 200), abs=1)
    buffer = io.BytesIO()  # the oracle: matplotlib's own raster of the same figure at 200 dpi
    plot_figure().savefig(buffer, format="png", dpi=200, bbox_inches="tight")
    expected = np.asarray(Image.open(buffer).convert("RGB").resize(image.size), dtype=float) / 255
    assert np.abs(pixels(version.path) - expected).mean() < 0.03


def test_more_pixels_than_print_needs_are_reduced_at_the_same_printed_size(tmp_path: Path) -> None:
    source = tmp_path / "cache/exp/k1/result--big.png"
    source.parent.mkdir(parents=True)
    Image.new("RGB", (1200, 600), "white").save(source, dpi=(600, 600))  # 2 × 1 inches
    version = printing.print_version(source, tmp_path / "print", SETTINGS)
    image = Image.open(version.path)
    assert image.size == (400, 200) and version.dpi == pytest.approx(200, abs=0.5)
    assert image.size[0] / version.dpi == pytest.approx(2.0, abs=0.01)


def test_a_raster_of_few_colours_stays_lossless(tmp_path: Path) -> None:
    source = tmp_path / "cache/exp/k1/result--bars.png"
    source.parent.mkdir(parents=True)
    bars = np.zeros((40, 60, 3), np.uint8)
    bars[:, ::3] = (200, 30, 30)
    Image.fromarray(bars).save(source, dpi=(150, 150))
    version = printing.print_version(source, tmp_path / "print", SETTINGS)
    assert version.path.suffix == ".png" and np.array_equal(np.asarray(Image.open(version.path)), bars)


def test_print_versions_are_reused_remade_when_the_figure_or_a_setting_changes_and_pruned(tmp_path: Path) -> None:
    fig = stored(tmp_path, picture_figure())
    folder = tmp_path / "print"
    first = printing.print_versions([fig, fig], folder, SETTINGS)[fig.path]
    made = first.path.stat().st_mtime_ns
    again = printing.print_versions([fig], folder, SETTINGS)[fig.path]
    assert again == first and first.path.stat().st_mtime_ns == made  # not converted again
    coarser = printing.print_versions([fig], folder, printing.PrintSettings(dpi=100, jpeg_quality=90))[fig.path]
    assert coarser.path != first.path and coarser.dpi == pytest.approx(100, abs=0.5)
    assert [p.name for p in folder.iterdir()] == [coarser.path.name]  # the unused one is gone
    new = stored(tmp_path, plot_figure())  # the same entry written again, as --force does
    assert printing.print_versions([new], folder, SETTINGS)[new.path].path.suffix == ".png"


def test_a_print_version_is_laid_out_at_its_stored_figures_size(tmp_path: Path) -> None:
    weasyprint = pytest.importorskip("weasyprint")
    fig = stored(tmp_path, plot_figure())
    small = printing.print_version(fig.path, tmp_path / "print", printing.PrintSettings(dpi=72, jpeg_quality=90))
    sources, stylesheet = printing.pdf_links({fig.path: small})
    html = f'<style>img {{ image-resolution: 150dpi }}</style><img src="{sources[fig.path]}">'
    page = weasyprint.HTML(string=html).render(stylesheets=[weasyprint.CSS(string=stylesheet)]).pages[0]
    boxes = [page._page_box]
    while boxes and getattr(boxes[-1], "element_tag", None) != "img":
        box = boxes.pop()
        boxes.extend(getattr(box, "children", []))
    width_pt = float(re.search(r'width="([\d.]+)pt"', fig.path.read_text())[1])
    assert boxes and boxes[-1].width == pytest.approx(width_pt * 96 / 72, rel=0.01)  # CSS px, as the SVG's own


@pytest.mark.parametrize("name, content", [("result--plot.svg", b"<svg>not closed"), ("result--x.png", b"\x89PNG no")])
def test_an_unreadable_figure_is_printed_from_its_stored_file(tmp_path: Path, name: str, content: bytes) -> None:
    source = tmp_path / "cache/exp/k1" / name
    source.parent.mkdir(parents=True)
    source.write_bytes(content)
    assert printing.print_version(source, tmp_path / "print", SETTINGS) == printing.PrintVersion(source, None)


@pytest.mark.parametrize("src", ["figures/exp--result--fig.png", "data:image/png;base64,iVBORw0K+/x=="])
def test_the_pdf_shows_the_print_versions_in_the_pages_own_html(tmp_path: Path, src: str) -> None:
    fig = stored(tmp_path, picture_figure())
    versions = printing.print_versions([fig], tmp_path / "print", SETTINGS)
    page = f'<img src="{src}" alt="Figure 1.1"> <a href="{src}">full</a>'
    html, stylesheet = printing.for_print(page, {fig.path: src}, versions)
    uri = versions[fig.path].path.resolve().as_uri()
    assert html == f'<img src="{uri}" alt="Figure 1.1"> <a href="{src}">full</a>'  # (the PDF drops file links)
    assert f'img[src="{uri}"] {{ image-resolution: 150' in stylesheet


@pytest.mark.parametrize("override, message", [("report.figure_dpi=10", r"\[report\] figure_dpi = 10: must be ≥ 50"),
                                               ("report.figure_jpeg_quality=100",
                                                r"\[report\] figure_jpeg_quality = 100: must be ≤ 95")])
def test_settings_out_of_range_are_refused_before_a_build(override: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        config.check_sections(config.load_settings(None, [override]), set())

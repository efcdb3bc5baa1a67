"""Print versions of the stored figures, for the PDF only: the cache and the HTML keep the stored files as they are.

WeasyPrint copies a JPEG into the PDF as it is, but decodes and recompresses every PNG (twice when it has an alpha
channel) and draws an SVG node by node in Python. So a picture (a raster of many colours: photographs, maps) is
printed as a JPEG, any other raster as a PNG without alpha, at most at the print resolution; each file records its
resolution, which lays it out at its stored figure's size. A print version is named by a digest of the stored file
and of the settings: it is made once, kept in `build/.print-figures`, and reused by every build that prints it.
"""
from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass
from pathlib import Path

from markupsafe import escape

from reportgen import store

FOLDER = ".print-figures"  # inside the build folder
CSS_DPI = 96.0  # pixels per inch of an image that does not say (CSS)


@dataclass(frozen=True)
class PrintSettings:
    """How figures are printed: the report's `figure_dpi` and `figure_jpeg_quality` settings."""

    dpi: int  # at most this many pixels per printed inch
    jpeg_quality: int  # of pictures printed as JPEG (Pillow's scale, 1–95)
    picture_colours: int | None = 4096  # a raster with more distinct colours is a picture (None: none is)

    @classmethod
    def from_report(cls, report: dict) -> PrintSettings:
        """From the [report] section, its defaults (config.RESERVED) included; their ranges are checked while
        planning (config.RESERVED_RANGES)."""
        return cls(dpi=report["figure_dpi"], jpeg_quality=report["figure_jpeg_quality"])


@dataclass(frozen=True)
class PrintVersion:
    """A figure as the PDF shows it: its file, and the resolution that prints it at its stored figure's size."""

    path: Path
    dpi: float | None  # None: a vector drawing, at its own size


def print_versions(figures: list[store.Figure], folder: Path, settings: PrintSettings) -> dict[Path, PrintVersion]:
    """Stored figure path → its print version under `folder` (made unless there already); the print versions no
    figure uses any more are removed."""
    folder.mkdir(parents=True, exist_ok=True)
    versions: dict[Path, PrintVersion] = {}
    for fig in figures:
        if fig.path not in versions:
            versions[fig.path] = print_version(fig.path, folder, settings)
    used = {v.path.name for v in versions.values()}
    for old in folder.iterdir():
        if old.name not in used:
            old.unlink(missing_ok=True)
    return versions


def print_version(source: Path, folder: Path, settings: PrintSettings) -> PrintVersion:
    """The print version of one stored figure, from `folder` when an earlier build made it."""
    stat = source.stat()  # a cache entry is replaced as a whole, never edited in place
    digest = hashlib.sha256(f"{source.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{settings}".encode()).hexdigest()
    stem = f"{source.parent.parent.name}--{source.stem}.{digest[:12]}"
    target = next(folder.glob(f"{stem}.*"), None)
    if target is None:
        try:
            data, ext = convert(source, settings)
        except (OSError, ValueError) as exc:  # Pillow or resvg cannot read it: printed from the stored file
            logging.getLogger(__name__).warning("%s: no print version (%s); the PDF shows the stored file", source, exc)
            return PrintVersion(source, None)
        target = folder / f"{stem}.{ext}"
        store.write_text_atomic(target, data)
    return PrintVersion(target, resolution(target))


def convert(source: Path, settings: PrintSettings) -> tuple[bytes, str]:
    """A stored figure as print bytes and their extension: JPEG for a picture, PNG (RGB) otherwise; an SVG is drawn
    at the print resolution first."""
    from PIL import Image

    with Image.open(io.BytesIO(_svg_raster(source, settings.dpi)) if source.suffix == ".svg" else source) as image:
        image.load()
        stored_dpi = settings.dpi if source.suffix == ".svg" else _dpi(image.info)
        image = _flattened(image)
    if stored_dpi > settings.dpi:  # more pixels than print needs: fewer, at the same size
        width = max(1, round(image.width * settings.dpi / stored_dpi))
        height = max(1, round(image.height * width / image.width))
        stored_dpi *= width / image.width
        image = image.resize((width, height), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if settings.picture_colours and image.getcolors(settings.picture_colours) is None:  # None: more colours
        # 4:4:4 (no chroma subsampling): coloured labels and map edges stay sharp
        image.save(out, "JPEG", quality=settings.jpeg_quality, subsampling=0, dpi=(stored_dpi, stored_dpi))
        return out.getvalue(), "jpg"
    image.save(out, "PNG", dpi=(stored_dpi, stored_dpi))
    return out.getvalue(), "png"


def _svg_raster(source: Path, dpi: int) -> bytes:
    """An SVG drawn as a PNG at `dpi` pixels per inch of its own size (resvg: the SVG's units at CSS's 96 dpi)."""
    import resvg_py

    return bytes(resvg_py.svg_to_bytes(svg_path=str(source), dpi=CSS_DPI, zoom=dpi / CSS_DPI, background="white"))


def resolution(path: Path) -> float:
    """The pixels per inch a raster file records (CSS's 96 when it does not), from its header only."""
    from PIL import Image

    with Image.open(path) as image:
        return _dpi(image.info)


def _dpi(info: dict) -> float:
    dpi = info.get("dpi")
    return float(dpi[0]) if dpi and dpi[0] > 0 else CSS_DPI


def _flattened(image):
    """RGB on white: an alpha channel would cost WeasyPrint a second image (the mask) per figure."""
    from PIL import Image

    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB") if image.mode != "RGB" else image


def for_print(html: str, sources: dict[Path, str], versions: dict[Path, PrintVersion]) -> tuple[str, str]:
    """The page's HTML as the PDF shows it, from the same template render: each `src` of a stored figure (`sources`,
    as the HTML links it) swapped for its print version's file URL; and the stylesheet of `pdf_links`. A figure the
    templates show otherwise (not as an img src) is printed from its stored file."""
    links, stylesheet = pdf_links(versions)
    for fig, src in sources.items():
        if fig in links:
            html = html.replace(f'src="{escape(src)}"', f'src="{links[fig]}"')
    return html, stylesheet


def pdf_links(versions: dict[Path, PrintVersion]) -> tuple[dict[Path, str], str]:
    """What the PDF's HTML shows: stored figure path → its print version's URL, and the user stylesheet that prints
    each raster at its stored figure's size (over the templates' own resolutions, hence `!important`)."""
    sources = {fig: version.path.resolve().as_uri() for fig, version in versions.items()}
    rules = [f'img[src="{sources[fig]}"] {{ image-resolution: {version.dpi:.6g}dpi !important; }}'
             for fig, version in versions.items() if version.dpi is not None]
    return sources, "\n".join(rules)

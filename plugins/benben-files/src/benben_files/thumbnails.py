"""Thumbnails of image attachments, made on the worker with Pillow (``benben.files.thumbnails``).

Sizes (:func:`parse_size`), each side at most :data:`MAX_SIDE` pixels:

- ``WxH``: cropped (from the centre) to fill ``W`` by ``H``;
- ``WxHf``: fitted inside ``W`` by ``H``, keeping the aspect ratio;
- ``Wx0`` / ``0xH``: ``W`` wide (``H`` high), the other side keeping the aspect ratio.

A thumbnail is never larger than its image (a small image gives a smaller thumbnail, of the
size's aspect ratio when cropped).  Its format is the image's (JPEG, PNG, WebP), a GIF's first
frame as PNG; the EXIF orientation is applied, and no metadata is copied (an image's GPS
position stays in the original).  Images of :data:`IMAGE_TYPES` only (never SVG: a script).

The task ``files.thumbnails(sha256, sizes=None)`` makes the missing thumbnails of a blob
(``sizes``: those, else every size a collection holding the blob allows), each stored as its
own object (``thumbnails/...``) with a :class:`~benben_files.models.Thumbnail` row.  Sent by an
upload of an image and by a download of a thumbnail not made yet.  An image that cannot be
made into a thumbnail (corrupt, unsupported, more than ``benben.files.thumbnail_max_pixels``
pixels: a decompression bomb) gets a row whose ``content_type`` is :data:`FAILED` and no
object: the download serves the original instead, and nobody tries again.  A storage failure
leaves no row: the next request for the thumbnail sends the task again.
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from io import BytesIO
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from benben.plugin import ConfigurationError, Configurator, Registry, TaskContext

from .metrics import get_metrics
from .models import Attachment, Blob, Policy, Thumbnail, utcnow
from .settings import get_settings
from .storage import get_storage, new_key

__all__ = [
    "FAILED",
    "IMAGE_TYPES",
    "MAX_SIDE",
    "TASK",
    "Size",
    "allowed_sizes",
    "is_image",
    "make_thumbnail",
    "parse_size",
    "thumbnails_task",
]

log = logging.getLogger(__name__)

TASK = "files.thumbnails"
MAX_SIDE = 2048
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/webp", "image/gif"})
#: The ``content_type`` of a Thumbnail row recording that no thumbnail can be made.
FAILED = "failed"
_SIZE = re.compile(r"(0|[1-9][0-9]{0,3})x(0|[1-9][0-9]{0,3})(f?)")
_SPOOL_BYTES = 8 * 1024 * 1024  # images up to this size are read into memory, larger to disk
_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


@dataclass(frozen=True)
class Size:
    """A thumbnail size: ``width``/``height`` (0: keeps the aspect ratio), ``fit`` inside."""

    width: int
    height: int
    fit: bool = False

    def __str__(self) -> str:
        return f"{self.width}x{self.height}{'f' if self.fit else ''}"


def parse_size(text: str) -> Size | None:
    """The size ``text`` names (``100x100``, ``200x0``, ``0x150``, ``300x300f``), or None when
    it is not one: a malformed text, a side over :data:`MAX_SIDE`, ``0x0``, ``f`` with a 0 side.
    Only canonical spellings are sizes (no leading zeros): one size, one stored thumbnail."""
    match = _SIZE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        return None
    width, height, fit = int(match[1]), int(match[2]), bool(match[3])
    if width > MAX_SIDE or height > MAX_SIDE or (width == 0 and height == 0):
        return None
    if fit and (width == 0 or height == 0):
        return None
    return Size(width, height, fit)


def is_image(content_type: str | None) -> bool:
    """Whether thumbnails are made of content of this (sniffed) type."""
    return (content_type or "").split(";")[0].strip().lower() in IMAGE_TYPES


def allowed_sizes(registry: Registry, policy: Policy | None) -> tuple[str, ...]:
    """The thumbnail sizes a collection offers: its policy's, else the settings'; none when
    thumbnails are off.  Invalid sizes are left out (the policy API refuses them anyway)."""
    settings = get_settings(registry)
    if not settings.thumbnails:
        return ()
    chosen = policy.thumbnail_sizes if policy is not None else None
    names = settings.thumbnail_sizes if chosen is None else chosen
    sizes = (parse_size(name) for name in names)
    return tuple(dict.fromkeys(str(size) for size in sizes if size is not None))


# -- making one -------------------------------------------------------------------------------


class ImageRefusedError(Exception):
    """No thumbnail can be made of this content (for good): corrupt, unsupported, too big."""

    def __init__(self, reason: str, outcome: str = "failed") -> None:
        super().__init__(reason)
        self.outcome = outcome  # the metric's: "failed" or "refused" (too many pixels)


def open_image(source: IO[bytes], max_pixels: int) -> Any:
    """The image in ``source``, its header read (not its pixels); ImageRefusedError when it is not
    one Pillow reads, or has more than ``max_pixels`` pixels."""
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(source)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own limit (Image.MAX_IMAGE_PIXELS), above ours unless ours was raised.
        raise ImageRefusedError(f"too many pixels ({exc})", "refused") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ImageRefusedError(f"not an image Pillow reads ({exc})") from exc
    width, height = image.size
    if width * height > max_pixels:
        raise ImageRefusedError(f"{width}x{height} pixels, over {max_pixels}", "refused")
    if image.format not in (*_FORMATS, "GIF"):
        raise ImageRefusedError(f"format {image.format} is not thumbnailed")
    return image


def make_thumbnail(image: Any, size: Size) -> tuple[bytes, str]:
    """A thumbnail of the opened ``image`` at ``size``: its bytes and media type."""
    from PIL import Image, ImageOps

    source_format = image.format
    image.seek(0)  # a GIF's (an animated WebP's) first frame
    frame = ImageOps.exif_transpose(image)  # a copy, rotated as the camera was held
    width, height = frame.size
    resample = Image.Resampling.LANCZOS
    if size.width and size.height and not size.fit:
        # Crop to the size's aspect ratio; never enlarge: a small image gives a smaller box.
        shrink = min(1.0, width / size.width, height / size.height)
        box = (max(1, round(size.width * shrink)), max(1, round(size.height * shrink)))
        frame = ImageOps.fit(frame, box, method=resample)
    else:
        bound = (size.width or width, size.height or height)
        frame.thumbnail(bound, resample=resample, reducing_gap=3.0)  # never enlarges
    return _encode(frame, source_format)


def _encode(frame: Any, source_format: str) -> tuple[bytes, str]:
    output = BytesIO()
    if source_format == "JPEG":
        if frame.mode not in ("RGB", "L"):
            frame = frame.convert("RGB")
        frame.save(output, "JPEG", quality=85, optimize=True)
        return output.getvalue(), "image/jpeg"
    if source_format == "WEBP":
        if frame.mode not in ("RGB", "RGBA"):
            frame = frame.convert("RGBA")
        frame.save(output, "WEBP", quality=80)
        return output.getvalue(), "image/webp"
    if frame.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"):
        frame = frame.convert("RGBA")  # CMYK, YCbCr...: not in PNG
    frame.save(output, "PNG", optimize=True)
    return output.getvalue(), "image/png"


# -- the task ---------------------------------------------------------------------------------


def thumbnails_task(ctx: TaskContext, sha256: str, sizes: Iterable[str] | None = None) -> int:
    """Make the missing thumbnails of the blob ``sha256``; how many were stored."""
    registry = ctx.registry
    settings = get_settings(registry)
    metrics = get_metrics(registry)
    if not settings.thumbnails:
        return 0
    with ctx.transaction(readonly=True) as request:
        session = request.dbsession
        blob = session.get(Blob, sha256)
        if blob is None or not is_image(blob.content_type):
            metrics.thumbnail("skipped")
            return 0
        key, content_type = blob.key, blob.content_type
        wanted = _wanted_sizes(registry, session, sha256, sizes)
        done = set(session.scalars(select(Thumbnail.size).where(Thumbnail.sha256 == sha256)).all())
    missing = [size for size in wanted if str(size) not in done]
    if not missing:
        return 0
    storage = get_storage(registry)
    made: list[tuple[Size, str | None, str, int]] = []  # size, key (None: failed), type, bytes
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as spool:
        try:
            for chunk in storage.read(key):
                spool.write(chunk)
        except FileNotFoundError:
            log.error("files: thumbnails of %s: its object %s is missing", sha256, key)
            metrics.failure("thumbnail")
            return 0
        spool.seek(0)
        try:
            image = open_image(spool, settings.thumbnail_max_pixels)
        except ImageRefusedError as exc:
            log.warning("files: no thumbnail of %s (%s): %s", sha256, content_type, exc)
            metrics.thumbnail(exc.outcome)
            made = [(size, None, FAILED, 0) for size in missing]
        else:
            with image:
                _draft(image, missing)
                try:
                    for size in missing:
                        made.append(_make_and_store(storage, image, size, sha256, metrics))
                except Exception:
                    # Storage failed: keep what was stored, the rest is tried again later.
                    _record(ctx, sha256, made, storage)
                    raise
    return _record(ctx, sha256, made, storage)


def _wanted_sizes(
    registry: Registry, session: Any, sha256: str, sizes: Iterable[str] | None
) -> list[Size]:
    if sizes is not None:
        names: Iterable[str] = sizes
    else:
        # Every size a collection holding this content offers (the blob is shared by content).
        collections = session.scalars(
            select(Attachment.collection_id).where(Attachment.sha256 == sha256).distinct()
        ).all()
        policies = {
            policy.collection_id: policy
            for policy in session.scalars(
                select(Policy).where(Policy.collection_id.in_(collections))
            )
        }
        names = [
            name
            for collection_id in collections
            for name in allowed_sizes(registry, policies.get(collection_id))
        ]
    parsed = (parse_size(name) for name in names)
    return list({str(size): size for size in parsed if size is not None}.values())


def _draft(image: Any, sizes: list[Size]) -> None:
    """Let a JPEG decode at a reduced scale still at least as large as every size needs (much
    faster and smaller for a camera's photo); square, so that any EXIF rotation still fits."""
    if image.format != "JPEG":
        return
    side = max(max(size.width, size.height) for size in sizes)
    image.draft("RGB", (side, side))


def _make_and_store(
    storage: Any, image: Any, size: Size, sha256: str, metrics: Any
) -> tuple[Size, str | None, str, int]:
    try:
        data, media_type = make_thumbnail(image, size)
    except (OSError, ValueError, SyntaxError, MemoryError) as exc:  # a truncated or bad image
        log.warning("files: no %s thumbnail of %s: %s", size, sha256, exc)
        metrics.thumbnail("failed")
        return size, None, FAILED, 0
    key = new_key("thumbnails")
    try:
        storage.write(key, [data], content_type=media_type)
    except Exception:
        metrics.failure("thumbnail")
        metrics.failure("storage")
        raise
    return size, key, media_type, len(data)


def _record(
    ctx: TaskContext, sha256: str, made: list[tuple[Size, str | None, str, int]], storage: Any
) -> int:
    """Insert the rows; a row already there (a concurrent run) wins: our object is deleted."""
    metrics = get_metrics(ctx.registry)
    losers: list[str] = []
    stored = 0
    with ctx.transaction() as request:
        session = request.dbsession
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        for size, key, media_type, nbytes in made:
            statement = (
                dialect.insert(Thumbnail.__table__)
                .values(
                    sha256=sha256,
                    size=str(size),
                    # A failure's row has no object, and a key no object can have.
                    key=key or f"{FAILED}/{sha256}/{size}",
                    content_type=media_type,
                    bytes=nbytes,
                    created_at=utcnow(),
                )
                .on_conflict_do_nothing()
                .returning(Thumbnail.__table__.c.size)
            )
            inserted = session.execute(statement).first() is not None
            if key is not None and not inserted:
                losers.append(key)
            elif key is not None:
                stored += 1
                metrics.thumbnail("generated")
    for key in losers:
        storage.delete(key)
    return stored


def includeme(config: Configurator) -> None:
    settings = get_settings(config.registry)
    bad = [name for name in settings.thumbnail_sizes if parse_size(name) is None]
    if bad:
        raise ConfigurationError(
            f"benben.files.thumbnail_sizes: {', '.join(bad)} is not a size (WxH, WxHf, Wx0 or "
            f"0xH, each side at most {MAX_SIDE})"
        )
    if settings.thumbnails:
        try:
            import PIL.Image  # noqa: F401
        except ImportError:
            raise ConfigurationError(
                "benben.files.thumbnails needs Pillow: pip install 'benben[images]'"
            ) from None
    config.add_task(TASK, thumbnails_task)

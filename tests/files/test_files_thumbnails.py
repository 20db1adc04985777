"""Thumbnails (files.thumbnails): sizes and their modes, EXIF orientation, formats kept, never
enlarged, decompression bombs and broken images refused (the original is served instead),
non-images ignored, a concurrent duplicate dropped; sizes parsed strictly."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

import pytest
from files_support import attachments_url, create_record, people, png_bytes, upload_raw
from tasks_support import exists, keys, rows, store

from benben.plugin import ConfigurationError, TaskContext
from benben.testing import run_queued_tasks

SIZES = "100x100 200x0 0x150 300x300f"


@pytest.fixture
def app_settings(app_settings: dict[str, Any]) -> dict[str, Any]:
    return {
        **app_settings,
        "benben.files.thumbnails": "on",
        "benben.files.thumbnail_sizes": SIZES,
    }


def image_bytes(size: tuple[int, int], kind: str, **options: Any) -> bytes:
    from PIL import Image

    width, height = size
    image = Image.new("RGB", size, (220, 20, 20))
    image.paste((20, 20, 220), (width // 2, 0, width, height))  # left red, right blue
    buffer = io.BytesIO()
    image.save(buffer, kind, **options)
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that says it is ``width`` x ``height`` (a decompression bomb's header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def thumbnail(app: Any, headers: dict[str, str], name: str, size: str, **kwargs: Any) -> Any:
    url = attachments_url(name=name) + f"/thumbnails/{size}"
    return app.get(url, headers=headers, **kwargs)


def opened(data: bytes) -> Any:
    from PIL import Image

    return Image.open(io.BytesIO(data))


@pytest.fixture
def who(app: Any) -> Any:
    who = people(app)
    create_record(app, who.alice, "books", "dune")
    return who


def test_each_size_its_mode(app, who):
    upload_raw(app, who.alice, image_bytes((400, 300), "PNG"), name="map.png")
    assert thumbnail(app, who.alice, "map.png", "100x100", status=503).headers["Retry-After"]
    run_queued_tasks(app.app.registry)
    expected = {"100x100": (100, 100), "200x0": (200, 150), "0x150": (200, 150)}
    expected["300x300f"] = (300, 225)
    for size, dimensions in expected.items():
        response = thumbnail(app, who.alice, "map.png", size)
        assert response.content_type == "image/png"
        image = opened(response.body)
        assert (image.format, image.size) == ("PNG", dimensions), size
    # Cropped from the centre: the left edge red, the right one blue.
    cropped = opened(thumbnail(app, who.alice, "map.png", "100x100").body).convert("RGB")
    assert cropped.getpixel((2, 50))[0] > 200
    assert cropped.getpixel((97, 50))[2] > 200


def test_a_jpeg_is_turned_as_its_exif_orientation_says(app, who):
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated 90 degrees clockwise: the stored left side on top
    upload_raw(app, who.alice, image_bytes((400, 200), "JPEG", exif=exif), name="photo.jpg")
    run_queued_tasks(app.app.registry)
    response = thumbnail(app, who.alice, "photo.jpg", "0x150")
    assert response.content_type == "image/jpeg"
    image = opened(response.body)
    assert (image.format, image.size) == ("JPEG", (75, 150))
    assert image.getexif().get(0x0112) is None  # no metadata copied
    rgb = image.convert("RGB")
    assert rgb.getpixel((37, 10))[0] > 180  # red on top
    assert rgb.getpixel((37, 140))[2] > 180  # blue below


def test_small_images_are_never_enlarged(app, who):
    upload_raw(app, who.alice, image_bytes((50, 40), "PNG"), name="icon.png")
    run_queued_tasks(app.app.registry)
    for size, dimensions in {"100x100": (40, 40), "200x0": (50, 40), "300x300f": (50, 40)}.items():
        assert opened(thumbnail(app, who.alice, "icon.png", size).body).size == dimensions


def test_formats_are_kept_and_a_gif_gives_its_first_frame_as_png(app, who):
    upload_raw(app, who.alice, image_bytes((300, 200), "WEBP"), name="pic.webp")
    upload_raw(app, who.alice, image_bytes((300, 200), "GIF"), name="anim.gif")
    run_queued_tasks(app.app.registry)
    webp = thumbnail(app, who.alice, "pic.webp", "200x0")
    assert webp.content_type == "image/webp"
    assert opened(webp.body).format == "WEBP"
    gif = thumbnail(app, who.alice, "anim.gif", "300x300f")
    assert gif.content_type == "image/png"
    assert opened(gif.body).size == (300, 200)


@pytest.mark.parametrize("side", [8000, 40000])  # refused by our limit, by Pillow's
def test_a_decompression_bomb_gets_no_thumbnail_and_its_original_is_served(app, who, side):
    from benben_files.models import Thumbnail
    from benben_files.thumbnails import FAILED

    bomb = png_header_only(side, side)
    upload_raw(app, who.alice, bomb, name="bomb.png")
    run_queued_tasks(app.app.registry)
    made = rows(app.app.registry, Thumbnail)
    assert {(row[1], row[3], row[4]) for row in made} == {
        (size, FAILED, 0) for size in SIZES.split()
    }
    assert keys(app.app.registry, "thumbnails/") == set()
    assert thumbnail(app, who.alice, "bomb.png", "100x100").body == bomb
    text = app.get("/metrics", extra_environ={"REMOTE_ADDR": "127.0.0.1"}).text
    assert 'benben_files_thumbnails_total{outcome="refused"} 1.0' in text


def test_a_broken_image_gets_no_thumbnail(app, who):
    from benben_files.models import Thumbnail
    from benben_files.thumbnails import FAILED

    broken = png_bytes((300, 300))[:60]  # its header, then nothing
    upload_raw(app, who.alice, broken, name="broken.png")
    run_queued_tasks(app.app.registry)
    assert {row[3] for row in rows(app.app.registry, Thumbnail)} == {FAILED}
    assert thumbnail(app, who.alice, "broken.png", "200x0").body == broken


def test_what_is_no_image_is_ignored(app, who):
    from benben_files.models import Thumbnail
    from benben_files.thumbnails import thumbnails_task

    text = upload_raw(app, who.alice, b"<svg xmlns='http://www.w3.org/2000/svg'/>", name="x.svg")
    ctx = TaskContext(app.app.registry, "files.thumbnails")
    assert thumbnails_task(ctx, text.json["sha256"]) == 0
    assert thumbnails_task(ctx, "0" * 64) == 0  # no such content
    assert rows(app.app.registry, Thumbnail) == []
    thumbnail(app, who.alice, "x.svg", "100x100", status=404)


def test_a_duplicate_made_concurrently_is_dropped(app, who):
    from benben_files.models import Thumbnail
    from benben_files.thumbnails import _record, parse_size, thumbnails_task

    registry = app.app.registry
    sha = upload_raw(app, who.alice, png_bytes((120, 120)), name="a.png").json["sha256"]
    run_queued_tasks(registry)
    before = rows(registry, Thumbnail)
    ctx = TaskContext(registry, "files.thumbnails")
    assert thumbnails_task(ctx, sha) == 0  # all made already
    late = store(registry, b"another run's thumbnail", "thumbnails")
    storage = __import__("benben_files.storage", fromlist=["get_storage"]).get_storage(registry)
    size = parse_size("100x100")
    assert _record(ctx, sha, [(size, late, "image/png", 23)], storage) == 0
    assert not exists(registry, late)
    assert rows(registry, Thumbnail) == before


def test_thumbnails_off_make_nothing(make_app):
    from benben_files.models import Thumbnail

    app = make_app({"benben.files.thumbnails": "off"})
    who = people(app)
    create_record(app, who.alice, "books", "dune")
    upload_raw(app, who.alice, png_bytes((300, 300)), name="a.png")
    run_queued_tasks(app.app.registry)
    assert rows(app.app.registry, Thumbnail) == []


def test_sizes_are_parsed_strictly():
    from benben_files.thumbnails import Size, parse_size

    assert parse_size("100x100") == Size(100, 100, False)
    assert parse_size("200x0") == Size(200, 0, False)
    assert parse_size("0x150") == Size(0, 150, False)
    assert parse_size("300x300f") == Size(300, 300, True)
    assert str(parse_size("2048x2048f")) == "2048x2048f"
    for text in ("0x0", "2049x10", "100x0f", "0100x100", "100X100", "100x100 ", "-1x5", "", "x"):
        assert parse_size(text) is None, text


def test_bad_sizes_or_no_pillow_stop_start_up(make_app, monkeypatch):
    with pytest.raises(ConfigurationError, match="thumbnail_sizes: 100x100x"):
        make_app({"benben.files.thumbnail_sizes": "100x100x"})
    monkeypatch.setitem(__import__("sys").modules, "PIL.Image", None)
    with pytest.raises(ConfigurationError, match=r"pip install 'benben\[images\]'"):
        make_app({"benben.files.thumbnails": "on"})

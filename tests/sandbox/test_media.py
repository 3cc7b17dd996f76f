"""Media: GET /{media-id}, the authorised download URL, uploads and deletes."""

from __future__ import annotations

import hashlib
import struct
import zlib

from flowapp.sandbox.media import pdf_document, png_image
from tests.sandbox.helpers import AUTH, PHONE_NUMBER_ID


def test_seeded_image_info_and_download(graph):
    """The seeded PNG has Meta's info fields; its URL serves the bytes to the token holder only."""
    info = graph.get("sandbox-image-1").json()
    assert set(info) == {"messaging_product", "url", "mime_type", "sha256", "file_size", "id"}
    assert info["mime_type"] == "image/png" and info["id"] == "sandbox-image-1"
    assert info["url"].startswith(graph.mock.url + "/_mock/media/sandbox-image-1/download?token=")
    assert graph.http.get(info["url"]).status_code == 401
    download = graph.http.get(info["url"], headers=AUTH)
    assert download.status_code == 200 and download.headers["Content-Type"] == "image/png"
    assert hashlib.sha256(download.content).hexdigest() == info["sha256"]
    assert len(download.content) == info["file_size"]


def test_download_url_needs_its_token(graph):
    """A download URL with a made-up token is 404, as an expired Meta URL is."""
    response = graph.http.get(
        f"{graph.mock.url}/_mock/media/sandbox-image-1/download?token=forged", headers=AUTH
    )
    assert response.status_code == 404


def test_unknown_media_is_100(graph):
    """An unknown media id answers 400 code 100."""
    response = graph.get("no-such-media")
    assert response.status_code == 400 and response.json()["error"]["code"] == 100


def test_upload_then_download_and_delete(graph):
    """A multipart upload gets a new id whose bytes and type come back; DELETE forgets it."""
    files = {"file": ("note.txt", b"hello sandbox", "text/plain")}
    form = {"messaging_product": "whatsapp", "type": "text/plain"}
    answer = graph.http.post(graph.url(f"{PHONE_NUMBER_ID}/media"), data=form, files=files, headers=AUTH)
    assert answer.status_code == 200
    media_id = answer.json()["id"]
    info = graph.get(media_id).json()
    assert (info["mime_type"], info["file_size"]) == ("text/plain", 13)
    assert graph.http.get(info["url"], headers=AUTH).content == b"hello sandbox"
    assert graph.http.delete(graph.url(media_id), headers=AUTH).json() == {"success": True}
    assert graph.get(media_id).status_code == 400


def test_upload_needs_a_file_and_the_product(graph):
    """An upload without file, or without messaging_product=whatsapp, is code 100."""
    url = graph.url(f"{PHONE_NUMBER_ID}/media")
    no_file = graph.http.post(
        url, data={"messaging_product": "whatsapp"}, files={"x": ("a", b"a")}, headers=AUTH
    )
    assert no_file.status_code == 400
    no_product = graph.http.post(url, files={"file": ("a.txt", b"a", "text/plain")}, headers=AUTH)
    assert no_product.status_code == 400 and "messaging_product" in no_product.text


def test_seeded_files_are_valid():
    """The seeded PNG decodes (signature, IHDR, CRCs, pixels) and the PDF's xref points at its objects."""
    png = png_image(4, 3)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks = 8, {}
    while position < len(png):
        (length,) = struct.unpack(">I", png[position : position + 4])
        kind, data = png[position + 4 : position + 8], png[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", png[position + 8 + length : position + 12 + length])
        assert crc == zlib.crc32(kind + data) & 0xFFFFFFFF
        chunks[kind] = data
        position += 12 + length
    assert struct.unpack(">IIBB", chunks[b"IHDR"][:10]) == (4, 3, 8, 2)
    assert len(zlib.decompress(chunks[b"IDAT"])) == 3 * (1 + 4 * 3)
    pdf = pdf_document()
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    xref = int(pdf.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    offsets = [int(line[:10]) for line in pdf[xref:].split(b"\n")[3:8]]
    assert [pdf[offset:].split(b" ")[0] for offset in offsets] == [b"1", b"2", b"3", b"4", b"5"]

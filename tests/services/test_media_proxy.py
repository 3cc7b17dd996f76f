"""The media proxy: only media ids of stored messages, downloaded with the token, cached briefly,
size-limited; and agents' uploads, checked against WhatsApp's rules before they reach Meta."""

import pytest
from sqlalchemy import select

from flowapp.extensions import db, get_redis
from flowapp.models import Message
from flowapp.sandbox.media import png_image
from flowapp.services import media_proxy
from tests import factories
from tests.helpers import customer_message, deliver


def say(**spec) -> Message:
    deliver(customer_message(**spec))
    return db.session.scalar(select(Message).order_by(Message.id.desc()))


@pytest.fixture
def image_message(session, redis, graph_mock):
    message = say(image={"id": "sandbox-image-1", "caption": "my order"})
    session.commit()  # stored by the webhook's transaction, long before anyone opens it
    return message


def test_media_of_inbound_outbound_and_text(image_message):
    """Inbound media come from the webhook, uploaded outbound media from our request; text has none."""
    assert media_proxy.media_of(image_message)["id"] == "sandbox-image-1"
    outbound = Message(
        conversation_id=image_message.conversation_id,
        direction="out",
        type="document",
        payload={
            "request": {"type": "document", "document": {"id": "sandbox-media-9", "filename": "a.pdf"}},
            "upload": {"size": 1234, "mime_type": "application/pdf"},
        },
    )
    assert media_proxy.media_of(outbound) == {
        "id": "sandbox-media-9",
        "mime_type": "application/pdf",
        "filename": "a.pdf",
        "caption": None,
        "size": 1234,
    }
    linked = Message(
        direction="out", type="image", payload={"request": {"image": {"link": "https://x.test/a.png"}}}
    )
    assert media_proxy.media_of(linked) is None
    assert media_proxy.media_of(Message(direction="in", type="text", payload={"media": {"id": "x"}})) is None


def test_fetch_downloads_with_the_token_and_caches(image_message, monkeypatch):
    """The bytes come from Meta once, then from Redis for a few minutes."""
    from flowapp.whatsapp.client import GraphClient
    from flowapp.whatsapp.errors import NetworkError

    found = media_proxy.fetch(image_message)
    assert found.content == png_image() and found.mime_type == "image/png" and found.inline
    key = "inbox:media:sandbox-image-1"
    assert get_redis().ttl(key) > 0

    def unreachable(*_args, **_kwargs):
        raise NetworkError("Meta is down")

    monkeypatch.setattr(GraphClient, "download_media", unreachable)
    assert media_proxy.fetch(image_message).content == png_image()  # Meta fails now: the cache answers
    get_redis().delete(key)
    with pytest.raises(media_proxy.MediaError) as refused:
        media_proxy.fetch(image_message)
    assert refused.value.status == 502


def test_message_without_media_is_refused(session, redis, graph_mock):
    """A text message has no media: 404, and Meta is never asked."""
    message = say(text="hello")
    with pytest.raises(media_proxy.MediaError) as refused:
        media_proxy.fetch(message)
    assert refused.value.status == 404


def test_unknown_media_at_meta_is_a_bad_gateway(session, redis, graph_mock):
    """A stored message naming media Meta does not know (expired) answers 502."""
    message = say(text="hello")
    message.type = "image"
    message.payload = {"media": {"id": "sandbox-gone-1", "mime_type": "image/png"}}
    db.session.commit()
    with pytest.raises(media_proxy.MediaError) as refused:
        media_proxy.fetch(message)
    assert refused.value.status == 502


def test_too_large_is_not_downloaded(image_message, monkeypatch):
    """Above the proxy's limit the download stops: 413."""
    monkeypatch.setattr(media_proxy, "MAX_BYTES", 10)
    with pytest.raises(media_proxy.MediaError) as refused:
        media_proxy.fetch(image_message)
    assert refused.value.status == 413


def test_info_reports_size_and_type(image_message):
    """The file's size and type, from Meta's media record."""
    assert media_proxy.info(image_message) == {"mime_type": "image/png", "size": len(png_image())}


def test_upload_checks_rules_before_meta(session, redis, graph_mock, monkeypatch):
    """A file WhatsApp would refuse never leaves; an accepted one gets Meta's media id."""
    from flowapp.whatsapp.client import GraphClient

    uploads = []
    real_upload = GraphClient.upload_media
    monkeypatch.setattr(
        GraphClient, "upload_media", lambda self, *args: uploads.append(args[2]) or real_upload(self, *args)
    )
    for content, mime in ((b"x" * (6 * 1024 * 1024), "image/png"), (b"MZ", "application/x-msdownload")):
        with pytest.raises(media_proxy.MediaError) as refused:
            media_proxy.upload(content, mime, "refused")
        assert refused.value.status == 422
    assert uploads == []
    kind, media_id = media_proxy.upload(png_image(), "image/png", "photo.png")
    assert kind == "image" and media_id.startswith("sandbox-") and uploads == ["photo.png"]
    assert media_proxy.kind_for("application/pdf") == "document"
    assert media_proxy.kind_for("image/webp") == "sticker"
    assert media_proxy.kind_for("audio/ogg; codecs=opus") == "audio"


def test_cache_survives_without_redis(image_message, monkeypatch):
    """With Redis down the proxy still answers, just without caching."""
    from redis.exceptions import ConnectionError as RedisDown

    class Dead:
        def hgetall(self, _key):
            raise RedisDown("down")

        def pipeline(self):
            raise RedisDown("down")

    monkeypatch.setattr(media_proxy, "get_redis", lambda: Dead())
    assert media_proxy.fetch(image_message).content == png_image()


def test_outbound_upload_size_is_known_without_meta(session):
    """For our own uploads the size recorded at upload time is used."""
    conversation = factories.make_conversation(factories.make_contact())
    message = Message(
        conversation=conversation,
        direction="out",
        type="video",
        payload={"request": {"video": {"id": "m1"}}, "upload": {"size": 42, "mime_type": "video/mp4"}},
    )
    assert media_proxy.info(message) == {"mime_type": "video/mp4", "size": 42}

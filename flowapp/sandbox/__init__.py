"""A mock of Meta's Graph API for WhatsApp, so that Flowapp works before anyone has a Meta account.

It answers sends, media, templates and the phone-number profile the way Meta does (same shapes, same
error envelopes), posts signed status webhooks back to Flowapp, plays customers writing in, and
offers a /_mock control API for tests and benchmarks (faults, configuration, what was sent, stats).
It is plain WSGI: no Flask, no database, no queue.

    python -m flowapp.sandbox --port 5001 --webhook-url http://127.0.0.1:5000/webhooks/whatsapp
"""

from flowapp.sandbox.app import MockGraphAPI
from flowapp.sandbox.cli import main
from flowapp.sandbox.config import MockConfig
from flowapp.sandbox.server import MockServer

__all__ = ["MockConfig", "MockGraphAPI", "MockServer", "main"]

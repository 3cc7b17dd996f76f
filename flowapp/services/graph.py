"""The Graph API client for this installation, and the "sending paused" state.

In sandbox mode (no WHATSAPP_TOKEN) the client talks to the built-in mock at GRAPH_API_URL with a
placeholder token; everything else is identical, so the sandbox exercises the real code path.
Credentials entered in Settings win over the environment's (services/credentials.py): the client is
rebuilt when they change.
"""

from __future__ import annotations

import logging

from flask import current_app

from flowapp import transactions
from flowapp.models import utcnow
from flowapp.services import credentials, settings
from flowapp.whatsapp.client import GraphClient
from flowapp.whatsapp.errors import GraphError

log = logging.getLogger("flowapp.whatsapp.sending")

SANDBOX_TOKEN = "sandbox-token"
PAUSE_KEY = "sending_paused"


def client() -> GraphClient:
    """The app's shared client (thread-safe: one HTTP session per thread inside)."""
    app = current_app._get_current_object()
    credentials.apply(app)  # cheap unless due: at most one read every few seconds
    cached = app.extensions.get("flowapp_graph")
    if cached is None:
        config = app.config
        cached = GraphClient(
            config.get("WHATSAPP_TOKEN") or SANDBOX_TOKEN,
            config.get("PHONE_NUMBER_ID") or "sandbox",
            business_id=config.get("BUSINESS_ID") or "sandbox",
            base_url=config["GRAPH_API_URL"],
            version=config["GRAPH_API_VERSION"],
            before_request=transactions.check_outbound,
        )
        app.extensions["flowapp_graph"] = cached
    return cached


def paused() -> dict | None:
    """Why sending is paused ({"reason", "since", "code"}), or None while it runs."""
    return settings.get(PAUSE_KEY)


def pause(error: GraphError) -> None:
    """Stop all sending until a token works again (code 190). Queued messages stay queued."""
    if paused() is None:
        log.error("sending paused: Meta refused the access token (%s)", error.code)
    settings.put(PAUSE_KEY, {"reason": error.reason, "code": error.code, "since": utcnow().isoformat()})


def resume() -> None:
    settings.delete(PAUSE_KEY)


def profile() -> dict:
    """The number's profile as Meta has it (display number, verified name, quality, throughput)."""
    graph_client = client()
    transactions.before_network("asking Meta for the number's profile")
    return graph_client.phone_number()


def probe() -> bool:
    """While paused, ask Meta whether the token works again; resume if it does. True when sending runs."""
    if paused() is None:
        return True
    try:
        profile()
    except GraphError as exc:
        log.info("token still refused (%s); sending stays paused", exc.code)
        return False
    resume()
    log.warning("the access token works again; sending resumed")
    return True

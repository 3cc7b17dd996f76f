"""The web layer: blueprints, request hooks, error pages. Nothing below this package imports it."""

from __future__ import annotations

from flask import Flask

from flowapp.web import (
    admin,
    analytics,
    api,
    auth,
    automations,
    contacts,
    errors,
    health,
    inbox,
    knowledge,
    main,
    metrics,
    requests_log,
    sandbox,
    security,
    settings,
    webhook_fastpath,
    webhooks,
)
from flowapp.web.sessions import SessionInterface
from flowapp.web.strict_json import StrictJSONProvider, raise_body_limit, refuse_bad_form_text

NAV_ITEMS = (
    ("automations.index", "Automations", "⤳"),
    ("inbox.index", "Inbox", "✉"),
    ("contacts.index", "Contacts", "☺"),
    ("knowledge.index", "Knowledge", "❖"),
    ("analytics.index", "Analytics", "▤"),
    ("settings.index", "Settings", "⚙"),
)


def register_guards(app: Flask) -> None:
    """What must run before every other hook: request ids, timing and headers, then the login check."""
    app.wsgi_app = requests_log.RequestMiddleware(
        webhook_fastpath.WebhookFastPath(app, app.wsgi_app),
        security.SECURITY_HEADERS,
        app.config["SLOW_REQUEST_MS"],
    )
    app.before_request(raise_body_limit)
    security.init_app(app)
    app.session_interface = SessionInterface()


def register_web(app: Flask) -> None:
    """Register every blueprint, error handler and template helper on `app`."""
    app.json = StrictJSONProvider(app)
    app.before_request(refuse_bad_form_text)
    errors.init_app(app)
    modules = (
        auth,
        health,
        main,
        webhooks,
        automations,
        inbox,
        contacts,
        knowledge,
        analytics,
        settings,
        sandbox,
        metrics,
    )
    for module in modules:
        app.register_blueprint(module.bp)
    api.init_app(app)
    admin.init_app(app)
    settings.init_app(app)

    @app.context_processor
    def shell_context():
        return {"nav_items": NAV_ITEMS, "sending_paused": _paused}


def _paused() -> dict | None:
    """Why sending is paused, for the alert on every page (None while sending runs)."""
    from flask_login import current_user

    from flowapp.services import graph

    return graph.paused() if current_user.is_authenticated else None

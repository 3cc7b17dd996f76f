"""The web layer: blueprints, request hooks, error pages. Nothing below this package imports it."""

from __future__ import annotations

from flask import Flask

from flowapp.web import (
    analytics,
    auth,
    automations,
    errors,
    health,
    inbox,
    main,
    requests_log,
    security,
    settings,
    webhooks,
)

NAV_ITEMS = (
    ("automations.index", "Automations", "⤳"),
    ("inbox.index", "Inbox", "✉"),
    ("analytics.index", "Analytics", "▤"),
    ("settings.index", "Settings", "⚙"),
)


def register_guards(app: Flask) -> None:
    """Hooks that must run before every other: request ids and timing, then the login check."""
    requests_log.init_app(app)
    security.init_app(app)


def register_web(app: Flask) -> None:
    """Register every blueprint, error handler and template helper on `app`."""
    errors.init_app(app)
    for module in (auth, health, main, webhooks, automations, inbox, analytics, settings):
        app.register_blueprint(module.bp)

    @app.context_processor
    def shell_context():
        return {"nav_items": NAV_ITEMS, "url_map_endpoints": app.view_functions}

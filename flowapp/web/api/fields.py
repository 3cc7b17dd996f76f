"""Custom contact fields: the declarations made in Settings, so clients know each field's type."""

from __future__ import annotations

from flask import jsonify

from flowapp.services import contact_fields
from flowapp.web.api import bp
from flowapp.web.api import serialize as show


@bp.get("/fields")
def list_fields():
    """Every declared field (key, label, type, choices), by label; at most 50, so not paginated."""
    return jsonify({"data": [show.contact_field(field) for field in contact_fields.listing()]})

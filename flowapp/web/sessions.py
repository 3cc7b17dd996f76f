"""Flask's signed-cookie sessions, minus work nobody needs.

Meta's webhook POSTs never carry a session, so none is opened or saved for them; and the signing
serializer is built once per app instead of on every request.
"""

from __future__ import annotations

import weakref

from flask.sessions import SecureCookieSessionInterface

NO_SESSION_PATHS = frozenset({"/webhooks/whatsapp"})


class SessionInterface(SecureCookieSessionInterface):
    def __init__(self):
        self._serializers = weakref.WeakKeyDictionary()

    def get_signing_serializer(self, app):
        serializer = self._serializers.get(app)
        if serializer is None:
            serializer = self._serializers[app] = super().get_signing_serializer(app)
        return serializer

    def open_session(self, app, request):
        if request.path in NO_SESSION_PATHS and request.method == "POST":
            return self.make_null_session(app)
        return super().open_session(app, request)

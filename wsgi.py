"""The WSGI entry point (gunicorn wsgi:app, flask --app wsgi). The only module that builds an app."""

import sys

from flowapp import ConfigError, create_app

try:
    app = create_app()
except ConfigError as exc:
    # One clear line instead of a traceback: the operator needs the variable's name, nothing else.
    sys.exit(f"Flowapp cannot start: {exc}")

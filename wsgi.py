"""The WSGI entry point (gunicorn wsgi:app, flask --app wsgi). The only module that builds an app."""

import sys

from flowapp import ConfigError, create_app

# Exit status 3 is gunicorn's "worker failed to boot": its master then stops with our line instead
# of starting workers that fail the same way, forever. Any other command sees a non-zero exit too.
BOOT_ERROR = 3

try:
    app = create_app()
except ConfigError as exc:
    # One clear line instead of a traceback: the operator needs the variable's name, nothing else.
    print(f"Flowapp cannot start: {exc}", file=sys.stderr)
    sys.exit(BOOT_ERROR)

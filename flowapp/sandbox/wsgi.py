"""The mock as a WSGI application for gunicorn, configured from the environment.

    gunicorn -w 1 --threads 16 'flowapp.sandbox.wsgi:create_from_env()'

Use ONE worker process: the mock's state (messages, faults, statistics, status queue) lives in the
process's memory, so several workers would each see only part of the traffic.
"""

from __future__ import annotations

from flowapp.sandbox.app import MockGraphAPI
from flowapp.sandbox.config import config_from_env


def create_from_env() -> MockGraphAPI:
    """A MockGraphAPI configured by SANDBOX_WEBHOOK_URL, APP_SECRET, WHATSAPP_TOKEN, PHONE_NUMBER_ID
    and BUSINESS_ID."""
    return MockGraphAPI(config_from_env())

"""`python -m flowapp.sandbox`: the mock Graph API as a process of its own, stopped by SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from flowapp.sandbox.app import MockGraphAPI
from flowapp.sandbox.config import MockConfig, config_from_env
from flowapp.sandbox.server import make_server


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options; the environment supplies what they leave out (see config_from_env)."""
    env = config_from_env()
    parser = argparse.ArgumentParser(
        prog="python -m flowapp.sandbox", description="Mock of Meta's Graph API."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001)
    parser.add_argument(
        "--webhook-url", default=env.webhook_url, help="Flowapp's webhook (SANDBOX_WEBHOOK_URL)"
    )
    parser.add_argument("--app-secret", default=env.app_secret, help="signs webhooks (APP_SECRET)")
    parser.add_argument(
        "--token", default=env.token, help="required Bearer token; unset: any (WHATSAPP_TOKEN)"
    )
    parser.add_argument("--phone-number-id", default=env.phone_number_id, help="unset: any (PHONE_NUMBER_ID)")
    parser.add_argument("--waba-id", default=env.waba_id, help="business account id (BUSINESS_ID)")
    parser.add_argument("--no-statuses", action="store_true", help="send no status webhooks")
    parser.add_argument("--no-validate", action="store_true", help="skip the contract check of send bodies")
    parser.add_argument("--no-record", action="store_true", help="count sends but keep no bodies")
    parser.add_argument(
        "--threads", type=int, default=0, help="serve at most N connections at once (0: no limit)"
    )
    parser.add_argument(
        "--werkzeug", action="store_true", help="use werkzeug's server (slower: no keep-alive)"
    )
    return parser.parse_args(argv)


def build_config(args: argparse.Namespace) -> MockConfig:
    """The MockConfig the options describe."""
    return MockConfig(
        token=args.token or None,
        phone_number_id=args.phone_number_id or None,
        waba_id=args.waba_id,
        webhook_url=args.webhook_url or None,
        app_secret=args.app_secret or None,
        statuses=not args.no_statuses,
        validate=not args.no_validate,
        record=not args.no_record,
    )


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM or SIGINT, then stop cleanly; returns the exit status."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    app = MockGraphAPI(build_config(args))
    engine = "werkzeug" if args.werkzeug else "keepalive"
    server = make_server(app, args.host, args.port, args.threads, engine)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    # serve_forever runs on a thread so that the signal handler only has to set an event:
    # shutdown() called from the thread running serve_forever would wait for itself.
    serving = threading.Thread(target=server.serve_forever, name="sandbox-server", daemon=True)
    serving.start()
    webhooks = app.config.webhook_url or "nowhere (no --webhook-url)"
    print(f"Sandbox Graph API on http://{args.host}:{server.server_port}, webhooks to {webhooks}", flush=True)
    stop.wait()
    app.close()
    server.shutdown()
    serving.join()
    server.server_close()
    print("Sandbox Graph API stopped.", file=sys.stderr, flush=True)
    return 0

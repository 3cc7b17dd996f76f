"""python -m flowapp.sandbox --port 5001 --webhook-url http://127.0.0.1:5000/webhooks/whatsapp ..."""

from flowapp.sandbox.cli import main

raise SystemExit(main())

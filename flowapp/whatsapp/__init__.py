"""Meta's WhatsApp Cloud API, in and out: signatures, webhook parsing, send payloads, the Graph client
and Meta's error codes. Knows nothing of Flask requests or the database."""

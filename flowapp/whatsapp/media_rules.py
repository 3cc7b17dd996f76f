"""Which files WhatsApp accepts as media, and the LimitError every payload check raises.

From CLOUD_API.md section 6 (Meta's "Supported media types" table). A type or size outside these
rules fails at Meta with 131053 after the upload; checking first lets the inbox refuse the file.
Re-exported by payloads.py, which is where callers import them from.
"""

from __future__ import annotations

MB = 1024 * 1024
KB = 1024

MEDIA_RULES: dict[str, dict] = {
    "audio": {
        # ogg is accepted with the opus codec only (mono); Meta labels it "audio/ogg; codecs=opus".
        "mime_types": frozenset({"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"}),
        "max_bytes": 16 * MB,
    },
    "document": {
        "mime_types": frozenset(
            {
                "text/plain",
                "application/pdf",
                "application/msword",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "application/vnd.ms-excel",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "application/vnd.ms-powerpoint",
                "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            }
        ),
        "max_bytes": 100 * MB,
    },
    "image": {"mime_types": frozenset({"image/jpeg", "image/png"}), "max_bytes": 5 * MB},
    "sticker": {
        "mime_types": frozenset({"image/webp"}),
        "max_bytes": 100 * KB,
        "max_bytes_animated": 500 * KB,
    },
    "video": {"mime_types": frozenset({"video/mp4", "video/3gpp"}), "max_bytes": 16 * MB},
}


class LimitError(ValueError):
    """A message or file breaks one of WhatsApp's limits; `field` names exactly what to fix."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def check_media_file(kind: str, mime_type: str, size: int, *, animated: bool = False) -> None:
    """Raise LimitError("media", ...) unless WhatsApp accepts a `kind` file of this type and size."""
    rules = MEDIA_RULES.get(kind)
    if rules is None:
        raise LimitError("media", f"unknown media kind {kind!r}; use one of {', '.join(sorted(MEDIA_RULES))}")
    base = (mime_type or "").split(";", 1)[0].strip().lower()
    if base not in rules["mime_types"]:
        allowed = ", ".join(sorted(rules["mime_types"]))
        raise LimitError("media", f"a {kind} must be one of {allowed}, not {mime_type or 'unknown'}")
    if base == "audio/ogg" and "codecs" in mime_type.lower() and "opus" not in mime_type.lower():
        raise LimitError("media", "ogg audio must use the opus codec")
    limit = rules["max_bytes_animated"] if animated and "max_bytes_animated" in rules else rules["max_bytes"]
    if size <= 0:
        raise LimitError("media", "the file is empty")
    if size > limit:
        raise LimitError("media", f"a {kind} can be at most {_human(limit)}, this file is {_human(size)}")


def _human(size: int) -> str:
    if size >= MB:
        return f"{size / MB:.1f} MB"
    return f"{size / KB:.0f} KB"

"""Opt-out and opt-in: keywords the customer writes, changes by people and programs, and their history.

An opted-out contact is in no audience (broadcasts, schedules, the API's execute) and receives no
MARKETING template; utility and authentication templates, and replies while the conversation is
open, still go (services/outbound.py enforces the template rule). Every change of the flag goes
through set_opted_out(), which keeps a ConsentChange row.

Keywords are matched against the whole message, trimmed, ignoring case and accents: "Stop" and
"arrêt" opt out, "please stop calling" does not.
"""

from __future__ import annotations

import logging
import unicodedata

from sqlalchemy import func, select

from flowapp.extensions import db
from flowapp.models import ConsentChange, Contact, Message, User
from flowapp.services import settings
from flowapp.services.inbound import Arrival
from flowapp.services.outbound import SendRefused, queue_message

log = logging.getLogger("flowapp.consent")

# Words that are also everyday answers to a bot ("cancel", "end", "yes") are left out on purpose: a
# customer answering a question must not change their consent by accident. Settings can add them.
DEFAULT_OPT_OUT_KEYWORDS = (
    "STOP", "STOP ALL", "STOPALL", "UNSUBSCRIBE", "OPT OUT", "OPTOUT",  # English
    "STOPP", "ABMELDEN", "ABBESTELLEN",  # German, Scandinavian
    "ARRÊT", "ARRÊTER", "DÉSABONNER", "DÉSINSCRIRE",  # French
    "PARAR", "PARE", "BAJA", "CANCELAR", "DESUSCRIBIR", "SAIR", "DESCADASTRAR",  # Spanish, Portuguese
    "BASTA", "DISISCRIVITI",  # Italian
)  # fmt: skip
DEFAULT_OPT_IN_KEYWORDS = (
    "START", "SUBSCRIBE", "UNSTOP", "OPT IN",
    "ANMELDEN", "DÉMARRER", "ABONNER", "ALTA", "INICIAR", "COMEÇAR", "ISCRIVITI",
)  # fmt: skip
DEFAULT_OPT_OUT_REPLY = (
    "You will no longer receive marketing messages from us. Reply START to subscribe again."
)
DEFAULT_OPT_IN_REPLY = "You are subscribed again. Reply STOP at any time to stop marketing messages."
# Characters around a keyword that do not change what the customer meant ("Stop!", "¡Baja!").
_TRIM = " \t\r\n.!¡?¿,;:\"'"
MAX_KEYWORDS = 100
SETTING = "consent"


def normalize(text: str) -> str:
    """Trimmed, inner spaces collapsed, upper case, accents removed: the form keywords compare in."""
    decomposed = unicodedata.normalize("NFKD", " ".join((text or "").split()).strip(_TRIM))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).upper()


def current() -> dict:
    """The keywords and confirmations as they apply now: Settings' values, else the defaults.

    They are one setting, read through the process cache, so a customer's message costs at most one
    statement for them every few seconds per worker (see docs/pipeline.md, "Cost per event")."""
    stored = settings.cached(SETTING) or {}
    return {
        "opt_out_keywords": stored.get("opt_out_keywords") or list(DEFAULT_OPT_OUT_KEYWORDS),
        # May be empty (opting back in is then for people only); opt-out keywords never are.
        "opt_in_keywords": stored.get("opt_in_keywords", list(DEFAULT_OPT_IN_KEYWORDS)),
        "opt_out_reply": stored.get("opt_out_reply", DEFAULT_OPT_OUT_REPLY),
        "opt_in_reply": stored.get("opt_in_reply", DEFAULT_OPT_IN_REPLY),
    }


def save(values: dict) -> None:
    """Store the keywords and confirmations (flushed): {"opt_out_keywords": [...], "opt_in_keywords":
    [...], "opt_out_reply": str, "opt_in_reply": str}."""
    settings.put(SETTING, values)


def keyword_kind(text: str | None, values: dict | None = None) -> str | None:
    """ "out" or "in" when the whole text is an opt-out or opt-in keyword, else None."""
    if not text or len(text) > 100:  # no keyword is long; skip normalizing long messages
        return None
    values = values or current()
    word = normalize(text)
    if word in {normalize(k) for k in values["opt_out_keywords"]}:
        return "out"
    if word in {normalize(k) for k in values["opt_in_keywords"]}:
        return "in"
    return None


def set_opted_out(
    contact: Contact,
    opted_out: bool,
    *,
    source: str,
    user_id: int | None = None,
    message: Message | None = None,
    text: str | None = None,
) -> ConsentChange | None:
    """Change the contact's opt-out and record who did it (flushed). None when nothing changed."""
    if text is None and message is not None:
        text = message.text
    if bool(contact.opted_out) == opted_out:
        return None
    contact.opted_out = opted_out
    change = ConsentChange(
        contact_id=contact.id,
        opted_out=opted_out,
        source=source,
        user_id=user_id,
        message_id=message.id if message else None,
        text=(text or "")[:200] or None,
    )
    db.session.add(change)
    db.session.flush()
    log.info("contact %s opted %s (%s)", contact.id, "out" if opted_out else "in", source)
    return change


def handle_keyword(arrival: Arrival) -> bool:
    """Opt the sender out (or back in) when their message is a keyword, and confirm it. True when
    the message was a keyword, so no automation sees it.

    An opt-in keyword counts only for a contact who is opted out: "START" or "YES" from anyone else
    is an ordinary message that automations may answer.
    """
    message, contact = arrival.message, arrival.contact
    if message is None or message.type != "text":
        return False
    values = current()
    kind = keyword_kind(message.text, values)
    if kind is None or (kind == "in" and not contact.opted_out):
        return False
    set_opted_out(contact, kind == "out", source="keyword", message=message)
    reply = (values[f"opt_{kind}_reply"] or "").strip()
    if reply:
        _confirm(arrival, reply)
    return True


def _confirm(arrival: Arrival, reply: str) -> None:
    try:
        # The customer has just written, so the 24-hour window is open: free text is allowed.
        queue_message(arrival.conversation, {"type": "text", "text": reply}, author_type="system")
    except SendRefused as exc:  # a confirmation never blocks the opt-out itself
        log.warning("contact %s: confirmation not sent: %s", arrival.contact.id, exc.reason)


def history(contact: Contact, limit: int = 20) -> list[tuple[ConsentChange, str | None]]:
    """The contact's opt-out changes, newest first, each with the name of the person who made it."""
    query = (
        select(ConsentChange, func.coalesce(func.nullif(User.name, ""), User.email))
        .outerjoin(User, User.id == ConsentChange.user_id)
        .where(ConsentChange.contact_id == contact.id)
        .order_by(ConsentChange.id.desc())
        .limit(limit)
    )
    return [(change, name) for change, name in db.session.execute(query)]


def stopped_marketing(wa_ids: list[str]) -> int:
    """Opt out the customers Meta says stopped this business's marketing messages (error 131050),
    each locked as its own events are, with the reason in their history (flushed). Returns how many
    changed; a number unknown here, or already opted out, changes nothing."""
    changed = 0
    for wa_id in sorted(set(wa_ids)):
        contact_id = db.session.scalar(select(Contact.id).where(Contact.wa_id == wa_id))
        if contact_id is None:
            continue
        contact = db.session.get(Contact, contact_id, with_for_update=True, populate_existing=True)
        reason = "WhatsApp: the customer stopped marketing messages (131050)"
        if set_opted_out(contact, True, source="whatsapp", text=reason) is not None:
            changed += 1
    return changed


def parse_keywords(raw: str) -> list[str]:
    """Keywords from a Settings textarea: one per line or comma separated, blanks and repeats dropped."""
    seen, words = set(), []
    for part in (raw or "").replace(",", "\n").splitlines():
        word = " ".join(part.split())
        if word and normalize(word) not in seen:
            seen.add(normalize(word))
            words.append(word)
    return words

"""Every model, importable from one place (and seen by Alembic's autogenerate)."""

from flowapp.models.ai_call import AI_CALL_STATUSES, AICall
from flowapp.models.analytics import AnalyticsCounter
from flowapp.models.audit import AuditEntry
from flowapp.models.automation import AUTOMATION_STATUSES, Automation, AutomationVersion
from flowapp.models.base import Base, JSONType, UTCDateTime, utcnow
from flowapp.models.consent import CONSENT_SOURCES, ConsentChange
from flowapp.models.contact import Contact
from flowapp.models.contact_field import FIELD_TYPES, ContactField
from flowapp.models.conversation import (
    CONVERSATION_STATUSES,
    CannedResponse,
    Conversation,
    ConversationRead,
)
from flowapp.models.group import GROUP_KINDS, ContactGroup, GroupMember
from flowapp.models.knowledge import (
    SOURCE_KINDS,
    SOURCE_STATUSES,
    KnowledgeBase,
    KnowledgeChunk,
    KnowledgeSource,
)
from flowapp.models.message import STATUS_ORDER, Message, StatusEvent
from flowapp.models.outbox import OutboxEntry
from flowapp.models.run import (
    ACTIVE_RUN_STATUSES,
    RUN_STATUSES,
    AutomationLog,
    AutomationRun,
    Broadcast,
)
from flowapp.models.setting import Setting
from flowapp.models.template import MessageTemplate
from flowapp.models.user import ROLES, ApiToken, User
from flowapp.models.webhook_event import WebhookEvent

__all__ = [
    "AI_CALL_STATUSES",
    "AICall",
    "AuditEntry",
    "ACTIVE_RUN_STATUSES",
    "AUTOMATION_STATUSES",
    "CONSENT_SOURCES",
    "CONVERSATION_STATUSES",
    "FIELD_TYPES",
    "GROUP_KINDS",
    "ROLES",
    "RUN_STATUSES",
    "STATUS_ORDER",
    "AnalyticsCounter",
    "ApiToken",
    "Automation",
    "AutomationLog",
    "AutomationRun",
    "AutomationVersion",
    "Base",
    "Broadcast",
    "CannedResponse",
    "ConsentChange",
    "Contact",
    "ContactField",
    "ContactGroup",
    "Conversation",
    "ConversationRead",
    "JSONType",
    "KnowledgeBase",
    "KnowledgeChunk",
    "KnowledgeSource",
    "SOURCE_KINDS",
    "SOURCE_STATUSES",
    "GroupMember",
    "Message",
    "MessageTemplate",
    "OutboxEntry",
    "Setting",
    "StatusEvent",
    "UTCDateTime",
    "User",
    "WebhookEvent",
    "utcnow",
]

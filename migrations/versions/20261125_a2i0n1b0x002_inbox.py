"""inbox: reserved for the inbox work (filled by that change)

Revision ID: a2i0n1b0x002
Revises: a1e0d1t0r001
Create Date: 2026-11-25 20:30:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import flowapp.models.base  # noqa: F401

revision = "a2i0n1b0x002"
down_revision = "a1e0d1t0r001"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass

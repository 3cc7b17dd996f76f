"""api and settings: reserved for the api and settings work (filled by that change)

Revision ID: a3a0p1i00003
Revises: a2i0n1b0x002
Create Date: 2026-11-25 20:30:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import flowapp.models.base  # noqa: F401

revision = "a3a0p1i00003"
down_revision = "a2i0n1b0x002"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass

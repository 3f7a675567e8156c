"""a participant chooses whether their constituency is shown with their views (off by default)

Revision ID: 0009_show_constituency
Revises: 0008_word_search
Create Date: 2026-12-01 23:20:00

Profiles are used in aggregate only: until a participant ticks "Show my constituency with my
views" in their profile, pages and the API show no constituency (or region) next to their name.
Everyone starts with it off, including existing accounts.
"""
import sqlalchemy as sa
from alembic import op


revision = '0009_show_constituency'
down_revision = '0008_word_search'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('show_constituency', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('show_constituency')

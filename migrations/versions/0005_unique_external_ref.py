"""one submission per external reference in a consultation (offline rows, Pol.is comments)

Revision ID: 0005_unique_external_ref
Revises: 0004_organisations
Create Date: 2026-11-26 05:30:00

The import services already skip references they find, but two imports running at once could
both miss the other's rows; the database now refuses the second copy.
"""
from alembic import op


revision = '0005_unique_external_ref'
down_revision = '0004_organisations'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('uq_submissions_external_ref', 'submissions', ['consultation_id', 'external_ref'], unique=True)


def downgrade():
    op.drop_index('uq_submissions_external_ref', table_name='submissions')

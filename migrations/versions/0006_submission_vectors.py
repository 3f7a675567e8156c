"""each submission's sentence embedding, stored once (themes, placement, search read it)

Revision ID: 0006_submission_vectors
Revises: 0005_unique_external_ref
Create Date: 2026-12-01 22:50:00

Existing views have no vector: the first theme refit (or `agora embeddings backfill`) embeds them.
"""
import sqlalchemy as sa
from alembic import op


revision = '0006_submission_vectors'
down_revision = '0005_unique_external_ref'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'submission_vectors',
        sa.Column('submission_id', sa.Integer(), nullable=False),
        sa.Column('consultation_id', sa.Integer(), nullable=False),
        sa.Column('model', sa.String(length=40), nullable=False),
        sa.Column('vector', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['submission_id'], ['submissions.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['consultation_id'], ['consultations.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('submission_id'),
    )
    with op.batch_alter_table('submission_vectors', schema=None) as batch_op:
        batch_op.create_index('ix_submission_vectors_consultation_id', ['consultation_id'], unique=False)


def downgrade():
    with op.batch_alter_table('submission_vectors', schema=None) as batch_op:
        batch_op.drop_index('ix_submission_vectors_consultation_id')
    op.drop_table('submission_vectors')

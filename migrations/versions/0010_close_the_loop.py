"""forum responses, notifications and the email outbox; audit entries without a submission

Revision ID: 0010_close_the_loop
Revises: 0009_show_constituency
Create Date: 2026-12-02 02:23:36.910928

Closing the loop (issue #19): the secretariat records what a forum did with a report
(forum_responses); participants are told what happened to their input (notifications), by email
only if they chose it (notification_preferences, notification_settings), through an outbox sent
by a background job (outgoing_emails). The audit chain also records the secretariat's forum
responses, which concern no submission: moderation_decisions.submission_id becomes nullable.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0010_close_the_loop'
down_revision = '0009_show_constituency'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('notification_preferences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notification_preferences_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_preferences')),
    sa.UniqueConstraint('user_id', 'kind', name='uq_notification_preference')
    )
    with op.batch_alter_table('notification_preferences', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_preferences_user_id'), ['user_id'], unique=False)

    op.create_table('notification_settings',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('digest', sa.Boolean(), nullable=False),
    sa.Column('digest_sent_at', sa.DateTime(), nullable=True),
    sa.Column('unsubscribed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notification_settings_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_notification_settings'))
    )
    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('params', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('read_at', sa.DateTime(), nullable=True),
    sa.Column('email_state', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_user_read', ['user_id', 'read_at'], unique=False)

    op.create_table('outgoing_emails',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('to_address', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('text_body', sa.Text(), nullable=False),
    sa.Column('html_body', sa.Text(), nullable=False),
    sa.Column('unsubscribe_url', sa.String(length=500), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_outgoing_emails_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outgoing_emails'))
    )
    with op.batch_alter_table('outgoing_emails', schema=None) as batch_op:
        batch_op.create_index('ix_outgoing_emails_due', ['state', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outgoing_emails_user_id'), ['user_id'], unique=False)

    op.create_table('forum_responses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('forum_id', sa.Integer(), nullable=True),
    sa.Column('decision', sa.String(length=16), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=False),
    sa.Column('document', sa.String(length=120), nullable=True),
    sa.Column('url', sa.String(length=500), nullable=True),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('text_language', sa.String(length=8), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['forum_id'], ['forums.id'], name=op.f('fk_forum_responses_forum_id_forums'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_forum_responses_recorded_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_forum_responses_report_id_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_forum_responses'))
    )
    with op.batch_alter_table('forum_responses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_forum_responses_report_id'), ['report_id'], unique=False)

    with op.batch_alter_table('moderation_decisions', schema=None) as batch_op:
        batch_op.alter_column('submission_id',
               existing_type=sa.INTEGER(),
               nullable=True)


def downgrade():
    # the secretariat's entries about no submission cannot stay in the older schema
    op.execute("DELETE FROM moderation_decisions WHERE submission_id IS NULL")
    with op.batch_alter_table('moderation_decisions', schema=None) as batch_op:
        batch_op.alter_column('submission_id',
               existing_type=sa.INTEGER(),
               nullable=False)

    with op.batch_alter_table('forum_responses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_forum_responses_report_id'))

    op.drop_table('forum_responses')
    with op.batch_alter_table('outgoing_emails', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outgoing_emails_user_id'))
        batch_op.drop_index('ix_outgoing_emails_due')

    op.drop_table('outgoing_emails')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_user_read')

    op.drop_table('notifications')
    op.drop_table('notification_settings')
    with op.batch_alter_table('notification_preferences', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_preferences_user_id'))

    op.drop_table('notification_preferences')

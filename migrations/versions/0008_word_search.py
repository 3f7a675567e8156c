"""word search over submissions: SQLite FTS5 (trigram tokenizer) embedded, a GIN index scaled out

Revision ID: 0008_word_search
Revises: 0007_user_sessions
Create Date: 2026-12-01 23:10:00

SQLite: a separate FTS5 table keyed by the submission id, filled by the search service from the
submissions stored since its last sync (no triggers: batch migrations rebuild the submissions
table, which would drop them silently). The trigram tokenizer matches any script, Chinese and
Arabic included. PostgreSQL: an expression index for ``to_tsvector('simple', text)``.
"""
from alembic import op


revision = '0008_word_search'
down_revision = '0007_user_sessions'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute("CREATE VIRTUAL TABLE submissions_fts USING fts5(text, tokenize='trigram')")
        op.execute("INSERT INTO submissions_fts(rowid, text) SELECT id, text FROM submissions")
    else:
        op.execute("CREATE INDEX ix_submissions_text_search ON submissions USING gin (to_tsvector('simple', text))")


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE submissions_fts")
    else:
        op.execute("DROP INDEX ix_submissions_text_search")

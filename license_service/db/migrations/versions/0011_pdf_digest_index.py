"""pdf digest index: the verifier finds the license an uploaded PDF was issued as by its SHA-256

Every license version has stored the SHA-256 of its PDF as issued (``pdf_sha256``) since 0001; this
index lets ``POST /api/v1/verify/pdf`` look a file up by it (the fast path for issued copies).
Not unique: the column is briefly empty while a version is being issued.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('license_versions') as batch:
        batch.create_index(batch.f('ix_license_versions_pdf_sha256'), ['pdf_sha256'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('license_versions') as batch:
        batch.drop_index(batch.f('ix_license_versions_pdf_sha256'))

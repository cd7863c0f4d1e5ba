"""follow-up jobs, lead timeline, consent, contacts, call summaries (issue 14)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 11:44:25.341977
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "contact_consent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("address_key", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("keyword", sa.String(length=32), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_consent")),
        sa.UniqueConstraint(
            "channel", "address_key", name=op.f("uq_contact_consent_channel_address_key")
        ),
    )
    op.create_table(
        "sms_threads",
        sa.Column("address_key", sa.String(length=200), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("address_key", name=op.f("pk_sms_threads")),
    )
    op.create_table(
        "call_summaries",
        sa.Column("call_id", sa.String(length=36), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("done", sa.String(length=500), nullable=False),
        sa.Column("pending", sa.String(length=500), nullable=False),
        sa.Column("owner_role", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["calls.id"],
            name=op.f("fk_call_summaries_call_id_calls"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_call_summaries_lead_id_leads")
        ),
        sa.PrimaryKeyConstraint("call_id", name=op.f("pk_call_summaries")),
    )
    with op.batch_alter_table("call_summaries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_call_summaries_lead_id"), ["lead_id"], unique=False)

    op.create_table(
        "lead_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("value_key", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["leads.id"],
            name=op.f("fk_lead_contacts_lead_id_leads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_contacts")),
        sa.UniqueConstraint(
            "kind", "value_key", "lead_id", name=op.f("uq_lead_contacts_kind_value_key_lead_id")
        ),
    )
    with op.batch_alter_table("lead_contacts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_lead_contacts_kind_value_key"), ["kind", "value_key"], unique=False
        )

    op.create_table(
        "outreach_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("call_id", sa.String(length=36), nullable=True),
        sa.Column("address", sa.String(length=200), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("outcome", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_outreach_jobs_appointment_id_appointments"),
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_outreach_jobs_lead_id_leads")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outreach_jobs")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_outreach_jobs_dedupe_key")),
    )
    with op.batch_alter_table("outreach_jobs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outreach_jobs_appointment_id"), ["appointment_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_outreach_jobs_call_id"), ["call_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_outreach_jobs_lead_id"), ["lead_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_outreach_jobs_status_due_at"), ["status", "due_at"], unique=False
        )

    op.create_table(
        "lead_timeline",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=True),
        sa.Column("call_id", sa.String(length=36), nullable=True),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("provider_message_id", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"], ["outreach_jobs.id"], name=op.f("fk_lead_timeline_job_id_outreach_jobs")
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["leads.id"],
            name=op.f("fk_lead_timeline_lead_id_leads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_timeline")),
        sa.UniqueConstraint(
            "channel",
            "provider_message_id",
            name=op.f("uq_lead_timeline_channel_provider_message_id"),
        ),
    )
    with op.batch_alter_table("lead_timeline", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_lead_timeline_address_at"), ["address", "at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_lead_timeline_lead_id_at"), ["lead_id", "at"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("lead_timeline", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lead_timeline_lead_id_at"))
        batch_op.drop_index(batch_op.f("ix_lead_timeline_address_at"))

    op.drop_table("lead_timeline")
    with op.batch_alter_table("outreach_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outreach_jobs_status_due_at"))
        batch_op.drop_index(batch_op.f("ix_outreach_jobs_lead_id"))
        batch_op.drop_index(batch_op.f("ix_outreach_jobs_call_id"))
        batch_op.drop_index(batch_op.f("ix_outreach_jobs_appointment_id"))

    op.drop_table("outreach_jobs")
    with op.batch_alter_table("lead_contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lead_contacts_kind_value_key"))

    op.drop_table("lead_contacts")
    with op.batch_alter_table("call_summaries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_summaries_lead_id"))

    op.drop_table("call_summaries")
    op.drop_table("sms_threads")
    op.drop_table("contact_consent")

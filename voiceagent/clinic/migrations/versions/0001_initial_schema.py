"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 14:06:52.646544
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=True),
        sa.Column("call_id", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_call_id"), ["call_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_audit_log_entity_entity_id"), ["entity", "entity_id"], unique=False
        )

    op.create_table(
        "holds",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("appointment_type_id", sa.String(length=64), nullable=False),
        sa.Column("provider_id", sa.String(length=64), nullable=False),
        sa.Column("room_id", sa.String(length=64), nullable=True),
        sa.Column("start", sa.DateTime(), nullable=False),
        sa.Column("end", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("call_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holds")),
    )
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_holds_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "patients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("first_name", sa.String(length=100), nullable=False),
        sa.Column("last_name", sa.String(length=100), nullable=False),
        sa.Column("name_key", sa.String(length=200), nullable=False),
        sa.Column("dob", sa.Date(), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("phone_key", sa.String(length=16), nullable=True),
        sa.Column("email", sa.String(length=200), nullable=True),
        sa.Column("preferred_language", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patients")),
        sa.UniqueConstraint("name_key", "dob", name=op.f("uq_patients_name_key_dob")),
    )
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_patients_external_id"), ["external_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_patients_name_key"), ["name_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_patients_phone_key"), ["phone_key"], unique=False)

    op.create_table(
        "time_blocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.String(length=64), nullable=False),
        sa.Column("start", sa.DateTime(), nullable=False),
        sa.Column("end", sa.DateTime(), nullable=False),
        sa.Column("reason", sa.String(length=100), nullable=False),
        sa.Column("external_uid", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_time_blocks")),
        sa.UniqueConstraint(
            "provider_id", "external_uid", name=op.f("uq_time_blocks_provider_id_external_uid")
        ),
    )
    op.create_table(
        "calls",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("caller_id", sa.String(length=64), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("outcome", sa.String(length=64), nullable=True),
        sa.Column("recording_path", sa.String(length=500), nullable=True),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_calls_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calls")),
    )
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calls_started_at"), ["started_at"], unique=False)

    op.create_table(
        "coverages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("payer_name", sa.String(length=200), nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=True),
        sa.Column("group_number", sa.String(length=64), nullable=True),
        sa.Column("subscriber_name", sa.String(length=200), nullable=True),
        sa.Column("subscriber_relationship", sa.String(length=16), nullable=False),
        sa.Column("order", sa.Integer(), nullable=False),
        sa.Column("claim_number", sa.String(length=64), nullable=True),
        sa.Column("adjuster_name", sa.String(length=200), nullable=True),
        sa.Column("adjuster_phone", sa.String(length=32), nullable=True),
        sa.Column("date_of_injury", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_coverages_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coverages")),
    )
    op.create_table(
        "referrals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("referring_provider_name", sa.String(length=200), nullable=True),
        sa.Column("referring_provider_npi", sa.String(length=10), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("body_part", sa.String(length=100), nullable=True),
        sa.Column("diagnosis", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_referrals_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referrals")),
    )
    op.create_table(
        "waitlist",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("appointment_type_id", sa.String(length=64), nullable=False),
        sa.Column("provider_id", sa.String(length=64), nullable=True),
        sa.Column("preferences", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("call_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_waitlist_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist")),
    )
    with op.batch_alter_table("waitlist", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_waitlist_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "call_turns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("latency", sa.JSON(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_call_turns_call_id_calls"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_turns")),
        sa.UniqueConstraint("call_id", "seq", name=op.f("uq_call_turns_call_id_seq")),
    )
    op.create_table(
        "leads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("referral_id", sa.Integer(), nullable=True),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("lost_reason", sa.String(length=32), nullable=True),
        sa.Column("source", sa.String(length=64), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("referring_provider_name", sa.String(length=200), nullable=True),
        sa.Column("referring_provider_npi", sa.String(length=10), nullable=True),
        sa.Column("owner_role", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_leads_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"], ["referrals.id"], name=op.f("fk_leads_referral_id_referrals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leads")),
    )
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_leads_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "tool_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("arguments", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_tool_calls_call_id_calls"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tool_calls")),
        sa.UniqueConstraint("call_id", "seq", name=op.f("uq_tool_calls_call_id_seq")),
    )
    op.create_table(
        "appointments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("appointment_type_id", sa.String(length=64), nullable=False),
        sa.Column("provider_id", sa.String(length=64), nullable=False),
        sa.Column("room_id", sa.String(length=64), nullable=True),
        sa.Column("start", sa.DateTime(), nullable=False),
        sa.Column("end", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rescheduled_from_id", sa.Integer(), nullable=True),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("call_id", sa.String(length=36), nullable=True),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column("cancel_reason", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_appointments_lead_id_leads")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_appointments_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["rescheduled_from_id"],
            ["appointments.id"],
            name=op.f("fk_appointments_rescheduled_from_id_appointments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointments")),
    )
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_appointments_external_id"), ["external_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_appointments_patient_id"), ["patient_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_appointments_provider_id"), ["provider_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_appointments_start"), ["start"], unique=False)

    op.create_table(
        "lead_stage_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("from_stage", sa.String(length=32), nullable=True),
        sa.Column("to_stage", sa.String(length=32), nullable=False),
        sa.Column("lost_reason", sa.String(length=32), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("why", sa.String(length=200), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["leads.id"],
            name=op.f("fk_lead_stage_changes_lead_id_leads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_stage_changes")),
    )
    with op.batch_alter_table("lead_stage_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_lead_stage_changes_lead_id"), ["lead_id"], unique=False
        )

    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("owner_role", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("callback_phone", sa.String(length=32), nullable=True),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("call_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name=op.f("fk_messages_lead_id_leads")),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_messages_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_messages_category"), ["category"], unique=False)
        batch_op.create_index(batch_op.f("ix_messages_owner_role"), ["owner_role"], unique=False)
        batch_op.create_index(batch_op.f("ix_messages_status"), ["status"], unique=False)

    op.create_table(
        "provider_time_units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.String(length=64), nullable=False),
        sa.Column("unit_start", sa.DateTime(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("hold_id", sa.String(length=36), nullable=True),
        sa.Column("block_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "(CASE WHEN appointment_id IS NULL THEN 0 ELSE 1 END + CASE WHEN hold_id IS NULL THEN 0 ELSE 1 END + CASE WHEN block_id IS NULL THEN 0 ELSE 1 END) = 1",  # noqa: E501
            name=op.f("ck_provider_time_units_one_owner"),
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_provider_time_units_appointment_id_appointments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["block_id"],
            ["time_blocks.id"],
            name=op.f("fk_provider_time_units_block_id_time_blocks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["hold_id"],
            ["holds.id"],
            name=op.f("fk_provider_time_units_hold_id_holds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_time_units")),
        sa.UniqueConstraint(
            "provider_id", "unit_start", name=op.f("uq_provider_time_units_provider_id_unit_start")
        ),
    )
    with op.batch_alter_table("provider_time_units", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_provider_time_units_appointment_id"), ["appointment_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_provider_time_units_block_id"), ["block_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_provider_time_units_hold_id"), ["hold_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_provider_time_units_unit_start"), ["unit_start"], unique=False
        )

    op.create_table(
        "room_time_units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.String(length=64), nullable=False),
        sa.Column("seat", sa.Integer(), nullable=False),
        sa.Column("unit_start", sa.DateTime(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("hold_id", sa.String(length=36), nullable=True),
        sa.CheckConstraint(
            "(appointment_id IS NULL) <> (hold_id IS NULL)",
            name=op.f("ck_room_time_units_one_owner"),
        ),
        sa.CheckConstraint("seat >= 0", name=op.f("ck_room_time_units_seat_non_negative")),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_room_time_units_appointment_id_appointments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["hold_id"],
            ["holds.id"],
            name=op.f("fk_room_time_units_hold_id_holds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_room_time_units")),
        sa.UniqueConstraint(
            "room_id", "unit_start", "seat", name=op.f("uq_room_time_units_room_id_unit_start_seat")
        ),
    )
    with op.batch_alter_table("room_time_units", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_room_time_units_appointment_id"), ["appointment_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_room_time_units_hold_id"), ["hold_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_room_time_units_unit_start"), ["unit_start"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("room_time_units", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_room_time_units_unit_start"))
        batch_op.drop_index(batch_op.f("ix_room_time_units_hold_id"))
        batch_op.drop_index(batch_op.f("ix_room_time_units_appointment_id"))

    op.drop_table("room_time_units")
    with op.batch_alter_table("provider_time_units", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provider_time_units_unit_start"))
        batch_op.drop_index(batch_op.f("ix_provider_time_units_hold_id"))
        batch_op.drop_index(batch_op.f("ix_provider_time_units_block_id"))
        batch_op.drop_index(batch_op.f("ix_provider_time_units_appointment_id"))

    op.drop_table("provider_time_units")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_messages_status"))
        batch_op.drop_index(batch_op.f("ix_messages_owner_role"))
        batch_op.drop_index(batch_op.f("ix_messages_category"))

    op.drop_table("messages")
    with op.batch_alter_table("lead_stage_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lead_stage_changes_lead_id"))

    op.drop_table("lead_stage_changes")
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appointments_start"))
        batch_op.drop_index(batch_op.f("ix_appointments_provider_id"))
        batch_op.drop_index(batch_op.f("ix_appointments_patient_id"))
        batch_op.drop_index(batch_op.f("ix_appointments_external_id"))

    op.drop_table("appointments")
    op.drop_table("tool_calls")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_leads_patient_id"))

    op.drop_table("leads")
    op.drop_table("call_turns")
    with op.batch_alter_table("waitlist", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_waitlist_patient_id"))

    op.drop_table("waitlist")
    op.drop_table("referrals")
    op.drop_table("coverages")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calls_started_at"))

    op.drop_table("calls")
    op.drop_table("time_blocks")
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patients_phone_key"))
        batch_op.drop_index(batch_op.f("ix_patients_name_key"))
        batch_op.drop_index(batch_op.f("ix_patients_external_id"))

    op.drop_table("patients")
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_holds_expires_at"))

    op.drop_table("holds")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_entity_entity_id"))
        batch_op.drop_index(batch_op.f("ix_audit_log_call_id"))
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))

    op.drop_table("audit_log")

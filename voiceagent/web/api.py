"""The workspace's JSON write endpoints, shared by the web pages and integrations.

Each takes a session (with its CSRF token in ``X-CSRF-Token``) or the API token, checks the
role on the server and calls the clinic's own service functions.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from voiceagent.clinic import leads as clinic_leads
from voiceagent.clinic.errors import ClinicError
from voiceagent.web import calendar, inbox
from voiceagent.web.auth import Staff, api_staff, require, workspace
from voiceagent.web.context import Workspace
from voiceagent.web.roles import may_book, may_work_leads

router = APIRouter(prefix="/api", tags=["workspace"])
StaffDep = Annotated[Staff, Depends(api_staff)]
WorkspaceDep = Annotated[Workspace, Depends(workspace)]


class StageMove(BaseModel):
    stage: str = Field(description="new, contacted, scheduled, evaluated, in_plan_of_care, "
                       "discharged or lost")
    lost_reason: str | None = Field(None, description="required when stage is lost")
    why: str | None = Field(None, max_length=200)


class OwnerChange(BaseModel):
    owner_role: str = Field(min_length=1, max_length=32)


class Assignment(BaseModel):
    username: str = Field(min_length=1, max_length=64)


class CommentIn(BaseModel):
    text: str = Field(min_length=1, max_length=inbox.MAX_COMMENT)


class StatusChange(BaseModel):
    status: str = Field(description="open, in_progress or done (done closes it)")
    note: str | None = Field(None, max_length=inbox.MAX_COMMENT)


class PatientIn(BaseModel):
    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(min_length=1, max_length=100)
    dob: date
    phone: str | None = Field(None, max_length=32)


class BookingIn(BaseModel):
    appointment_type_id: str
    provider_id: str
    start: datetime = Field(description="ISO 8601; without an offset it is clinic-local time")
    patient_id: int | None = None
    patient: PatientIn | None = None


class RescheduleIn(BaseModel):
    start: datetime
    provider_id: str | None = None


class CancelIn(BaseModel):
    reason: str | None = Field(None, max_length=200)


NOT_FOUND = {"unknown_appointment", "unknown_patient"}
UNPROCESSABLE = {"invalid_input", "invalid_stage_move", "unknown_appointment_type",
                 "unknown_provider"}


def _clinic_error(exc: ClinicError) -> HTTPException:
    """404 for a missing record, 422 for a request that can never work, 409 for a rule the
    current state breaks (a taken slot, too short notice, a closed day)."""
    status = 404 if exc.code in NOT_FOUND else 422 if exc.code in UNPROCESSABLE else 409
    return HTTPException(status, {"code": exc.code, "reason": str(exc)})


def _message(card: inbox.MessageCard) -> dict[str, Any]:
    return {"id": card.message_id, "status": card.status, "assignee": card.assignee,
            "priority": card.priority, "owner_role": card.owner_role, "overdue": card.overdue,
            "due_at": card.due_at.isoformat(),
            "activity": [{"kind": a.kind, "actor": a.actor, "assignee": a.assignee,
                          "text": a.text, "at": a.at.isoformat()} for a in card.activity]}


def _inbox_call(fn: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    try:
        return _message(fn(*args, **kwargs))
    except inbox.Forbidden as exc:
        raise HTTPException(403, str(exc)) from None
    except inbox.NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except inbox.BadRequest as exc:
        raise HTTPException(422, str(exc)) from None
    except ClinicError as exc:
        raise _clinic_error(exc) from None


def _lead(info: clinic_leads.LeadInfo) -> dict[str, Any]:
    return {"id": info.lead_id, "stage": info.stage, "lost_reason": info.lost_reason,
            "owner_role": info.owner_role, "source": info.source}


@router.post("/leads/{lead_id}/stage", summary="Move a lead to another stage")
def move_stage(lead_id: int, body: StageMove, staff: StaffDep,
               ws: WorkspaceDep) -> dict[str, Any]:
    """Moving to ``lost`` needs a ``lost_reason``; the stage rules of the clinic apply."""
    require(may_work_leads(staff.role), "move leads")
    try:
        return _lead(clinic_leads.move_stage(ws.store, lead_id=lead_id, to_stage=body.stage,
                                             actor=staff.actor, why=body.why,
                                             lost_reason=body.lost_reason or None))
    except ClinicError as exc:
        raise _clinic_error(exc) from None


@router.post("/leads/{lead_id}/owner", summary="Hand a lead to another role")
def change_owner(lead_id: int, body: OwnerChange, staff: StaffDep,
                 ws: WorkspaceDep) -> dict[str, Any]:
    require(may_work_leads(staff.role), "reassign leads")
    try:
        return _lead(clinic_leads.assign_owner(ws.store, lead_id=lead_id,
                                               owner_role=body.owner_role, actor=staff.actor))
    except ClinicError as exc:
        raise _clinic_error(exc) from None


@router.post("/messages/{message_id}/assign", summary="Assign a message to a staff member")
def assign_message(message_id: int, body: Assignment, staff: StaffDep,
                   ws: WorkspaceDep) -> dict[str, Any]:
    return _inbox_call(inbox.assign, ws.store, ws.clinic, message_id, body.username,
                       role=staff.role, actor=staff.actor, now=ws.now())


@router.post("/messages/{message_id}/comments", summary="Comment on a message")
def comment_message(message_id: int, body: CommentIn, staff: StaffDep,
                    ws: WorkspaceDep) -> dict[str, Any]:
    return _inbox_call(inbox.comment, ws.store, ws.clinic, message_id, body.text,
                       role=staff.role, actor=staff.actor, now=ws.now())


@router.post("/messages/{message_id}/status", summary="Close or reopen a message")
def message_status(message_id: int, body: StatusChange, staff: StaffDep,
                   ws: WorkspaceDep) -> dict[str, Any]:
    return _inbox_call(inbox.set_status, ws.store, ws.clinic, message_id, body.status,
                       role=staff.role, actor=staff.actor, now=ws.now(), note=body.note)


def _local(ws: Workspace, value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=ws.clinic.tz)


def _booking(b: Any) -> dict[str, Any]:
    return {"appointment_id": b.appointment_id, "patient_id": b.patient_id,
            "provider_id": b.slot.provider_id, "room_id": b.slot.room_id,
            "start": b.slot.start.isoformat(), "end": b.slot.end.isoformat(),
            "rescheduled_from_id": b.rescheduled_from_id}


@router.post("/appointments", summary="Book a slot (the agent's scheduling rules apply)")
def book(body: BookingIn, staff: StaffDep, ws: WorkspaceDep) -> dict[str, Any]:
    """A taken slot (double booking) answers 409 with code ``slot_taken``."""
    require(may_book(staff.role), "book appointments")
    patient: calendar.NewPatient | int
    if body.patient_id is not None:
        patient = body.patient_id
    elif body.patient is not None:
        p = body.patient
        patient = calendar.NewPatient(p.first_name, p.last_name, p.dob, p.phone or None)
    else:
        raise HTTPException(422, "give patient_id or patient (name, date of birth)")
    try:
        return _booking(calendar.book(ws.store, ws.clinic, actor=staff.actor, now=ws.now(),
                                      appointment_type_id=body.appointment_type_id,
                                      provider_id=body.provider_id,
                                      start=_local(ws, body.start), patient=patient))
    except ClinicError as exc:
        raise _clinic_error(exc) from None


@router.post("/appointments/{appointment_id}/reschedule", summary="Move an appointment")
def reschedule(appointment_id: int, body: RescheduleIn, staff: StaffDep,
               ws: WorkspaceDep) -> dict[str, Any]:
    require(may_book(staff.role), "reschedule appointments")
    try:
        return _booking(calendar.reschedule(ws.store, ws.clinic, actor=staff.actor, now=ws.now(),
                                            appointment_id=appointment_id,
                                            start=_local(ws, body.start),
                                            provider_id=body.provider_id))
    except ClinicError as exc:
        raise _clinic_error(exc) from None


@router.post("/appointments/{appointment_id}/cancel", summary="Cancel an appointment")
def cancel(appointment_id: int, body: CancelIn, staff: StaffDep,
           ws: WorkspaceDep) -> dict[str, Any]:
    require(may_book(staff.role), "cancel appointments")
    try:
        info = calendar.cancel(ws.store, ws.clinic, actor=staff.actor, now=ws.now(),
                               appointment_id=appointment_id, reason=body.reason)
    except ClinicError as exc:
        raise _clinic_error(exc) from None
    return {"appointment_id": info.appointment_id, "status": info.status}


@router.get("/me", summary="Who the request is signed in as")
def me(staff: StaffDep) -> dict[str, Any]:
    return {"username": staff.username, "name": staff.name, "role": staff.role.value}

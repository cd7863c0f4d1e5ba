"""Which staff role works which message, and the reply-by target of each."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.web.conftest import workspace_clinic
from voiceagent.web.inbox import response_target
from voiceagent.web.roles import Role, may_see_message, message_scope

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("owner", "scope"), [
    ("PT", Role.THERAPIST), ("pta", Role.THERAPIST), ("therapist", Role.THERAPIST),
    ("billing", Role.BILLING), ("front_desk", Role.FRONT_DESK),
    ("intake_coordinator", Role.FRONT_DESK), ("clinic_manager", Role.FRONT_DESK)])
def test_each_owner_role_lands_in_one_inbox(owner: str, scope: Role) -> None:
    assert message_scope(owner) == scope
    assert may_see_message(scope, owner) and may_see_message(Role.ADMIN, owner)
    others = {Role.FRONT_DESK, Role.THERAPIST, Role.BILLING} - {scope}
    assert not any(may_see_message(role, owner) for role in others)


def test_reply_by_targets_follow_priority_unless_the_category_sets_one() -> None:
    clinic = workspace_clinic()
    assert response_target(clinic, "callback", "urgent") == timedelta(hours=1)
    assert response_target(clinic, "callback", "normal") == timedelta(hours=24)
    assert response_target(clinic, "billing", "low") == timedelta(hours=72)
    category = clinic.message_categories[0]
    object.__setattr__(category, "sla_hours", 2)  # a category with its own target
    try:
        assert response_target(clinic, category.id, "low") == timedelta(hours=2)
    finally:
        object.__delattr__(category, "sla_hours")

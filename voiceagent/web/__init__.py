"""The front-desk workspace: the web app staff use to work calls, leads, messages and bookings.

Served by ``voiceagent serve`` at ``/app`` on the API's port (:func:`mount_workspace`).
Server-rendered Jinja2 pages with a little plain JavaScript; every write goes through the
JSON endpoints in :mod:`voiceagent.web.api`, which integrations use with the API token.

Modules: ``accounts`` (users, argon2, lockout), ``sessions`` (server-side sessions, idle
log-off), ``roles`` (who may see and do what), ``auth`` (request guards, CSRF), ``calls``,
``leads``, ``inbox``, ``calendar``, ``referrals``, ``today``, ``auditlog`` (what each page
reads; every read of patient data is audited), ``live`` (calls in progress), ``pages``,
``api``, ``app``.
"""

from voiceagent.web.app import create_workspace, mount_workspace

__all__ = ["create_workspace", "mount_workspace"]

"""The front office: intent routing, the LLM's tools, and the dialog policy that runs a call.

Public API:

- :class:`~voiceagent.frontdesk.runtime.FrontDesk` (``FrontDesk.from_config(config, llm)``,
  ``.dialog(channel=..., call_id=..., call_log=..., state=...)``) and
  :func:`~voiceagent.frontdesk.runtime.phone_dialog`, a ``DialogFactory`` for the speech
  channels.
- :class:`~voiceagent.frontdesk.policy.FrontDeskDialog`: implements ``dialog.protocol.Dialog``.
- :class:`~voiceagent.frontdesk.state.ConversationState`: JSON-serialisable call state.
- :class:`~voiceagent.frontdesk.router.IntentRouter`, :class:`~voiceagent.frontdesk.tools.ToolBox`.
"""

from voiceagent.frontdesk.policy import FrontDeskDialog
from voiceagent.frontdesk.router import IntentRouter
from voiceagent.frontdesk.runtime import FrontDesk, phone_dialog
from voiceagent.frontdesk.state import ConversationState
from voiceagent.frontdesk.tools import ToolBox

__all__ = ["ConversationState", "FrontDesk", "FrontDeskDialog", "IntentRouter", "ToolBox",
           "phone_dialog"]

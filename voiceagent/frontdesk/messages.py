"""A message for the staff, with the caller's name and call-back number."""

from __future__ import annotations

from collections.abc import Iterator

from voiceagent.dialog.protocol import DialogEvent
from voiceagent.frontdesk.conversation import Flow


class Messages(Flow):
    """Takes a message for a call-back."""

    def take_message(self, lead: str = "") -> Iterator[DialogEvent]:
        f = self.state.fields
        name = f"{f.get('first_name', '')} {f.get('last_name', '')}".strip() or "caller"
        phone = f.get("phone") if f.get("phone") not in (None, "", "unknown") else "unknown"
        if f.pop("urgent_details", None) and self.state.message_id is not None:
            # a red flag's urgent message went out at once; this is who to call back
            self.backend.add_to_message(self.state.message_id, f"Call back: {name}, {phone}.")
            self.state.intent = None
            f.pop("topic", None)
            yield from self.conv.wrap(f"{lead} Thank you, our clinical team will call you back "
                                      "today.".strip())
            return
        events: list[DialogEvent] = []
        result = self.conv.tool("take_message", {
            "name": name,
            "phone": phone,
            "message": " ".join(p for p in (f.get("topic"), f.get("message_body"))
                                    if p) or f.get("reason") or "please call back",
        }, events)
        yield from events
        if result.ok:
            self.state.intent = None
            for key in ("topic", "message_body"):
                f.pop(key, None)
            yield from self.conv.wrap(f"{lead} I've passed your message on, and someone will call "
                                      "you back.".strip())
            return
        yield from self.conv.wrap("I'm sorry, I couldn't save the message. Please call back during "
                                  "office hours.")

"""A dialog that asks for a date of birth, then a member ID, then a key to confirm, and keeps
every caller turn it is given (what reached the dialog is what the tests assert)."""

from __future__ import annotations

from collections.abc import Iterator

from voiceagent.dialog.protocol import DialogEvent, EndCall, ExpectedInput, ReplyText, UserTurn

ASK_DOB = "Please key in your date of birth, month, day and year."
ASK_MEMBER_ID = "Now key in your member ID, then press pound."
ASK_CONFIRM = "Press 1 to confirm."
GOODBYE = "Thank you. Goodbye."


class KeypadDialog:
    def __init__(self) -> None:
        self.turns: list[UserTurn] = []
        self.interruptions: list[str] = []
        self._asked = ASK_DOB

    def greeting(self) -> Iterator[DialogEvent]:
        yield ReplyText(ASK_DOB)

    def expected_input(self) -> ExpectedInput:
        return {ASK_DOB: ExpectedInput.DATE, ASK_MEMBER_ID: ExpectedInput.DIGITS}.get(
            self._asked, ExpectedInput.FREE)

    def respond(self, turn: UserTurn) -> Iterator[DialogEvent]:
        self.turns.append(turn)
        following = {ASK_DOB: ASK_MEMBER_ID, ASK_MEMBER_ID: ASK_CONFIRM, ASK_CONFIRM: GOODBYE}
        self._asked = following.get(self._asked, GOODBYE)
        yield ReplyText(self._asked)
        if self._asked == GOODBYE:
            yield EndCall("completed")

    def interrupted(self, spoken: str) -> None:
        self.interruptions.append(spoken)

    def silence(self, count: int) -> Iterator[DialogEvent]:
        yield ReplyText(self._asked)

    def transfer_failed(self) -> Iterator[DialogEvent]:
        yield ReplyText("Nobody is free right now.")

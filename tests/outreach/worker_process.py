"""An agent process that runs one follow-up pass (the kill test starts and kills it).

Usage: python -m tests.outreach.worker_process DB_URL PROVIDER_URL NOW_ISO [--passes N]
"""

from __future__ import annotations

import sys
from datetime import datetime

from tests.frontdesk.conftest import make_clinic
from tests.outreach.conftest import CREDENTIALS, POLICY, pipeline
from voiceagent.clinic.db import open_store
from voiceagent.frontdesk.runtime import FrontDesk
from voiceagent.outreach.routes import build_outreach


def main() -> None:
    url, provider_url, now = sys.argv[1], sys.argv[2], datetime.fromisoformat(sys.argv[3])
    store = open_store(url, migrate=False)
    frontdesk = FrontDesk(store, make_clinic(outreach=POLICY), clock=lambda: now)
    outreach = build_outreach(pipeline(provider_url), frontdesk, credentials=CREDENTIALS,
                              clock=lambda: now)
    passes = int(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[4] == "--passes" else 1
    sent = uncertain = 0
    for _ in range(passes):
        report = outreach.worker.run_due()
        sent, uncertain = sent + report.sent, uncertain + report.uncertain
    print(f"sent={sent} uncertain={uncertain}", flush=True)


if __name__ == "__main__":
    main()

"""The website chat: an embeddable script, its public API and a demo page."""

"""The OpenAI Responses API frontdoor codec: Responses wire <-> the canonical IR."""

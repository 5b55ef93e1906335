"""State the gateway keeps between requests: conversation turns (``ConversationStore``), in
this process or in Redis."""

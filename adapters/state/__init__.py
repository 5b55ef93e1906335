"""State the gateway keeps between requests: the policy's counters and spend
(``domain.policy.ports.PolicyState``: ``memory.py`` in this process, spend also in a local SQLite
file, ``spend_file.py``; or ``redis.py``), and stored conversation turns (``ConversationStore``:
``conversations_memory.py`` or ``conversations_redis.py``)."""

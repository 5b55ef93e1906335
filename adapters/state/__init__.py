"""The policy's state store (``domain.policy.ports.PolicyState``): in this process
(``memory.py``, spend also in a local SQLite file, ``spend_file.py``) or in Redis (``redis.py``)."""

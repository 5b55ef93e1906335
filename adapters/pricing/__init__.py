"""The price table: the bundled one (the ``genai-prices`` package) under the config's ``pricing``
entries, looked up once per deployment (``table.Prices``)."""

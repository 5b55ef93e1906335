"""Fakes for tests: real local servers and in-memory ports, no mocks."""

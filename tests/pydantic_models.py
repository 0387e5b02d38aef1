"""Pydantic models shared by the tests of handler parameters (pydantic is a test dependency of its own: only the
tests that use a model import this module)."""
from __future__ import annotations

from pydantic import BaseModel, field_validator


class Key(BaseModel):
    """A model whose validator quotes the value it refuses."""
    value: str

    @field_validator('value')
    @classmethod
    def long_enough(cls, value: str) -> str:
        if len(value) < 8:
            raise ValueError('%s is too short' % value)
        return value

"""Placeholder router, filled in by the head office work (issue 4)."""

from fastapi import APIRouter

router = APIRouter()

"""Placeholder router, filled in by the KPI work (issue 6)."""

from fastapi import APIRouter

router = APIRouter()

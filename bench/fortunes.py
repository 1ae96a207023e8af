"""The bare comparison page of SPEC §8: one 12-row query and a small Jinja2 template.

Same database (DATABASE_URL), same engine settings (app.db.make_async_engine: asyncpg, pool,
pre-ping) and the same uvicorn settings as the product, so that "feed ÷ fortunes" measures
what the product adds. Served by bench/run.py with
`python -m uvicorn bench.fortunes:app --workers 1 --proxy-headers --no-access-log`.
"""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from jinja2 import Environment

from app.config import get_settings
from app.db import make_async_engine

engine = make_async_engine(get_settings())
QUERY = sa.text("SELECT id, title FROM posts ORDER BY id LIMIT 12")
TEMPLATE = Environment(autoescape=True).from_string(
    """<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><title>Fortunes</title></head>
<body><table>
<tr><th>id</th><th>message</th></tr>
{% for id, message in fortunes %}<tr><td>{{ id }}</td><td>{{ message }}</td></tr>
{% endfor %}</table></body></html>
"""
)

app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/fortunes")
async def fortunes() -> HTMLResponse:
    async with engine.connect() as conn:
        rows = [(r[0], r[1]) for r in await conn.execute(QUERY)]
    rows.append((0, "Additional fortune added at request time."))
    rows.sort(key=lambda r: r[1])
    return HTMLResponse(TEMPLATE.render(fortunes=rows))

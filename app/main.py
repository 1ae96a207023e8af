"""The ASGI application: middleware, routers, static files, error handlers."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from app import errors, templating
from app.api import docs as api_docs
from app.api import router as api_router
from app.api import scim as scim_api
from app.broker import close_broker
from app.config import get_settings
from app.db import dispose_engines, get_engine
from app.deps import guard_unsafe, publish_due_bulletins
from app.inputs import InputGuard
from app.live import close_hub
from app.logging import configure_logging
from app.middleware import RequestContextMiddleware
from app.routes import router as pages_router
from app.services.integrations import drainer as integrations_drainer
from app.services.ocr import drainer as ocr_drainer
from app.services.push import drainer as push_drainer

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    # Everything loaded so far (modules, routes, templates' code) lives as long as the
    # process: move it out of the collector's view. Otherwise each full collection walks
    # those ~180k objects, a ~90 ms pause that every request in flight waits through.
    gc.collect()
    gc.freeze()
    # Web Push: this instance's outbox drainer (on SQLite through the writer engine, whose
    # transactions take the write lock at once: its claims never fail half-way).
    push_drainer.start(get_settings(), get_engine(writer=True), pages_router.url_path_for)
    # Outgoing integrations: this instance's drainer of their outbox (the same way).
    integrations_drainer.start(get_settings(), get_engine(writer=True), pages_router.url_path_for)
    # The personal-data check of photos: this instance's OCR drainer (the same way).
    ocr_drainer.start(get_settings(), get_engine(writer=True))
    yield
    await ocr_drainer.stop()
    await integrations_drainer.stop()
    await push_drainer.stop()
    await close_hub()
    await close_broker()
    await dispose_engines()


def create_app() -> FastAPI:
    settings = get_settings()
    configure_logging(settings.log_level)
    # Outside dev, templates change only with a deploy: no stat() of every partial per page.
    templating.env.auto_reload = settings.env == "dev"
    app = FastAPI(
        title="Arigato Board API",
        version="1",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
        # publish_due_bulletins first: before the request's session holds a transaction (on
        # SQLite a write request's own lock would make the step's writes wait on it).
        dependencies=[Depends(publish_due_bulletins), Depends(guard_unsafe)],
    )
    # Added first, so it runs inside RequestContextMiddleware (which sets the locale).
    app.add_middleware(InputGuard)
    app.add_middleware(RequestContextMiddleware)
    errors.install(app)
    api_docs.install(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(scim_api.router)  # before the pages, which would match /scim/... first
    app.include_router(pages_router)
    app.include_router(api_router)
    return app

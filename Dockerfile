# The production image: the app on uvicorn with several workers; migrations run on start.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
# pango and HarfBuzz for WeasyPrint (the report's PDF) and the Japanese fonts it embeds;
# Tesseract with its Japanese data: the personal-data check of photos (docs/compliance.md).
RUN apt-get update && apt-get install -y --no-install-recommends \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk \
      tesseract-ocr tesseract-ocr-jpn \
    && rm -rf /var/lib/apt/lists/*
COPY requirements.lock pyproject.toml README.md ./
RUN pip install --no-cache-dir -r requirements.lock
COPY app ./app
COPY migrations ./migrations
COPY templates ./templates
COPY static ./static
COPY alembic.ini ./
RUN pip install --no-cache-dir --no-deps -e . && useradd --system --uid 10001 arigato \
    && mkdir -p /data/uploads && chown arigato /data/uploads
USER arigato
ENV UPLOAD_DIR=/data/uploads
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["sh", "-c", "arigato db upgrade && exec arigato serve --host 0.0.0.0 --port 8000 --workers ${WORKERS:-4}"]

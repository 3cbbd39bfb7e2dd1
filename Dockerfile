# Installs exactly as the README does: `make install` builds .venv from PyPI wheels, which bring
# ffmpeg (imageio-ffmpeg), the CJK font (noto-cjk-sans-otc) and espeak-ng (espeakng-loader).
FROM python:3.11-slim-bookworm

RUN apt-get update \
    && apt-get install --yes --no-install-recommends make \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml Makefile README.md ./
COPY bot ./bot
COPY engine ./engine
COPY templates ./templates
RUN make install PYTHON=python3.11

ENV PATH=/app/.venv/bin:$PATH \
    TUANYUAN_DATA_DIR=/data
VOLUME /data
# The admin web (and a webhook) and /metrics listen on loopback unless configured: in a
# container set TUANYUAN_WEB_LISTEN=0.0.0.0:8080 (and TUANYUAN_METRICS_LISTEN=0.0.0.0:9464 for a
# Prometheus outside it), and TUANYUAN_WEB_URL to the address moderators open.
EXPOSE 8080 9464
# The bot token comes from the environment (TUANYUAN_BOT_TOKEN) or a mounted secret file
# (TUANYUAN_BOT_TOKEN_FILE); it is never baked into the image.
CMD ["tuanyuan", "run"]

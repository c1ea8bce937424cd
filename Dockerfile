# One image for the API and the workers. The CUDA build of torch runs on CPU-only hosts too;
# pass --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu for a smaller image.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128
# Torch first, in its own layer: it is most of the image and changes least often.
RUN pip install --index-url "${TORCH_INDEX_URL}" "torch>=2.4,<2.14"

WORKDIR /app
COPY pyproject.toml README.md ./
COPY gradcore gradcore
COPY jobs jobs
COPY api api
COPY worker worker
COPY cli cli
COPY gradflow_client gradflow_client
RUN pip install .

RUN useradd --create-home --uid 1000 gradflow \
    && mkdir -p /data/datasets && chown -R gradflow /data
USER gradflow
# The API trusts HOST to be the address uvicorn binds: beyond loopback it will not start
# without an API key (or GRADFLOW_TRUST_NETWORK=1). Other machines' host names for it go in
# GRADFLOW_ALLOWED_HOSTS.
ENV GRADFLOW_DATA_DIR=/data HOST=0.0.0.0 PORT=8000
EXPOSE 8000

CMD ["sh", "-c", "exec uvicorn --factory api.app:create_app --host \"$HOST\" --port \"$PORT\""]

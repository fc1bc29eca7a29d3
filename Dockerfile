# The operator image: `rerunnable` as a non-root user, built from wheels only.
# No container engine runs on our CI machine, so this file is linted by
# tests/unit/test_dockerfile.py rather than built there.
#
#   docker build -t rerunnable:dev .

ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# Stage 1: build the wheels of the project and of every dependency.
FROM ${PYTHON_IMAGE} AS wheels
WORKDIR /src
COPY pyproject.toml README.md ./
COPY operator ./operator
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# Stage 2: install those wheels and nothing else; no compiler, no source tree.
FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN --mount=type=bind,from=wheels,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels rerunnable \
    && groupadd --gid 65532 rerunnable \
    && useradd --uid 65532 --gid 65532 --no-create-home --shell /usr/sbin/nologin rerunnable
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["rerunnable"]

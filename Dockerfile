# syntax=docker/dockerfile:1
# The meshinject control plane image: `meshinject serve` (the webhook) and `meshinject certs` (its certificate
# controller, run by the Deployment as an init container and a sidecar). docs/install.md shows how to build it.

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
# Wheels of meshinject and of every dependency (all have manylinux wheels: no compiler needed).
RUN pip wheel --no-cache-dir --disable-pip-version-check --wheel-dir /wheels .

FROM python:3.11-slim
# The root filesystem is read-only in the Deployment: bytecode is compiled at install time, never written later.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
# Installed from the build stage's wheels (bind-mounted, so they never become a layer); nothing installs
# packages at run time, so pip itself leaves the image.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --disable-pip-version-check --no-index --find-links=/wheels meshinject \
    && python -m pip uninstall --yes pip setuptools wheel
# A numeric non-root user, so the kubelet can check runAsNonRoot without a passwd entry.
USER 65532:65532
EXPOSE 15017
ENTRYPOINT ["meshinject", "serve"]

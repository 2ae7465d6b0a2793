#!/usr/bin/env bash
# Builds a stand-in for public.ecr.aws/lambda/python:3.13-x86_64, the base image `sam local invoke`
# (aws-sam-cli 1.170) builds its invoke image FROM, out of what this machine can reach:
#   - a Debian trixie root filesystem (mmdebstrap, minbase + python3 3.13 + ca-certificates);
#   - /var/runtime: awslambdaric and boto3/botocore exactly as tests/locks/sdk-oldest.txt pins them
#     (hash-checked), i.e. the SDK the python3.13 runtime carried at launch;
#   - /var/runtime/bootstrap: `python3.13 -m awslambdaric "$_HANDLER"` in /var/task, which SAM's
#     RIE (added by SAM on top of this image) starts for each container.
# Idempotent: does nothing when an image with that tag already exists (the real one or ours).
#
# Usage: standin-image.sh REPO_ROOT      (REPO_ROOT holds tests/locks/sdk-oldest.txt)
# Env:   SDK_LOCK (default REPO/tests/locks/sdk-oldest.txt; sdk-newest.txt for the newest SDK),
#        TAG (default public.ecr.aws/lambda/python:3.13-x86_64), SUITE (default trixie),
#        PYTHON (a python with pip, any version: pip only fetches cp313 manylinux x86_64 wheels).
set -euo pipefail

REPO=${1:?usage: standin-image.sh REPO_ROOT}
REPO=$(cd "$REPO" && pwd)
TAG=${TAG:-public.ecr.aws/lambda/python:3.13-x86_64}
SUITE=${SUITE:-trixie}
LOCK=${SDK_LOCK:-$REPO/tests/locks/sdk-oldest.txt}

if docker image inspect "$TAG" >/dev/null 2>&1; then
    echo "standin-image: $TAG already present; nothing to build"
    exit 0
fi
for tool in docker mmdebstrap; do
    command -v "$tool" >/dev/null || { echo "standin-image: needs $tool (apt-get install -y ${tool/docker/docker.io})" >&2; exit 2; }
done
[ -f "$LOCK" ] || { echo "standin-image: no $LOCK" >&2; exit 2; }
# The first Python that runs and has pip (a pyenv shim may exist and still fail).
if [ -z "${PYTHON:-}" ]; then
    for candidate in python3.13 python3; do
        if "$candidate" -m pip --version >/dev/null 2>&1; then PYTHON=$candidate; break; fi
    done
fi
[ -n "${PYTHON:-}" ] || { echo "standin-image: needs a python3 with pip (apt-get install -y python3-pip)" >&2; exit 2; }

echo "standin-image: no container registry is reachable, so building a stand-in $TAG from Debian $SUITE packages and the SDK locked in ${LOCK#$REPO/}"
start=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/tmp}/standin-image.XXXXXX")
trap 'rm -rf "$work"' EXIT

# 1. The root filesystem, as a tar, without docs, man pages or translations.
mmdebstrap --quiet --variant=minbase --architectures=amd64 --include=python3,ca-certificates \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    "$SUITE" "$work/rootfs.tar"

# 2. /var/runtime: the runtime interface client and the SDK, from the hash-checked lock.
PIP_ROOT_USER_ACTION=ignore "$PYTHON" -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps --no-compile \
    --target "$work/runtime" --platform manylinux2014_x86_64 --implementation cp --python-version 3.13 \
    --only-binary=:all: -r "$LOCK" >"$work/pip.log" 2>&1 || { cat "$work/pip.log" >&2; exit 1; }
rm -rf "$work/runtime/bin"

# 3. The bootstrap the RIE starts. The RIE passes the handler as $_HANDLER.
cat >"$work/runtime/bootstrap" <<'EOF'
#!/bin/sh
# Stand-in for the python3.13 runtime's bootstrap: the function's code first, then the runtime's SDK.
cd "${LAMBDA_TASK_ROOT:-/var/task}"
export PYTHONPATH="${LAMBDA_TASK_ROOT:-/var/task}:/opt/python:${LAMBDA_RUNTIME_DIR:-/var/runtime}${PYTHONPATH:+:$PYTHONPATH}"
exec python3.13 -m awslambdaric "$_HANDLER"
EOF
chmod 755 "$work/runtime/bootstrap"

cat >"$work/Dockerfile" <<'EOF'
FROM scratch
ADD rootfs.tar /
COPY runtime /var/runtime
# /var/runtime is the runtime's, read-only in Lambda: compile it once here, as AWS ships it compiled.
RUN python3.13 -m compileall -q -j 0 /var/runtime && mkdir -p /var/task /opt
ENV LANG=C.UTF-8 TZ=:/etc/localtime LAMBDA_TASK_ROOT=/var/task LAMBDA_RUNTIME_DIR=/var/runtime \
    PATH=/usr/local/bin:/usr/bin:/bin
WORKDIR /var/task
LABEL org.opencontainers.image.description="Stand-in for public.ecr.aws/lambda/python:3.13-x86_64: Debian trixie python3.13, awslambdaric and boto3 from tests/locks/sdk-oldest.txt"
CMD ["/var/runtime/bootstrap"]
EOF

# 4. The image. DOCKER_BUILDKIT=0: Debian's docker.io 20.10 ships no buildx, and the legacy
#    builder needs no registry for FROM scratch.
DOCKER_BUILDKIT=0 docker build -t "$TAG" "$work" >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }
echo "standin-image: built $TAG ($(docker image inspect -f '{{.Size}}' "$TAG" | awk '{printf "%.0f MB", $1/1e6}')) in $(( $(date +%s) - start )) s"

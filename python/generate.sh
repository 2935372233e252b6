#!/usr/bin/env bash
# Regenerates python/faultmesh_api_client/ from the API's OpenAPI document
# (`faultmesh openapi`), with a pinned openapi-python-client in a private
# virtualenv. Run from anywhere; commit the result.
#
#   bash python/generate.sh                # uses target/debug/faultmesh (builds it)
#   FAULTMESH=/usr/bin/faultmesh bash python/generate.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
OPENAPI_PYTHON_CLIENT_VERSION=0.29.1

if [ -z "${FAULTMESH:-}" ]; then
    (cd "$repo" && cargo build --quiet --bin faultmesh)
    FAULTMESH="$repo/target/debug/faultmesh"
fi

venv="${XDG_CACHE_HOME:-$HOME/.cache}/faultmesh/openapi-python-client-$OPENAPI_PYTHON_CLIENT_VERSION"
if [ ! -x "$venv/bin/openapi-python-client" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "openapi-python-client==$OPENAPI_PYTHON_CLIENT_VERSION"
fi
# The generator formats its output with ruff, installed beside it.
export PATH="$venv/bin:$PATH"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$FAULTMESH" openapi > "$work/openapi.json"
# openapi-python-client insists on a description for every response (OpenAPI
# requires one); the document leaves some out. Fill those in before generating.
python3 - "$work/openapi.json" <<'PY'
import json, sys
path = sys.argv[1]
doc = json.load(open(path))
for ops in doc.get("paths", {}).values():
    for op in ops.values():
        if isinstance(op, dict):
            for code, resp in op.get("responses", {}).items():
                resp.setdefault("description", f"HTTP {code}")
json.dump(doc, open(path, "w"), indent=2, sort_keys=True)
PY
openapi-python-client generate --path "$work/openapi.json" --config "$here/generate.yml" \
    --meta none --output-path "$work/faultmesh_api_client" --overwrite
rm -rf "$here/faultmesh_api_client"
cp -r "$work/faultmesh_api_client" "$here/faultmesh_api_client"
cp "$work/openapi.json" "$here/faultmesh_api_client/openapi.json"
echo "generate.sh: wrote $here/faultmesh_api_client (openapi-python-client $OPENAPI_PYTHON_CLIENT_VERSION)"

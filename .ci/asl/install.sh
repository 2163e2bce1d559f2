#!/usr/bin/env bash
# Readies the Amazon States Language interpreter of the state machine drill
# (deploy/statemachine_integration_test.go) and prints the moto_server command
# the test starts:
#
#   DRSORCH_MOTO_SERVER="$(bash .ci/asl/install.sh)"
#   export DRSORCH_MOTO_SERVER
#   go test -tags integration -run TestStateMachineOnInterpreter ./deploy/
#
# The interpreter is moto's Step Functions (moto_server with
# execute_state_machine on), from the machine image's Python: moto 5.2.1 with
# its server extras (flask, flask-cors) and the antlr4 runtime its ASL parser
# needs. PyPI is not a registry this project reaches, so nothing is installed
# here: the script checks what is there and says what is missing. No npm
# package is needed. Progress and problems go to stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="$root/.ci/.cache/asl"
want_version="5.2.1" # the moto the drill was written against (see the test's notes on its quirks)

python="${PYTHON:-python3}"
if ! command -v "$python" >/dev/null 2>&1; then
	echo "asl/install.sh: $python not found; the drill needs Python 3 with moto $want_version" >&2
	exit 1
fi
if ! version="$("$python" - <<'PY' 2>&1
import importlib.metadata as md
import flask, flask_cors, antlr4  # moto_server and the ASL parser
from moto.stepfunctions.parser import models  # the interpreter itself
print(md.version("moto"))
PY
)"; then
	echo "asl/install.sh: moto's Step Functions interpreter is not usable with $python:" >&2
	echo "$version" >&2
	echo "asl/install.sh: it needs moto $want_version with its server extras (pip install 'moto[server]==$want_version')" >&2
	exit 1
fi
if [ "$version" != "$want_version" ]; then
	echo "asl/install.sh: moto $version found, the drill was written against $want_version; trying it anyway" >&2
fi

# Prefer the moto_server console script of that Python; else run the module.
bin="$(dirname "$(command -v "$python")")/moto_server"
if [ ! -x "$bin" ]; then
	bin="$(command -v moto_server || true)"
fi
if [ -z "$bin" ]; then
	mkdir -p "$cache"
	bin="$cache/moto_server"
	printf '#!/bin/sh\nexec %s -m moto.server "$@"\n' "$(command -v "$python")" >"$bin"
	chmod +x "$bin"
fi
echo "$bin"

#!/usr/bin/env bash
# Finds the AWS CLI for the drs-sim wire-protocol checks
# (cmd/drsorch/drssim_cli_integration_test.go) and prints the command that
# runs it:
#
#   DRSORCH_AWS_CLI="$(bash .ci/awscli.sh)"
#   export DRSORCH_AWS_CLI
#   go test -tags integration -run TestAWSCLIAgainstDRSSim ./cmd/drsorch/
#
# It takes `aws` on PATH, else the awscli module of the machine's Python
# (`python3 -m awscli`, how the machine image ships AWS CLI v1), else an
# earlier install in .ci/.cache/awscli (git-ignored); with none of these it
# installs AWS CLI v1 there with pip. Progress and problems go to stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cache="$root/.ci/.cache/awscli"
want="awscli==1.45.11" # the AWS CLI v1 of the machine image, used when one must be installed
python="${PYTHON:-python3}"

works() { "$@" --version >/dev/null 2>&1; }

if cmd="$(command -v aws)" && works "$cmd"; then
	echo "$cmd"
	exit 0
fi
if ! py="$(command -v "$python")"; then
	echo "awscli.sh: neither aws nor $python found; the checks need the AWS CLI (v1: pip install awscli)" >&2
	exit 1
fi
if works "$py" -m awscli; then
	echo "$py -m awscli"
	exit 0
fi
if [ -x "$cache/bin/aws" ] && works "$cache/bin/aws"; then
	echo "$cache/bin/aws"
	exit 0
fi

echo "awscli.sh: the AWS CLI is not installed; installing $want into $cache" >&2
rm -rf "$cache"
mkdir -p "$cache/bin"
if ! "$py" -m pip install --quiet --disable-pip-version-check --no-input --retries 1 --timeout 20 --target "$cache/lib" "$want" >&2; then
	echo "awscli.sh: pip could not install $want; install the AWS CLI and put aws on PATH" >&2
	exit 1
fi
cat >"$cache/bin/aws" <<SH
#!/bin/sh
PYTHONPATH="$cache/lib\${PYTHONPATH:+:\$PYTHONPATH}" exec "$py" -m awscli "\$@"
SH
chmod +x "$cache/bin/aws"
if ! works "$cache/bin/aws"; then
	echo "awscli.sh: the installed AWS CLI does not run" >&2
	exit 1
fi
echo "$cache/bin/aws"

#!/usr/bin/env bash
# Builds the AWS Lambda Runtime Interface Emulator for the test that runs the
# `bootstrap` binary under it (cmd/drsorch/lambda_rie_integration_test.go) and
# prints the path of the emulator:
#
#   DRSORCH_LAMBDA_RIE="$(bash .ci/lambda-rie/install.sh)"
#   export DRSORCH_LAMBDA_RIE
#   go test -tags integration -run TestLambdaUnderRIE ./cmd/drsorch/
#
# The emulator is built with `go install` from the Go module proxy, at a pinned
# version, outside any module and with a throw-away GOPATH, so drsorch's go.mod
# and module cache are not touched; only the binary is kept, under .ci/.cache
# (git-ignored), and reused while the version stays the same.
# Progress and problems go to stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="$root/.ci/.cache/lambda-rie"
module="github.com/aws/aws-lambda-runtime-interface-emulator"
version="v0.0.0-20261030222936-bef5c4ba774d"
bin="$cache/bin/aws-lambda-rie"
stamp="$cache/bin/.version"

if [ -x "$bin" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then
	echo "$bin"
	exit 0
fi
mkdir -p "$cache/bin"
gopath="$(mktemp -d)"
trap 'chmod -R u+w "$gopath" 2>/dev/null; rm -rf "$gopath"' EXIT
echo "lambda-rie/install.sh: building $module/cmd/aws-lambda-rie@$version" >&2
(
	# Outside any module: go install pkg@version ignores drsorch's go.mod.
	cd "$gopath"
	GOPATH="$gopath" GOBIN="$cache/bin" GOWORK=off GO111MODULE=on CGO_ENABLED=0 GOFLAGS= \
		go install "$module/cmd/aws-lambda-rie@$version" >&2
)
echo "$version" >"$stamp"
echo "$bin"

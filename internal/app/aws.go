package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/drs"
)

// defaultAWSRegion is the region used when neither the caller nor the AWS configuration names one.
const defaultAWSRegion = "us-east-1"

// NewAWSDRS returns the DRS port on real AWS, from the default AWS
// configuration (environment, shared files, container or instance role).
// region overrides the configured region; without either it is us-east-1.
//
// AWS_ENDPOINT_URL_DRS (or the services section of the shared config) points
// the DRS client elsewhere, e.g. at `drsorch drs-sim`; the SDK honours it
// itself. When it is set and AWS_ENDPOINT_URL_EC2 is not, recovery instances
// are not enriched from EC2, since the simulator does not serve EC2.
func NewAWSDRS(ctx context.Context, region string, logger *slog.Logger) (drsorch.DRS, error) {
	var opts []func(*config.LoadOptions) error
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("loading the AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = defaultAWSRegion
	}
	ec2 := drs.EC2FromEnv(os.LookupEnv)
	if logger != nil && !ec2 {
		logger.Info("DRS endpoint overridden without an EC2 endpoint: recovery instances are not enriched from EC2",
			"endpoint", os.Getenv("AWS_ENDPOINT_URL_DRS"), "region", cfg.Region)
	}
	return drs.New(cfg, drs.Options{Logger: logger, DisableEC2: !ec2}), nil
}

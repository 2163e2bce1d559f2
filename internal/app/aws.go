package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/drs"
	"github.com/drsorch/drsorch/dynamodb"
)

// defaultAWSRegion is the region used when neither the caller nor the AWS configuration names one.
const defaultAWSRegion = "us-east-1"

// loadAWSConfig loads the default AWS configuration (environment, shared
// files, container or instance role). region overrides the configured
// region; without either it is us-east-1. The SDK honours the AWS_ENDPOINT_URL_*
// variables itself (e.g. AWS_ENDPOINT_URL_DYNAMODB for DynamoDB Local).
func loadAWSConfig(ctx context.Context, region string) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading the AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = defaultAWSRegion
	}
	return cfg, nil
}

// NewAWSDRS returns the DRS port on real AWS, from the default AWS
// configuration (environment, shared files, container or instance role).
// region overrides the configured region; without either it is us-east-1.
//
// AWS_ENDPOINT_URL_DRS (or the services section of the shared config) points
// the DRS client elsewhere, e.g. at `drsorch drs-sim`; the SDK honours it
// itself. When it is set and AWS_ENDPOINT_URL_EC2 is not, recovery instances
// are not enriched from EC2, since the simulator does not serve EC2.
func NewAWSDRS(ctx context.Context, region string, logger *slog.Logger) (drsorch.DRS, error) {
	cfg, err := loadAWSConfig(ctx, region)
	if err != nil {
		return nil, err
	}
	return newAWSDRS(cfg, logger), nil
}

func newAWSDRS(cfg aws.Config, logger *slog.Logger) drsorch.DRS {
	ec2 := drs.EC2FromEnv(os.LookupEnv)
	if logger != nil && !ec2 {
		logger.Info("DRS endpoint overridden without an EC2 endpoint: recovery instances are not enriched from EC2",
			"endpoint", os.Getenv(EnvEndpointDRS), "region", cfg.Region)
	}
	return drs.New(cfg, drs.Options{Logger: logger, DisableEC2: !ec2})
}

// openDynamoDB returns the DynamoDB store on the tables named by the
// Lambda's variables (EXECUTION_HISTORY_TABLE…), after checking they exist;
// with create, the missing ones are created first.
func openDynamoDB(ctx context.Context, cfg aws.Config, getenv func(string) string, create bool) (*dynamodb.Store, error) {
	tables := readEnv(getenv).tables()
	if err := tables.Validate(); err != nil {
		return nil, fmt.Errorf("--store dynamodb: %s", drsorch.AsError(err).Message)
	}
	st := dynamodb.New(ddb.NewFromConfig(cfg), tables)
	if create {
		if err := st.CreateTables(ctx); err != nil {
			return nil, fmt.Errorf("--store dynamodb: creating the tables: %w", err)
		}
		return st, nil
	}
	if err := st.CheckTables(ctx); err != nil {
		if drsorch.IsCode(err, drsorch.CodeNotFound) {
			return nil, fmt.Errorf("--store dynamodb: %s (create them with --create-tables, or name existing ones in the variables)", drsorch.AsError(err).Message)
		}
		return nil, fmt.Errorf("--store dynamodb: %w", err)
	}
	return st, nil
}

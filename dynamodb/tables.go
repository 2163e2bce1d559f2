package dynamodb

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/drsorch/drsorch"
)

// TableWait bounds how long CreateTables waits for new tables to become ACTIVE.
const TableWait = 5 * time.Minute

// CreateTables creates the four tables with the reference's schema, on-demand
// (PAY_PER_REQUEST): execution history keyed by executionId and planId with
// the global secondary indexes StatusIndex (status) and planIdIndex (planId),
// both projecting all attributes; recovery plans by planId; protection groups
// by groupId; target accounts by accountId. Tables that already exist are
// left as they are. It returns when every table is ACTIVE.
//
// It is meant for tests and one-machine setups; deployments create the
// tables (with point-in-time recovery and encryption) in their stack.
func (s *Store) CreateTables(ctx context.Context) error {
	if err := s.tables.Validate(); err != nil {
		return err
	}
	str := func(name string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(name), AttributeType: types.ScalarAttributeTypeS}
	}
	hash := func(name string) []types.KeySchemaElement {
		return []types.KeySchemaElement{{AttributeName: aws.String(name), KeyType: types.KeyTypeHash}}
	}
	gsi := func(index, attr string) types.GlobalSecondaryIndex {
		return types.GlobalSecondaryIndex{
			IndexName: aws.String(index), KeySchema: hash(attr),
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}
	}
	inputs := []*ddb.CreateTableInput{
		{
			TableName:            aws.String(s.tables.ExecutionHistory),
			AttributeDefinitions: []types.AttributeDefinition{str(attrExecutionID), str(attrPlanID), str(attrStatus)},
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(attrExecutionID), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(attrPlanID), KeyType: types.KeyTypeRange},
			},
			GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{gsi(indexStatus, attrStatus), gsi(indexPlanID, attrPlanID)},
		},
		{TableName: aws.String(s.tables.RecoveryPlans), AttributeDefinitions: []types.AttributeDefinition{str(attrPlanID)}, KeySchema: hash(attrPlanID)},
		{TableName: aws.String(s.tables.ProtectionGroups), AttributeDefinitions: []types.AttributeDefinition{str(attrGroupID)}, KeySchema: hash(attrGroupID)},
		{TableName: aws.String(s.tables.TargetAccounts), AttributeDefinitions: []types.AttributeDefinition{str(attrAccountID)}, KeySchema: hash(attrAccountID)},
	}
	for _, in := range inputs {
		in.BillingMode = types.BillingModePayPerRequest
		_, err := s.client.CreateTable(ctx, in)
		var inUse *types.ResourceInUseException
		if err != nil && !errors.As(err, &inUse) {
			return internal(err, "create table "+aws.ToString(in.TableName))
		}
	}
	waiter := ddb.NewTableExistsWaiter(s.client, func(o *ddb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 200*time.Millisecond, 5*time.Second
	})
	for _, in := range inputs {
		if err := waiter.Wait(ctx, &ddb.DescribeTableInput{TableName: in.TableName}, TableWait); err != nil {
			return internal(err, "wait for table "+aws.ToString(in.TableName))
		}
	}
	return nil
}

// CheckTables reports the tables that do not exist as one NOT_FOUND error
// naming them and their environment variables, so a misconfigured store
// fails at start rather than on the first request. Other errors (access
// denied, no endpoint) are INTERNAL_ERROR.
func (s *Store) CheckTables(ctx context.Context) error {
	if err := s.tables.Validate(); err != nil {
		return err
	}
	var missing []string
	for _, t := range []struct{ name, env string }{
		{s.tables.ExecutionHistory, EnvExecutionHistoryTable},
		{s.tables.RecoveryPlans, EnvRecoveryPlansTable},
		{s.tables.ProtectionGroups, EnvProtectionGroupsTable},
		{s.tables.TargetAccounts, EnvTargetAccountsTable},
	} {
		_, err := s.client.DescribeTable(ctx, &ddb.DescribeTableInput{TableName: aws.String(t.name)})
		var nf *types.ResourceNotFoundException
		switch {
		case errors.As(err, &nf):
			missing = append(missing, t.name+" ("+t.env+")")
		case err != nil:
			return internal(err, "describe table "+t.name)
		}
	}
	if len(missing) > 0 {
		return drsorch.Errorf(drsorch.CodeNotFound, "DynamoDB tables not found: %s", strings.Join(missing, ", ")).
			WithDetails(map[string]any{"missing": missing})
	}
	return nil
}

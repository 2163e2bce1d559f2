package app

// The environment variables drsorch reads as the Lambda function, by name.
// readEnv (lambda.go) reads them through these names; LambdaEnvironment lists
// them with who sets them, and deploy/'s tests check the stack against that list.
const (
	EnvStore       = "DRSORCH_STORE"        // dynamodb (default), sqlite or memory
	EnvDRS         = "DRSORCH_DRS"          // aws (default) or sim
	EnvWorker      = "DRSORCH_WORKER"       // lambda (default) or inline
	EnvData        = "DRSORCH_DATA"         // directory of the sqlite store and the simulator's state
	EnvSimFixtures = "DRSORCH_SIM_FIXTURES" // fixtures loaded into a new simulator and local store
	EnvCallbackKey = "DRSORCH_CALLBACK_KEY" // the key signing the links of pause notifications

	EnvExecutionHistoryTable = "EXECUTION_HISTORY_TABLE"
	EnvRecoveryPlansTable    = "RECOVERY_PLANS_TABLE"
	EnvProtectionGroupsTable = "PROTECTION_GROUPS_TABLE"
	EnvTargetAccountsTable   = "TARGET_ACCOUNTS_TABLE"

	EnvStateMachineARN = "STATE_MACHINE_ARN"
	EnvQueryHandler    = "QUERY_HANDLER_FUNCTION_NAME"
	EnvTopicARN        = "EXECUTION_NOTIFICATIONS_TOPIC_ARN"
	EnvAPIGatewayURL   = "API_GATEWAY_URL"
	EnvAccountID       = "AWS_ACCOUNT_ID"

	EnvFunctionName  = "AWS_LAMBDA_FUNCTION_NAME"
	EnvRegion        = "AWS_REGION"
	EnvDefaultRegion = "AWS_DEFAULT_REGION"
	EnvRuntimeAPI    = "AWS_LAMBDA_RUNTIME_API"
	EnvLogLevel      = "AWS_LAMBDA_LOG_LEVEL"

	EnvEndpointDRS               = "AWS_ENDPOINT_URL_DRS"
	EnvEndpointEC2               = "AWS_ENDPOINT_URL_EC2"
	EnvIgnoreConfiguredEndpoints = "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"
)

// Who sets an environment variable of the Lambda function.
const (
	// SetByStack: the deployment stack (deploy/template.yaml) sets it.
	SetByStack = "stack"
	// SetByLambda: the Lambda service sets it (a reserved name the stack cannot set).
	SetByLambda = "lambda"
	// SetByLocal: only local runs and tests set it; a deployment leaves it unset.
	SetByLocal = "local"
)

// EnvVar is an environment variable drsorch reads as the Lambda function.
type EnvVar struct {
	Name  string
	SetBy string // SetByStack, SetByLambda or SetByLocal
	Doc   string
}

// lambdaEnvironment is every variable drsorch itself reads in Lambda mode
// (the AWS SDK also reads its own AWS_* configuration, e.g. AWS_ENDPOINT_URL_DYNAMODB).
var lambdaEnvironment = []EnvVar{
	{EnvStore, SetByStack, "the store: dynamodb (default), sqlite or memory"},
	{EnvDRS, SetByStack, "DRS: aws (default) or sim"},
	{EnvWorker, SetByStack, "the start's worker: lambda (default, an asynchronous self-invocation) or inline"},
	{EnvExecutionHistoryTable, SetByStack, "DynamoDB table of executions"},
	{EnvRecoveryPlansTable, SetByStack, "DynamoDB table of recovery plans"},
	{EnvProtectionGroupsTable, SetByStack, "DynamoDB table of protection groups"},
	{EnvTargetAccountsTable, SetByStack, "DynamoDB table of target accounts"},
	{EnvStateMachineARN, SetByStack, "the Step Functions state machine each execution starts; empty: the engine takes every step"},
	{EnvQueryHandler, SetByStack, "a function serving list_executions and get_execution; empty: served here"},
	{EnvTopicARN, SetByStack, "the SNS topic of execution notifications; empty: none are sent"},
	{EnvAPIGatewayURL, SetByStack, "base URL of the API (stage included), for the links of pause notifications"},
	{EnvCallbackKey, SetByStack, "hex key of at least 32 bytes signing those links; required with API_GATEWAY_URL"},
	{PageKeyEnv, SetByStack, "hex key of at least 32 bytes signing the API's pagination tokens"},
	{EnvAccountID, SetByStack, "the account the function runs in (default: from the function's ARN)"},
	{EnvFunctionName, SetByLambda, "the function's name, for the worker's self-invocation"},
	{EnvRegion, SetByLambda, "the default region"},
	{EnvDefaultRegion, SetByLambda, "the default region when AWS_REGION is not set"},
	{EnvRuntimeAPI, SetByLambda, "the Lambda Runtime API: its presence makes the binary the Lambda"},
	{EnvLogLevel, SetByLambda, "the log level (from the function's logging configuration)"},
	{EnvData, SetByLocal, "directory of the sqlite store and of the simulator's state"},
	{EnvSimFixtures, SetByLocal, "fixtures loaded into a new simulator and local store"},
	{EnvEndpointDRS, SetByLocal, "DRS endpoint, e.g. drsorch drs-sim (read by the SDK too)"},
	{EnvEndpointEC2, SetByLocal, "EC2 endpoint; without it and with AWS_ENDPOINT_URL_DRS, recovery instances are not enriched from EC2"},
	{EnvIgnoreConfiguredEndpoints, SetByLocal, "true makes the SDK ignore the endpoint variables"},
}

// LambdaEnvironment returns every environment variable drsorch reads as the
// Lambda function, with who sets it in a deployment.
func LambdaEnvironment() []EnvVar {
	return append([]EnvVar(nil), lambdaEnvironment...)
}

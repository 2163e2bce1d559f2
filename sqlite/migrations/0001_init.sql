-- Initial schema: one table per record kind. Each record is kept whole as a
-- JSON document (doc); the other columns exist only to query and to check writes.

CREATE TABLE plans (
    plan_id   TEXT    NOT NULL PRIMARY KEY,
    plan_name TEXT    NOT NULL,
    version   INTEGER NOT NULL,
    doc       TEXT    NOT NULL
);
CREATE INDEX plans_by_name ON plans (plan_name, plan_id);

CREATE TABLE protection_groups (
    group_id   TEXT    NOT NULL PRIMARY KEY,
    group_name TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    doc        TEXT    NOT NULL
);
CREATE INDEX protection_groups_by_name ON protection_groups (group_name, group_id);

CREATE TABLE target_accounts (
    account_id   TEXT NOT NULL PRIMARY KEY,
    account_name TEXT NOT NULL,
    doc          TEXT NOT NULL
);
CREATE INDEX target_accounts_by_name ON target_accounts (account_name, account_id);

-- account_id is the top-level accountId, else accountContext.accountId;
-- context_account_id is accountContext.accountId. holds_plan is
-- ExecutionStatus.HoldsPlan() of status, computed by the store.
CREATE TABLE executions (
    execution_id       TEXT    NOT NULL PRIMARY KEY,
    plan_id            TEXT    NOT NULL,
    status             TEXT    NOT NULL,
    account_id         TEXT    NOT NULL,
    context_account_id TEXT    NOT NULL,
    start_time         INTEGER NOT NULL,
    holds_plan         INTEGER NOT NULL,
    version            INTEGER NOT NULL,
    doc                TEXT    NOT NULL,
    secrets            TEXT
);

-- One execution per plan may hold the plan.
CREATE UNIQUE INDEX executions_one_holder_per_plan ON executions (plan_id) WHERE holds_plan = 1;

-- ListExecutions: unfiltered, and by each filter, newest first.
CREATE INDEX executions_by_start ON executions (start_time DESC, execution_id DESC);
CREATE INDEX executions_by_plan ON executions (plan_id, start_time DESC, execution_id DESC);
CREATE INDEX executions_by_status ON executions (status, start_time DESC, execution_id DESC);
CREATE INDEX executions_by_account ON executions (account_id, start_time DESC, execution_id DESC);
CREATE INDEX executions_by_context_account ON executions (context_account_id, start_time DESC, execution_id DESC);

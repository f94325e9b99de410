//! The tables of the dataset. Each table is declared once with [`table!`]: the row struct, its
//! Arrow/Athena columns with their documentation, and the cell conversion all come from that one
//! declaration.

use crate::table::{Cell, Column, Kind, Row, TableDef, Value};
use rolescope_model::Shared;

/// Declare a row type and its table. Every table starts with `scan_id`.
///
/// ```text
/// table! {
///     /// Rust doc of the row type.
///     RowType, "table_name", "What a row is.",
///         field: RustType => Kind, nullable, "column doc";
/// }
/// ```
macro_rules! table {
    (
        $(#[$meta:meta])*
        $row:ident, $table:literal, $tdoc:literal,
        $($field:ident : $ty:ty => $kind:ident, $nullable:literal, $doc:literal;)*
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone)]
        #[allow(missing_docs)]
        pub struct $row {
            pub scan_id: Shared,
            $(pub $field: $ty,)*
        }

        impl Row for $row {
            const TABLE: TableDef = TableDef {
                name: $table,
                doc: $tdoc,
                columns: &[
                    SCAN_ID,
                    $(Column {
                        name: stringify!($field),
                        kind: Kind::$kind,
                        nullable: $nullable,
                        doc: $doc,
                    },)*
                ],
            };
            fn cells(&self, mut each: impl FnMut(Value<'_>)) {
                each(self.scan_id.cell(Kind::String));
                $(each(self.$field.cell(Kind::$kind));)*
            }
        }
    };
}

const SCAN_ID: Column = Column {
    name: "scan_id",
    kind: Kind::String,
    nullable: false,
    doc: "Scan that produced the row",
};

table! {
    /// `scan_runs`: one row per scan.
    ScanRun, "scan_runs", "One row per scan.",
        started_at: i64 => TimestampMs, false, "When the scan started (UTC)";
        finished_at: i64 => TimestampMs, false, "When collection finished (UTC)";
        org_id: Option<String> => String, true, "Organization id (o-…), null for a single-account scan";
        accounts: i64 => Int64, false, "Accounts in the organization";
        accounts_scanned: i64 => Int64, false, "Accounts whose audit role could be assumed";
        regions: Vec<String> => StringList, false, "Regions scanned";
        functions: i64 => Int64, false, "Lambda functions collected";
        roles: i64 => Int64, false, "IAM roles collected";
        findings: i64 => Int64, false, "Findings, mitigated ones included";
        collection_errors: i64 => Int64, false, "Rows in collection_errors";
        tool_version: String => String, false, "rolescope version";
}

table! {
    /// `accounts`: one row per account of the organization.
    AccountRow, "accounts", "One row per account of the organization (e-mail addresses are not stored).",
        account_id: String => String, false, "12-digit account id, as a string";
        account_name: String => String, false, "Account name";
        ou_path: String => String, false, "OU names from the root, e.g. Root/Workloads/Prod";
        status: String => String, false, "ACTIVE, SUSPENDED or PENDING_CLOSURE";
        scanned: bool => Bool, false, "The audit role could be assumed and the account was read";
        risk_score: i64 => Int64, false, "Highest role or function score in the account (0-100)";
        risk_level: String => String, false, "critical, high, medium, low or none";
}

table! {
    /// `org_units`: one row per root or OU.
    OrgUnitRow, "org_units", "One row per root or organizational unit.",
        ou_id: String => String, false, "r-… for the root, ou-… otherwise";
        name: String => String, false, "Name";
        parent_id: Option<String> => String, true, "Parent id; null for the root";
        path: String => String, false, "Names from the root, e.g. Root/Workloads";
        risk_score: i64 => Int64, false, "Highest account score below it (0-100)";
        risk_level: String => String, false, "critical, high, medium, low or none";
}

table! {
    /// `scps`: one row per (control policy, target).
    ScpRow, "scps", "One row per service (or resource) control policy and target it is attached to.",
        policy_id: String => String, false, "p-… id";
        name: String => String, false, "Policy name";
        policy_type: String => String, false, "SERVICE_CONTROL_POLICY or RESOURCE_CONTROL_POLICY";
        target_id: String => String, false, "Root, OU or account the policy is attached to";
        content: String => String, false, "Policy document (JSON)";
}

table! {
    /// `role_policies`: one row per policy attached to a role.
    RolePolicyRow, "role_policies", "One row per policy of a role: inline, managed (customer or AWS) and permission boundary.",
        account_id: String => String, false, "Account of the role";
        role_arn: String => String, false, "Role ARN";
        kind: String => String, false, "inline, managed or boundary";
        name: String => String, false, "Policy name";
        policy_arn: Option<String> => String, true, "Managed policy ARN; null for inline policies";
        document: Option<String> => String, true, "Policy document (JSON); null when it could not be collected";
}

table! {
    /// `functions`: one row per Lambda function.
    FunctionRow, "functions", "One row per Lambda function. Environment variables: names only, never values.",
        account_id: String => String, false, "Owning account";
        region: Shared => String, false, "Region";
        function_name: String => String, false, "Function name";
        function_arn: String => String, false, "Function ARN";
        role_arn: Shared => String, false, "Execution role ARN";
        runtime: Option<Shared> => String, true, "Runtime; null for container images";
        architectures: Vec<Shared> => StringList, false, "x86_64 and/or arm64";
        package_type: Option<Shared> => String, true, "Zip or Image";
        last_modified: Option<i64> => TimestampMs, true, "Last modification (UTC)";
        layers: Vec<Shared> => StringList, false, "Layer version ARNs";
        env_var_names: Vec<Shared> => StringList, false, "Environment variable names (values are never collected)";
        url_auth_type: Option<String> => String, true, "Function URL auth type: NONE (public) or AWS_IAM; null without URL";
        resource_policy: Option<String> => String, true, "Resource-based policy (JSON)";
        public_access: Option<bool> => Bool, true, "Callable by any AWS account, or invocable by anyone through a URL with AuthType NONE whose policy grants both URL permissions, decided by evaluating its resource policies (docs/checks.md); null when not public by what was read but its policy or URLs could not be read (unknown is not absent)";
        unread: Vec<String> => StringList, false, "Parts that could not be read (resource_policy, urls); collection_errors names why. The score covers what was read";
        risk_score: i64 => Int64, false, "Role score combined with the function's own findings (0-100)";
        risk_level: String => String, false, "critical, high, medium, low or none";
        secret_like_env_vars: Vec<String> => StringList, false, "Variables whose value looked like a secret when collected (names only; the kind is in the RS-SECRET-001 finding; no part of the value is kept)";
}

table! {
    /// `function_versions`: one row per qualifier of a function.
    FunctionVersionRow, "function_versions", "One row per qualifier of a Lambda function: $LATEST, each published version (its role frozen when it was published) and each alias (running as the roles of the versions it routes to).",
        account_id: String => String, false, "Owning account";
        region: Shared => String, false, "Region";
        function_name: String => String, false, "Function name";
        function_arn: String => String, false, "Unqualified function ARN";
        qualifier: String => String, false, "$LATEST, a version number or an alias name";
        kind: String => String, false, "latest, version or alias";
        role_arns: Vec<String> => StringList, false, "Execution roles this qualifier runs as (an alias routing to two versions may run as two)";
        routing: Vec<String> => StringList, false, "For an alias: VERSION=SHARE of invocations (1=0.9, 2=0.1); empty otherwise";
        resource_policy: Option<String> => String, true, "The qualifier's own resource-based policy (JSON)";
        url_auth_type: Option<String> => String, true, "Auth type of the URL invoking this qualifier: NONE (public) or AWS_IAM; null without URL";
        public_access: Option<bool> => Bool, true, "Callable by any AWS account or invocable by anyone through this qualifier, by evaluation of its policy; null when not public by what was read but its policy could not be read";
        unread: Vec<String> => StringList, false, "Parts that could not be read (resource_policy, aliases)";
}

table! {
    /// `roles`: one row per IAM role.
    RoleRow, "roles", "One row per IAM role, Lambda execution roles and others.",
        account_id: String => String, false, "Owning account";
        role_name: String => String, false, "Role name";
        role_arn: String => String, false, "Role ARN";
        path: String => String, false, "Role path";
        trust_policy: String => String, false, "Trust policy (JSON)";
        boundary_arn: Option<String> => String, true, "Permission boundary ARN";
        last_used_at: Option<i64> => TimestampMs, true, "RoleLastUsed (UTC)";
        function_count: i64 => Int64, false, "Functions using the role";
        is_lambda_role: bool => Bool, false, "Trusted by lambda.amazonaws.com or used by a function";
        allowed_actions: i64 => Int64, false, "Actions effectively allowed (with or without conditions)";
        risk_score: i64 => Int64, false, "Risk score 0-100 (docs/scoring.md)";
        risk_level: String => String, false, "critical, high, medium, low or none";
        score_explanation: String => String, false, "The score's factors and weights (JSON)";
        unused_services: Vec<String> => StringList, false, "Granted services not used within the window (empty without last-accessed data)";
        suggested_policy: Option<String> => String, true, "Least-privilege replacement policy (JSON, one document; the remediation files may split it). docs/least-privilege.md";
        suggestion_status: String => String, false, "suggested, no_change, not_lambda, no_usage_evidence, unreadable_policy, over_size_limits or proof_failed";
        suggestion_basis: Option<String> => String, true, "cloudtrail (resource-scoped, from the trail and the configuration) or last_accessed (actions only); null without a suggestion";
        suggestion_reason: Option<String> => String, true, "Why there is no suggestion, or what limits it";
        supported_actions: i64 => Int64, false, "Of allowed_actions, those the evidence supports (observed, needed by the configuration, or used per last-accessed data)";
        removed_actions: i64 => Int64, false, "Actions the suggestion removes";
        unobservable_actions: Vec<String> => StringList, false, "Actions kept as today because no trail could show them (data events not logged, calls never logged)";
        remediation_folder: Option<String> => String, true, "Folder of the remediation files (remediation/<account>/<role-name>/) under the output";
        unread: Vec<String> => StringList, false, "Parts that could not be read (policies, last_accessed); collection_errors names why. The score covers what was read";
}

table! {
    /// `findings`: one row per finding.
    FindingRow, "findings", "One row per finding (docs/checks.md).",
        finding_id: String => String, false, "Stable across scans: hash of check, resource and key";
        check_id: String => String, false, "Check, e.g. RS-PRIVESC-001";
        category: String => String, false, "Fixed vocabulary: admin_access, privilege_escalation, …";
        severity: String => String, false, "critical, high, medium, low or info (info when mitigated)";
        account_id: String => String, false, "Account of the resource";
        region: Option<Shared> => String, true, "Region, for regional resources";
        resource_arn: String => String, false, "Role, function or policy concerned";
        title: Shared => String, false, "One-line description";
        detail: Shared => String, false, "Evidence (JSON)";
        mitigated_by: Option<String> => String, true, "permission_boundary, scp or explicit_deny when a gate blocks the risk";
        first_seen: i64 => TimestampMs, false, "Start of the first scan that had this finding, carried from the baseline scan (UTC)";
        last_seen: i64 => TimestampMs, false, "Start of the last scan that saw it (UTC): this scan's, or an earlier one's for a carried finding";
        observed: bool => Bool, false, "False for a finding carried from the baseline because this scan could not read its resource (unknown is not resolved); such a finding keeps its first_seen";
}

table! {
    /// `finding_changes`: what changed in the findings since the baseline scan.
    FindingChangeRow, "finding_changes", "One row per finding that is new, resolved or changed since the baseline scan (docs/history.md). Findings whose resource this scan could not read are neither resolved nor listed.",
        previous_scan_id: String => String, false, "The baseline scan";
        finding_id: String => String, false, "Stable finding id";
        check_id: String => String, false, "Check";
        resource_arn: String => String, false, "Resource";
        account_id: String => String, false, "Account of the resource";
        change: String => String, false, "new, resolved, severity_changed or mitigation_changed";
        severity: String => String, false, "Severity now (for resolved: when last seen)";
        previous_severity: Option<String> => String, true, "Severity in the baseline; null for new";
        mitigated_by: Option<String> => String, true, "Gate that mitigates it now";
        previous_mitigated_by: Option<String> => String, true, "Gate that mitigated it in the baseline";
        first_seen: Option<i64> => TimestampMs, true, "When the finding was first seen (for resolved: time to resolve is changed_at - first_seen)";
        changed_at: i64 => TimestampMs, false, "Start of this scan (UTC)";
}

table! {
    /// `inventory_changes`: accounts, functions, qualifiers, roles, SCPs and scores that changed.
    InventoryChangeRow, "inventory_changes", "One row per account, function, qualifier, role, SCP/RCP or role score added, removed or changed since the baseline scan.",
        previous_scan_id: String => String, false, "The baseline scan";
        kind: String => String, false, "account, function, qualifier, role, control_policy, or a score delta: role_score, account_score, ou_score";
        change: String => String, false, "added, removed or changed";
        arn: String => String, false, "Account id, ARN, qualified ARN or policy id";
        before: Option<String> => String, true, "Summary in the baseline (a role: policy counts and content hash; role_score: the score)";
        after: Option<String> => String, true, "Summary now";
}

table! {
    /// `collection_errors`: one row per gap in the collected data.
    CollectionErrorRow, "collection_errors", "One row per account, region or API call that could not be read.",
        account_id: Option<String> => String, true, "Account concerned";
        region: Option<String> => String, true, "Region concerned";
        service: String => String, false, "Service, e.g. lambda";
        operation: String => String, false, "API operation, e.g. GetPolicy";
        error_code: String => String, false, "AWS error code, or Unsupported / Timeout / AccountSuspended / …";
        message: String => String, false, "Message";
        resource_arn: Option<String> => String, true, "The function or role the failure is about, when it concerns one";
}

table! {
    /// `role_permissions`: effective grants of a role, grouped.
    RolePermissionRow, "role_permissions", "Effective permissions of each role, grouped by service, status, resource scope and conditionality. A group holding every action of its service is the pattern `service:*` with an empty action list; query with `action_pattern = 'iam:*' OR contains(actions, 'iam:PassRole')` (docs/athena.md).",
        account_id: Shared => String, false, "Account of the role";
        role_arn: Shared => String, false, "Role ARN";
        service: Shared => String, false, "Service prefix, e.g. iam";
        status: &'static str => String, false, "allowed, allowed_under_conditions, blocked_by_boundary, blocked_by_scp or explicitly_denied";
        action_pattern: Option<Shared> => String, true, "service:* when the group holds every action of the service in the embedded catalog, else null";
        actions: Vec<Shared> => StringList, false, "Actions of the group in catalog spelling (iam:PassRole); empty when action_pattern is set";
        action_count: i64 => Int64, false, "Number of actions in the group";
        resources: Vec<Shared> => StringList, false, "Resource patterns of the granting statements; a leading ! marks NotResource";
        conditional: bool => Bool, false, "Some granting statement has a Condition";
        granted_by: Vec<Shared> => StringList, false, "Granting policies: inline policy name or managed policy ARN";
        depends_on: Option<&'static str> => String, true, "key_policy (KMS keys) or trust_policy (roles to assume): the status holds only where the key or role policy also allows the caller; null when identity policies alone decide";
}

table! {
    /// `role_service_access`: granted versus used actions per role, service and access level.
    RoleServiceAccessRow, "role_service_access", "Per role, service and access level: actions effectively granted, blocked, and used (IAM last-accessed data).",
        account_id: Shared => String, false, "Account of the role";
        role_arn: Shared => String, false, "Role ARN";
        service: Shared => String, false, "Service prefix";
        access_level: &'static str => String, false, "List, Read, Write, Permissions management or Tagging";
        actions_granted: i64 => Int64, false, "Actions effectively allowed, with or without conditions";
        actions_blocked: i64 => Int64, false, "Actions granted by identity policies but blocked by boundary, SCP or deny";
        actions_used: Option<i64> => Int64, true, "Allowed actions with an action-level last use; null where AWS tracks the service at service level only or no data was collected";
        last_accessed_at: Option<i64> => TimestampMs, true, "Last use of the service by the role (UTC)";
}

table! {
    /// `scp_recommendations`: one row per recommended SCP.
    ScpRecommendationRow, "scp_recommendations", "One row per recommended SCP (docs/scp.md): the policy, where to attach it, and its simulated impact on observed usage.",
        recommendation_id: String => String, false, "Stable id: hash of target and policy name";
        target_id: String => String, false, "Root, OU or account id to attach to";
        target_type: String => String, false, "root, ou or account";
        target_name: String => String, false, "OU path or account name";
        name: String => String, false, "Policy name (unique per target)";
        guardrails: Vec<String> => StringList, false, "Guardrails in the policy: require-boundary, deny-privileged-lambda-roles, deny-public-functions, restrict-regions, deny-unused-services";
        policy_json: String => String, false, "The SCP, minified JSON";
        size_chars: i64 => Int64, false, "Characters of policy_json (limit 10,240 by default)";
        statements: i64 => Int64, false, "Statements in the policy";
        rationale: String => String, false, "Why, one line per guardrail";
        impacted_roles: Vec<String> => StringList, false, "Roles that used an action the policy denies";
        impacted_functions: Vec<String> => StringList, false, "Functions running as impacted roles or relying on what the policy blocks";
        roles_without_usage: i64 => Int64, false, "Roles in scope without last-accessed data (impact unknown)";
        safe: bool => Bool, false, "No observed impact, nothing unknown, fits the quota";
        fits_quota: bool => Bool, false, "Fits next to the SCPs already attached at the target";
        evidence: String => String, false, "Evidence per guardrail (JSON)";
}

table! {
    /// `role_activity`: what each role really did, and what its functions' configuration needs.
    RoleActivityRow, "role_activity", "Per role session, action and resource: successful calls seen in CloudTrail inside the usage window (aggregated), and the calls each function's configuration needs (docs/usage.md).",
        account_id: String => String, false, "Account of the role";
        role_arn: String => String, false, "Role ARN (the session issuer)";
        session_name: String => String, false, "Role session name; for a Lambda function, its name";
        function_name: Option<String> => String, true, "The function of that name running as the role in the account and region, if there is one";
        region: String => String, false, "Region of the calls";
        action: String => String, false, "IAM action, e.g. s3:GetObject";
        resource_arn: Option<String> => String, true, "Resource acted on; null when the call names none. A Secrets Manager secret named without its ARN ends in -??????";
        first_seen: Option<i64> => TimestampMs, true, "First call (UTC); null for configuration rows";
        last_seen: Option<i64> => TimestampMs, true, "Last call (UTC); null for configuration rows";
        calls: i64 => Int64, false, "Successful calls; 0 for configuration rows";
        source: String => String, false, "cloudtrail_logs, cloudtrail_athena or configuration";
        because: Option<String> => String, true, "For configuration rows, what needs it: logs, event_source, dead_letter, destination, vpc, tracing, kms or file_system";
}

table! {
    /// `usage_coverage`: how much of the usage window a source saw, per account.
    UsageCoverageRow, "usage_coverage", "Per account and CloudTrail source: the usage window, the part of it the logs covered, and the data events the trail logs. An action the trail could not log, or any action of an account whose window is not covered, is unobservable, not unused.",
        account_id: String => String, false, "Account";
        source: String => String, false, "cloudtrail_logs or cloudtrail_athena";
        window_start: i64 => TimestampMs, false, "Start of the usage window (UTC)";
        window_end: i64 => TimestampMs, false, "End of the usage window: the scan's start (UTC)";
        covered_from: Option<i64> => TimestampMs, true, "Start of the first day with logs inside the window; null: no logs";
        covered_to: Option<i64> => TimestampMs, true, "End of the last day with logs inside the window";
        covers_window: bool => Bool, false, "The logs cover the whole window (a day of slack at each end)";
        regions: Vec<String> => StringList, false, "Regions with logs";
        data_events: Vec<String> => StringList, false, "Services whose data events the trail logs (declared with --cloudtrail-data-events or seen in the logs)";
        files: i64 => Int64, false, "Log files read with records of the account";
        records: i64 => Int64, false, "Records of the account inside the window";
}

/// Every table definition, in documentation order.
pub const TABLES: &[TableDef] = &[
    ScanRun::TABLE,
    AccountRow::TABLE,
    OrgUnitRow::TABLE,
    ScpRow::TABLE,
    FunctionRow::TABLE,
    FunctionVersionRow::TABLE,
    RoleRow::TABLE,
    RolePolicyRow::TABLE,
    RolePermissionRow::TABLE,
    RoleServiceAccessRow::TABLE,
    FindingRow::TABLE,
    FindingChangeRow::TABLE,
    InventoryChangeRow::TABLE,
    CollectionErrorRow::TABLE,
    ScpRecommendationRow::TABLE,
    RoleActivityRow::TABLE,
    UsageCoverageRow::TABLE,
];

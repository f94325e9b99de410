-- rolescope example queries. Each starts with a `-- name:` line. They use only SQL that Athena
-- and DuckDB share; the end-to-end test runs every one of them in DuckDB over a moto scan, and
-- over three scans of one day whose ids sort wrongly as text.
-- Each reads the latest scan through the `latest_scan` view (athena/views.sql): by start time,
-- never by id or date alone. Replace ${DATABASE} with your database name, or write ready-to-run
-- files with `rolescope athena-sql`.

-- name: who_can_pass_role
-- Roles that can effectively call iam:PassRole (after boundaries, SCPs and denies), in the
-- latest scan. A group holding every action of its service is stored as the pattern `iam:*`;
-- any other group lists its actions. Change both literals to ask about another action.
SELECT DISTINCT p.account_id, p.role_arn, p.status, p.resources
FROM ${DATABASE}.role_permissions p
JOIN ${DATABASE}.latest_scan l ON l.scan_id = p.scan_id AND l.dt = p.dt
WHERE p.status IN ('allowed', 'allowed_under_conditions')
  AND (p.action_pattern = 'iam:*' OR contains(p.actions, 'iam:PassRole'))
ORDER BY p.role_arn;

-- name: blocked_by_guardrails
-- What the permission boundaries and SCPs take away in the latest scan: granted by identity
-- policies, not effective.
SELECT p.status, p.service, sum(p.action_count) AS actions, count(DISTINCT p.role_arn) AS roles
FROM ${DATABASE}.role_permissions p
JOIN ${DATABASE}.latest_scan l ON l.scan_id = p.scan_id AND l.dt = p.dt
WHERE p.status IN ('blocked_by_boundary', 'blocked_by_scp', 'explicitly_denied')
GROUP BY p.status, p.service
ORDER BY actions DESC, p.service;

-- name: write_access_never_used
-- Lambda roles of the latest scan with write or permissions-management access to a service they
-- have not used (last-accessed data): candidates for removal.
SELECT a.account_id, a.role_arn, a.service, a.access_level, a.actions_granted
FROM ${DATABASE}.role_service_access a
JOIN ${DATABASE}.latest_scan l ON l.scan_id = a.scan_id AND l.dt = a.dt
JOIN ${DATABASE}.roles r ON r.role_arn = a.role_arn AND r.scan_id = a.scan_id AND r.dt = a.dt
WHERE r.is_lambda_role
  AND a.access_level IN ('Write', 'Permissions management')
  AND a.actions_granted > 0
  AND a.last_accessed_at IS NULL
ORDER BY a.actions_granted DESC, a.role_arn, a.service;

-- name: riskiest_lambda_roles
-- Riskiest Lambda execution roles in the latest scan.
SELECT r.account_id, r.role_name, r.risk_score, r.risk_level, r.function_count
FROM ${DATABASE}.roles r
JOIN ${DATABASE}.latest_scan l ON l.scan_id = r.scan_id AND l.dt = r.dt
WHERE r.is_lambda_role
ORDER BY r.risk_score DESC, r.role_arn
LIMIT 20;

-- name: public_functions
-- Functions of the latest scan that anyone can invoke, with the risk of the role they run as.
SELECT f.account_id, f.region, f.function_name, f.url_auth_type, r.risk_level AS role_risk
FROM ${DATABASE}.functions f
JOIN ${DATABASE}.latest_scan l ON l.scan_id = f.scan_id AND l.dt = f.dt
JOIN ${DATABASE}.roles r ON r.role_arn = f.role_arn AND r.scan_id = f.scan_id AND r.dt = f.dt
WHERE f.public_access
ORDER BY f.function_arn;

-- name: live_findings_by_category
-- Live (unmitigated) findings of the latest scan by category and severity.
SELECT f.category, f.severity, count(*) AS findings
FROM ${DATABASE}.findings f
JOIN ${DATABASE}.latest_scan l ON l.scan_id = f.scan_id AND l.dt = f.dt
WHERE f.mitigated_by IS NULL
GROUP BY f.category, f.severity
ORDER BY f.category, f.severity;

-- name: collection_gaps
-- What the latest scan could not read, and why.
SELECT e.operation, e.error_code, count(*) AS n
FROM ${DATABASE}.collection_errors e
JOIN ${DATABASE}.latest_scan l ON l.scan_id = e.scan_id AND l.dt = e.dt
GROUP BY 1, 2
ORDER BY n DESC, e.operation, e.error_code;

-- name: live_findings_per_scan
-- History: live findings by severity in every committed scan, oldest first.
SELECT s.started_at, s.scan_id, f.severity, count(*) AS findings
FROM ${DATABASE}.findings f
JOIN ${DATABASE}.scan_runs s ON s.scan_id = f.scan_id AND s.dt = f.dt
WHERE f.mitigated_by IS NULL
GROUP BY s.started_at, s.scan_id, f.severity
ORDER BY s.started_at, s.scan_id, f.severity;

-- name: observed_use_per_role
-- What each role of the latest scan really did, from CloudTrail: per action, how many
-- resources and calls, and the last call. Configuration needs are left out (docs/usage.md).
SELECT a.role_arn, a.action, count(DISTINCT a.resource_arn) AS resources, sum(a.calls) AS calls,
       max(a.last_seen) AS last_seen
FROM ${DATABASE}.role_activity a
JOIN ${DATABASE}.latest_scan l ON l.scan_id = a.scan_id AND l.dt = a.dt
WHERE a.source <> 'configuration'
GROUP BY a.role_arn, a.action
ORDER BY a.role_arn, a.action;

-- name: unobservable_accounts
-- Accounts of the latest scan whose CloudTrail does not cover the usage window: there, an
-- action no call shows is unobservable, not unused.
SELECT c.account_id, c.source, c.covered_from, c.covered_to, c.records
FROM ${DATABASE}.usage_coverage c
JOIN ${DATABASE}.latest_scan l ON l.scan_id = c.scan_id AND l.dt = c.dt
WHERE NOT c.covers_window
ORDER BY c.account_id, c.source;

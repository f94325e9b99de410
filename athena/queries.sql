-- rolescope example queries. Each starts with a `-- name:` line. They use only SQL that Athena
-- and DuckDB share; the end-to-end test runs every one of them in DuckDB over a moto scan.
-- Replace ${DATABASE} with your database name.

-- name: who_can_pass_role
-- Roles that can effectively call iam:PassRole (after boundaries, SCPs and denies), in the
-- latest scan. A group holding every action of its service is stored as the pattern `iam:*`;
-- any other group lists its actions. Change both literals to ask about another action.
SELECT DISTINCT p.account_id, p.role_arn, p.status, p.resources
FROM ${DATABASE}.role_permissions p
WHERE p.scan_id = (SELECT max(scan_id) FROM ${DATABASE}.scan_runs WHERE dt = (SELECT max(dt) FROM ${DATABASE}.scan_runs))
  AND p.status IN ('allowed', 'allowed_under_conditions')
  AND (p.action_pattern = 'iam:*' OR contains(p.actions, 'iam:PassRole'))
ORDER BY p.role_arn;

-- name: blocked_by_guardrails
-- What the permission boundaries and SCPs take away: granted by identity policies, not effective.
SELECT status, service, sum(action_count) AS actions, count(DISTINCT role_arn) AS roles
FROM ${DATABASE}.role_permissions
WHERE status IN ('blocked_by_boundary', 'blocked_by_scp', 'explicitly_denied')
GROUP BY status, service
ORDER BY actions DESC, service;

-- name: write_access_never_used
-- Lambda roles with write or permissions-management access to a service they have not used
-- (last-accessed data): candidates for removal.
SELECT a.account_id, a.role_arn, a.service, a.access_level, a.actions_granted
FROM ${DATABASE}.role_service_access a
JOIN ${DATABASE}.roles r ON r.role_arn = a.role_arn AND r.scan_id = a.scan_id
WHERE r.is_lambda_role
  AND a.access_level IN ('Write', 'Permissions management')
  AND a.actions_granted > 0
  AND a.last_accessed_at IS NULL
ORDER BY a.actions_granted DESC, a.role_arn, a.service;

-- name: riskiest_lambda_roles
-- Riskiest Lambda execution roles in the latest scan.
SELECT account_id, role_name, risk_score, risk_level, function_count
FROM ${DATABASE}.roles
WHERE dt = (SELECT max(dt) FROM ${DATABASE}.roles) AND is_lambda_role
ORDER BY risk_score DESC, role_arn
LIMIT 20;

-- name: public_functions
-- Functions anyone can invoke, with the risk of the role they run as.
SELECT f.account_id, f.region, f.function_name, f.url_auth_type, r.risk_level AS role_risk
FROM ${DATABASE}.functions f
JOIN ${DATABASE}.roles r ON r.role_arn = f.role_arn AND r.scan_id = f.scan_id
WHERE f.public_access
ORDER BY f.function_arn;

-- name: live_findings_by_category
SELECT category, severity, count(*) AS findings
FROM ${DATABASE}.findings
WHERE mitigated_by IS NULL
GROUP BY category, severity
ORDER BY category, severity;

-- name: collection_gaps
-- What the scan could not read, and why.
SELECT operation, error_code, count(*) AS n
FROM ${DATABASE}.collection_errors
GROUP BY 1, 2
ORDER BY n DESC, operation, error_code;

-- Flat views for QuickSight over the rolescope tables (athena/tables.sql).
-- QuickSight reads strings, integers, decimals and dates: booleans are cast to integers and list
-- columns are left out. Every view keeps only the latest scan of each day.
-- Replace ${DATABASE} with your database. The statements also run in DuckDB (tested).

-- The latest committed scan of each organization, by start time (never by id: `weekly-9` sorts
-- after `weekly-10`). Scans outside any organization (org_id null) count as one group. Every
-- example query of athena/queries.sql reads "the latest" through it.
CREATE OR REPLACE VIEW ${DATABASE}.latest_scan AS
SELECT dt, scan_id, started_at, org_id
FROM (
  SELECT s.dt, s.scan_id, s.started_at, s.org_id,
         row_number() OVER (PARTITION BY coalesce(s.org_id, '') ORDER BY s.started_at DESC, s.scan_id DESC) AS rn
  FROM ${DATABASE}.scan_runs s
) ranked
WHERE rn = 1;

CREATE OR REPLACE VIEW ${DATABASE}.v_latest_scan_per_day AS
SELECT dt, scan_id, started_at, org_id, accounts, accounts_scanned, functions, roles, findings, collection_errors
FROM (
  SELECT s.*, row_number() OVER (PARTITION BY dt ORDER BY started_at DESC) AS rn
  FROM ${DATABASE}.scan_runs s
) ranked
WHERE rn = 1;

CREATE OR REPLACE VIEW ${DATABASE}.v_account_risk AS
SELECT a.dt, a.account_id, a.account_name, a.ou_path, a.status,
       CAST(a.scanned AS integer) AS scanned, a.risk_score, a.risk_level
FROM ${DATABASE}.accounts a
JOIN ${DATABASE}.v_latest_scan_per_day l ON l.scan_id = a.scan_id AND l.dt = a.dt;

CREATE OR REPLACE VIEW ${DATABASE}.v_ou_risk AS
SELECT o.dt, o.ou_id, o.name, o.path, o.risk_score, o.risk_level
FROM ${DATABASE}.org_units o
JOIN ${DATABASE}.v_latest_scan_per_day l ON l.scan_id = o.scan_id AND l.dt = o.dt;

CREATE OR REPLACE VIEW ${DATABASE}.v_top_roles AS
SELECT r.dt, r.account_id, r.role_name, r.role_arn, r.function_count, r.allowed_actions,
       r.risk_score, r.risk_level, CAST(r.boundary_arn IS NOT NULL AS integer) AS has_boundary
FROM ${DATABASE}.roles r
JOIN ${DATABASE}.v_latest_scan_per_day l ON l.scan_id = r.scan_id AND l.dt = r.dt
WHERE r.is_lambda_role;

CREATE OR REPLACE VIEW ${DATABASE}.v_findings_by_category AS
SELECT f.dt, f.account_id, f.category, f.severity, f.check_id, count(*) AS findings
FROM ${DATABASE}.findings f
JOIN ${DATABASE}.v_latest_scan_per_day l ON l.scan_id = f.scan_id AND l.dt = f.dt
WHERE f.mitigated_by IS NULL
GROUP BY f.dt, f.account_id, f.category, f.severity, f.check_id;

CREATE OR REPLACE VIEW ${DATABASE}.v_public_functions AS
SELECT f.dt, f.account_id, f.region, f.function_name, f.function_arn, f.url_auth_type,
       f.risk_score, f.risk_level, r.role_name, r.risk_level AS role_risk_level
FROM ${DATABASE}.functions f
JOIN ${DATABASE}.v_latest_scan_per_day l ON l.scan_id = f.scan_id AND l.dt = f.dt
LEFT JOIN ${DATABASE}.roles r ON r.role_arn = f.role_arn AND r.scan_id = f.scan_id
WHERE f.public_access;

-- Scan history (docs/history.md): the rows a scan wrote about its baseline.
CREATE OR REPLACE VIEW ${DATABASE}.v_open_findings_per_day AS
SELECT f.dt, f.severity, f.account_id, a.ou_path, count(*) AS findings
FROM ${DATABASE}.findings f
JOIN ${DATABASE}.v_latest_scan_per_day l ON l.scan_id = f.scan_id AND l.dt = f.dt
LEFT JOIN ${DATABASE}.accounts a ON a.account_id = f.account_id AND a.scan_id = f.scan_id
WHERE f.mitigated_by IS NULL
GROUP BY f.dt, f.severity, f.account_id, a.ou_path;

CREATE OR REPLACE VIEW ${DATABASE}.v_finding_changes_per_scan AS
SELECT c.dt, c.scan_id, c.previous_scan_id, c.change, c.severity, count(*) AS findings
FROM ${DATABASE}.finding_changes c
JOIN ${DATABASE}.scan_runs s ON s.scan_id = c.scan_id AND s.dt = c.dt
GROUP BY c.dt, c.scan_id, c.previous_scan_id, c.change, c.severity;

CREATE OR REPLACE VIEW ${DATABASE}.v_time_to_resolve AS
SELECT c.dt, c.scan_id, c.finding_id, c.check_id, c.severity, c.account_id, c.resource_arn,
       c.first_seen, c.changed_at AS resolved_at,
       date_diff('day', c.first_seen, c.changed_at) AS days_open
FROM ${DATABASE}.finding_changes c
JOIN ${DATABASE}.scan_runs s ON s.scan_id = c.scan_id AND s.dt = c.dt
WHERE c.change = 'resolved' AND c.first_seen IS NOT NULL;

CREATE OR REPLACE VIEW ${DATABASE}.v_oldest_open_critical AS
SELECT f.dt, f.finding_id, f.check_id, f.account_id, f.resource_arn, f.title, f.first_seen,
       date_diff('day', f.first_seen, l.started_at) AS days_open
FROM ${DATABASE}.findings f
JOIN ${DATABASE}.v_latest_scan_per_day l ON l.scan_id = f.scan_id AND l.dt = f.dt
WHERE f.severity = 'critical' AND f.mitigated_by IS NULL;

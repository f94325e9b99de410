// Test-only bridge to the IAM decision oracle (@cloud-copilot/iam-simulate, AGPL-3.0).
// Run as a separate process by the differential tests; never linked, vendored or shipped.
// Reads rolescope simulate cases (JSON Lines) on stdin, writes one line per case on stdout:
// {"id", "decision"} or {"id", "error"} when the oracle rejects the case.
'use strict';
const { runSimulation } = require('@cloud-copilot/iam-simulate');

function accountOf(arn) {
  const parts = String(arn).split(':');
  return parts.length >= 6 && parts[4] ? parts[4] : undefined;
}

function toSimulation(c) {
  const principalAccount = accountOf(c.principal);
  return {
    request: {
      principal: c.principal,
      action: c.action,
      resource: { resource: c.resource, accountId: c.resourceAccount || principalAccount },
      contextVariables: c.context || {},
    },
    identityPolicies: (c.identity || []).map((policy, i) => ({ name: `identity-${i}`, policy })),
    permissionBoundaryPolicies: c.boundary ? (Array.isArray(c.boundary) ? c.boundary : [c.boundary]).map((policy, i) => ({ name: `boundary-${i}`, policy })) : undefined,
    serviceControlPolicies: (c.scps || []).map((level, i) => ({
      orgIdentifier: i === 0 ? 'r-root' : `ou-level-${i}`,
      policies: level.map((policy, j) => ({ name: `scp-${i}-${j}`, policy })),
    })),
    resourceControlPolicies: [],
    resourcePolicy: c.resourcePolicy || undefined,
  };
}

async function main() {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const out = [];
  for (const line of input.split('\n')) {
    if (!line.trim()) continue;
    const c = JSON.parse(line);
    try {
      const r = await runSimulation(toSimulation(c), {});
      if (r.resultType === 'error') {
        out.push(JSON.stringify({ id: c.id, error: JSON.stringify(r.errors).slice(0, 400) }));
      } else {
        out.push(JSON.stringify({ id: c.id, decision: r.overallResult }));
      }
    } catch (e) {
      out.push(JSON.stringify({ id: c.id, error: String(e && e.message || e).slice(0, 400) }));
    }
  }
  process.stdout.write(out.join('\n') + '\n');
}

main().catch((e) => { console.error(e); process.exit(1); });

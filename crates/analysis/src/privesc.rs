//! Privilege-escalation paths, judged on EFFECTIVE permissions.
//!
//! A method is a set of actions that together let a principal gain more privilege (the 59
//! combinations Cloudsplaining checks, `data/privesc-methods.json`, plus Lambda-specific paths).
//! A method is *live* when every one of its actions is effectively allowed; it is *mitigated*
//! when the identity policies grant every action but a permission boundary, an SCP or an explicit
//! deny removes at least one — the report then says which gate did.

use rolescope_policy::catalog::Catalog;
use rolescope_policy::summary::{GrantStatus, Summary};
use serde::Serialize;
use std::sync::OnceLock;

static CLOUDSPLAINING_METHODS: &str = include_str!("../data/privesc-methods.json");

/// Lambda paths beyond the Cloudsplaining list: changing what an existing function runs, or its
/// layers, executes code with that function's (possibly more privileged) role.
const LAMBDA_METHODS: &[(&str, &[&str])] = &[
    (
        "UpdateExistingLambdaFunctionCode",
        &["lambda:updatefunctioncode"],
    ),
    (
        "UpdateExistingLambdaFunctionLayers",
        &[
            "lambda:updatefunctionconfiguration",
            "lambda:publishlayerversion",
        ],
    ),
];

/// A privilege-escalation method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Method {
    /// Method name.
    pub name: String,
    /// Required actions, lower-case `service:action`.
    pub actions: Vec<String>,
}

/// All methods: the Cloudsplaining list plus the Lambda paths, sorted by name.
pub fn methods() -> &'static [Method] {
    static METHODS: OnceLock<Vec<Method>> = OnceLock::new();
    METHODS.get_or_init(|| {
        let parsed: std::collections::BTreeMap<String, Vec<String>> =
            serde_json::from_str(CLOUDSPLAINING_METHODS)
                .expect("embedded method list is valid JSON (tested)");
        let mut all: Vec<Method> = parsed
            .into_iter()
            .map(|(name, actions)| Method { name, actions })
            .collect();
        all.extend(LAMBDA_METHODS.iter().map(|(name, actions)| Method {
            name: (*name).to_string(),
            actions: actions.iter().map(|a| (*a).to_string()).collect(),
        }));
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    })
}

/// What stops a method whose actions are all granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mitigation {
    /// The permission boundary does not allow an action.
    PermissionBoundary,
    /// An SCP level does not allow an action.
    Scp,
    /// An explicit deny removes an action.
    ExplicitDeny,
}

/// A method the identity policies grant in full.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Path {
    /// Method name.
    pub method: String,
    /// Each required action with its effective status.
    pub actions: Vec<(String, GrantStatus)>,
    /// True when every action is effectively allowed (possibly under conditions).
    pub live: bool,
    /// True when some action is allowed only under conditions.
    pub conditional: bool,
    /// For a method that is not live: the gate that blocks it.
    pub mitigated_by: Option<Mitigation>,
}

/// Every method whose actions the identity policies all grant, live or mitigated.
pub fn escalation_paths(cat: &Catalog, summary: &Summary) -> Vec<Path> {
    let mut out = Vec::new();
    'method: for m in methods() {
        let mut actions = Vec::with_capacity(m.actions.len());
        for a in &m.actions {
            let Some(id) = cat.action_id(a) else {
                continue 'method;
            };
            let Some(grant) = summary.get(id) else {
                continue 'method;
            };
            actions.push((cat.actions[id as usize].full_name.clone(), grant.status));
        }
        let blocked = actions.iter().map(|(_, s)| *s).find(|s| !s.is_allowed());
        let mitigated_by = blocked.map(|s| match s {
            GrantStatus::BlockedByBoundary => Mitigation::PermissionBoundary,
            GrantStatus::BlockedByScp => Mitigation::Scp,
            _ => Mitigation::ExplicitDeny,
        });
        let conditional = actions
            .iter()
            .any(|(_, s)| *s == GrantStatus::AllowedUnderConditions);
        out.push(Path {
            method: m.name.clone(),
            live: blocked.is_none(),
            conditional,
            mitigated_by,
            actions,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rolescope_policy::summary::{PrincipalPolicies, effective_permissions};
    use rolescope_policy::{Policy, catalog};

    fn p(json: &str) -> Policy {
        Policy::parse(json).unwrap()
    }

    fn paths(identity: &[Policy], boundary: Option<&Policy>, scps: &[Vec<Policy>]) -> Vec<Path> {
        let s = effective_permissions(
            catalog(),
            &PrincipalPolicies {
                identity,
                boundary,
                scps,
            },
        );
        escalation_paths(catalog(), &s)
    }

    fn find<'a>(paths: &'a [Path], name: &str) -> Option<&'a Path> {
        paths.iter().find(|p| p.method == name)
    }

    #[test]
    fn every_method_names_catalog_actions() {
        assert_eq!(methods().len(), 59 + LAMBDA_METHODS.len());
        for m in methods() {
            for a in &m.actions {
                assert!(
                    catalog().action(a).is_some(),
                    "{}: unknown action {a}",
                    m.name
                );
            }
        }
    }

    #[test]
    fn pass_role_to_new_lambda_is_live_then_mitigated() {
        let identity = [p(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:PassRole","lambda:CreateFunction","lambda:InvokeFunction"],"Resource":"*"}]}"#,
        )];
        let live = paths(&identity, None, &[]);
        let path = find(&live, "PassExistingRoleToNewLambdaThenInvoke").expect("found");
        assert!(path.live && path.mitigated_by.is_none());
        assert!(
            find(&live, "CreateAccessKey").is_none(),
            "not granted, not reported"
        );

        let boundary = p(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}"#,
        );
        let bounded = paths(&identity, Some(&boundary), &[]);
        let path = find(&bounded, "PassExistingRoleToNewLambdaThenInvoke").unwrap();
        assert!(!path.live);
        assert_eq!(path.mitigated_by, Some(Mitigation::PermissionBoundary));

        let scps = vec![vec![p(
            r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"iam:PassRole","Resource":"*"}]}"#,
        )]];
        let denied = paths(&identity, None, &scps);
        assert_eq!(
            find(&denied, "PassExistingRoleToNewLambdaThenInvoke")
                .unwrap()
                .mitigated_by,
            Some(Mitigation::ExplicitDeny)
        );

        let scps = vec![vec![p(
            r#"{"Statement":[{"Effect":"Allow","NotAction":"lambda:*","Resource":"*"}]}"#,
        )]];
        let gated = paths(&identity, None, &scps);
        assert_eq!(
            find(&gated, "PassExistingRoleToNewLambdaThenInvoke")
                .unwrap()
                .mitigated_by,
            Some(Mitigation::Scp)
        );
    }

    #[test]
    fn admin_grants_every_method_and_conditions_are_flagged() {
        let admin = [p(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
        )];
        let all = paths(&admin, None, &[]);
        assert_eq!(all.len(), methods().len());
        assert!(all.iter().all(|p| p.live && !p.conditional));
        let conditional = [p(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:UpdateFunctionCode","Resource":"arn:aws:lambda:*:*:function:app-*"}]}"#,
        )];
        let found = paths(&conditional, None, &[]);
        let path = find(&found, "UpdateExistingLambdaFunctionCode").unwrap();
        assert!(path.live && path.conditional);
    }
}

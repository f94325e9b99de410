//! Assumed-role credentials for member accounts: one explicit AssumeRole (so a denied role is a
//! clean `AccessDenied` row), then a provider that re-assumes before the session expires.

use crate::ctx::{Ctx, Lane};
use crate::limiter::RateClass;
use aws_credential_types::Credentials;
use aws_credential_types::provider::{
    ProvideCredentials, SharedCredentialsProvider, error::CredentialsError, future,
};
use aws_sdk_sts as sts;
use rolescope_model::{AccountId, CollectionError};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

#[derive(Debug)]
struct AssumedRole {
    ctx: Arc<Ctx>,
    sts: sts::Client,
    account: AccountId,
    /// The calling account, whose STS quota every AssumeRole counts against.
    caller: AccountId,
    role_arn: String,
    session_name: String,
    external_id: Option<String>,
    duration: Duration,
    /// The current session, shared by every client of the account (the SDK keeps one identity
    /// cache per client type, so without this each would assume the role again).
    current: tokio::sync::Mutex<Option<Credentials>>,
}

/// Re-assume when the session has less than this left.
const REFRESH_BEFORE: Duration = Duration::from_secs(300);

impl AssumedRole {
    async fn assume(&self, refresh: bool) -> Result<Credentials, CollectionError> {
        let lane = Lane::discovery(&self.caller);
        let request = || {
            self.sts
                .assume_role()
                .role_arn(&self.role_arn)
                .role_session_name(&self.session_name)
                .set_external_id(self.external_id.clone())
                .duration_seconds(self.duration.as_secs().clamp(900, 43_200) as i32)
                .send()
        };
        let out = if refresh {
            self.ctx
                .call_for_credentials(&lane, RateClass::Sts, "sts", "AssumeRole", request)
                .await
        } else {
            self.ctx
                .call(&lane, RateClass::Sts, "sts", "AssumeRole", request)
                .await
        }
        // Paced on the caller's lane, but the gap is the member account's.
        .map_err(|mut e| {
            e.account_id = Some(self.account.clone());
            e
        })?;
        let c = out.credentials().ok_or_else(|| CollectionError {
            resource_arn: None,
            account_id: Some(self.account.clone()),
            region: None,
            service: "sts".into(),
            operation: "AssumeRole".into(),
            error_code: "MissingCredentials".into(),
            message: format!("AssumeRole of {} returned no credentials", self.role_arn),
        })?;
        let expiry = SystemTime::try_from(*c.expiration()).ok();
        Ok(Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            expiry,
            "rolescope-assume-role",
        ))
    }
}

impl ProvideCredentials for AssumedRole {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            // One refresh at a time per account; the others wait and reuse it.
            let mut current = self.current.lock().await;
            let fresh = current.as_ref().filter(|c| {
                c.expiry()
                    .is_none_or(|e| e > SystemTime::now() + REFRESH_BEFORE)
            });
            if let Some(c) = fresh {
                return Ok(c.clone());
            }
            let c = self.assume(true).await.map_err(|e| {
                CredentialsError::provider_error(format!("{}: {}", e.error_code, e.message))
            })?;
            *current = Some(c.clone());
            Ok(c)
        })
    }
}

/// The SDK configuration for a member account, or the AssumeRole failure as a collection error.
pub(crate) async fn assume(
    ctx: &Arc<Ctx>,
    shared: &crate::Shared,
    account: &AccountId,
    role_arn: &str,
) -> Result<aws_config::SdkConfig, CollectionError> {
    let config = &shared.config;
    let sts = shared.sts.clone();
    let provider = AssumedRole {
        ctx: ctx.clone(),
        sts,
        account: account.clone(),
        caller: shared.caller.clone(),
        role_arn: role_arn.to_string(),
        session_name: config.session_name.clone(),
        external_id: config.external_id.clone(),
        duration: config.session_duration,
        current: tokio::sync::Mutex::new(None),
    };
    let first = provider.assume(false).await.map_err(|mut e| {
        e.message = format!("assuming {role_arn}: {}", e.message);
        e
    })?;
    *provider.current.lock().await = Some(first);
    Ok(shared
        .base
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(provider))
        .build())
}

//! `--out`: a local folder or `s3://bucket/prefix`, and the snapshot written there.

use anyhow::{Context, Result};
use rolescope_exporter::{Destination, S3Credentials, S3Options};

/// Where the output of a command goes, checked writable (a probe object is created and removed)
/// before any work starts. For `s3://`, credentials come from the standard AWS chain (honouring
/// `profile`); `endpoint_url` (or `AWS_ENDPOINT_URL`) points at an S3-compatible store.
pub fn destination(
    out: &str,
    profile: Option<&str>,
    endpoint_url: Option<&str>,
    region: Option<&str>,
) -> Result<Destination> {
    let dest = resolve(out, profile, endpoint_url, region)?;
    dest.probe()
        .context("preflight: the output cannot be written, so nothing was started")?;
    Ok(dest)
}

fn resolve(
    out: &str,
    profile: Option<&str>,
    endpoint_url: Option<&str>,
    region: Option<&str>,
) -> Result<Destination> {
    if !out.starts_with("s3://") {
        return Destination::parse(out, &S3Options::default()).map_err(Into::into);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let resolved = runtime
        .block_on(rolescope_collector::resolve_credentials(profile))
        .map_err(|e| anyhow::anyhow!("{}: {}", e.error_code, e.message))
        .with_context(|| format!("credentials for {out}"))?;
    let options = S3Options {
        region: region.map(str::to_string).or(resolved.region),
        endpoint_url: endpoint_url
            .map(str::to_string)
            .or_else(|| std::env::var("AWS_ENDPOINT_URL_S3").ok())
            .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok()),
        credentials: Some(S3Credentials {
            access_key_id: resolved.access_key_id,
            secret_access_key: resolved.secret_access_key,
            session_token: resolved.session_token,
        }),
    };
    Destination::parse(out, &options).map_err(Into::into)
}

/// How to reach an `s3://` output: flags shared by the commands that only write (`plan`,
/// `finalize`).
#[derive(Debug, clap::Args)]
pub struct S3Flags {
    /// Named AWS profile for an s3:// --out.
    #[arg(long)]
    pub profile: Option<String>,
    /// Endpoint of an S3-compatible store for an s3:// --out.
    #[arg(long)]
    pub endpoint_url: Option<String>,
}

impl S3Flags {
    /// The destination `out` names, probed.
    pub fn destination(&self, out: &str) -> anyhow::Result<rolescope_exporter::Destination> {
        destination(
            out,
            self.profile.as_deref(),
            self.endpoint_url.as_deref(),
            None,
        )
    }
}

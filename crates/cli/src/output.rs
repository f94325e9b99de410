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

/// CloudTrail log files under an S3 prefix (`--cloudtrail-logs s3://…`), read through the
/// exporter's storage door with the caller's credentials: a level listed at a time, so the
/// reader's layout pruning decides what is listed.
pub struct S3Logs {
    dest: Destination,
    url: String,
}

impl S3Logs {
    /// Open the prefix; nothing is written to it (no preflight probe).
    pub fn open(url: &str, aws: &rolescope_collector::CollectorConfig) -> Result<S3Logs> {
        let dest = resolve(
            url,
            aws.profile.as_deref(),
            aws.endpoint_url.as_deref(),
            None,
        )
        .with_context(|| format!("--cloudtrail-logs {url}"))?;
        Ok(S3Logs {
            dest,
            url: url.trim_end_matches('/').to_string(),
        })
    }
}

fn io_error(e: rolescope_exporter::destination::DestinationError) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

impl rolescope_collector::cloudtrail::LogStore for S3Logs {
    fn level(&self, dir: &str) -> std::io::Result<rolescope_collector::cloudtrail::Level> {
        let (dirs, files) = self.dest.list_level(dir).map_err(io_error)?;
        Ok(rolescope_collector::cloudtrail::Level { dirs, files })
    }

    fn read(&self, path: &str, limit: u64) -> std::io::Result<Vec<u8>> {
        match self.dest.read_small(path).map_err(io_error)? {
            Some(bytes) if bytes.len() as u64 <= limit => Ok(bytes),
            Some(_) => Err(std::io::Error::other(format!("larger than {limit} bytes"))),
            None => Err(std::io::ErrorKind::NotFound.into()),
        }
    }

    fn name(&self, path: &str) -> String {
        format!("{}/{path}", self.url)
    }
}

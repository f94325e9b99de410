//! One writer per scan id and destination: the lock object `.locks/<scan-id>.lock`, taken
//! before collection and held to the commit.

use crate::PipelineError;
use rolescope_exporter::Destination;

/// One writer per scan id and destination: held from before collection to the commit, removed
/// when dropped. A second run with the same scan id into the same destination is refused.
#[derive(Debug)]
pub struct ScanLock<'d> {
    pub(crate) dest: &'d Destination,
    pub(crate) key: String,
    pub(crate) scan_id: String,
}

impl Drop for ScanLock<'_> {
    fn drop(&mut self) {
        let _ = self.dest.delete(&self.key);
    }
}

/// This process, as a lock names its holder: `pid 1234 on host`.
fn holder() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown host".into());
    format!("pid {} on {host}", std::process::id())
}

/// Whether a lock's holder is a process of this host that no longer runs (a run killed with -9).
fn stale(holder: &str) -> bool {
    let mine = self::holder();
    let host_of = |h: &str| h.split_once(" on ").map(|(_, host)| host.to_string());
    let pid = holder
        .strip_prefix("pid ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|p| p.parse::<u32>().ok());
    match pid {
        Some(pid) if host_of(holder) == host_of(&mine) && host_of(&mine).is_some() => {
            std::path::Path::new("/proc").exists()
                && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        }
        _ => false,
    }
}

/// Take the lock of a scan id in a destination: `.locks/<scan-id>.lock`, created only if
/// absent (a local exclusive create, an S3 conditional PUT). A lock left by a killed run of
/// this host is taken over; any other held lock refuses the run, naming its holder.
pub fn lock<'d>(dest: &'d Destination, scan_id: &str) -> Result<ScanLock<'d>, PipelineError> {
    rolescope_model::valid::scan_id(scan_id)?;
    let key = format!(".locks/{scan_id}.lock");
    let me = holder();
    for _ in 0..2 {
        if dest
            .create_exclusive(&key, me.as_bytes())
            .map_err(PipelineError::Lock)?
        {
            return Ok(ScanLock {
                dest,
                key,
                scan_id: scan_id.to_string(),
            });
        }
        let held = dest.read_small(&key).map_err(PipelineError::Lock)?;
        let held = String::from_utf8_lossy(held.as_deref().unwrap_or_default()).into_owned();
        if !stale(&held) {
            return Err(PipelineError::Locked {
                scan_id: scan_id.to_string(),
                holder: held,
                lock: dest.location(&key),
            });
        }
        tracing::warn!(lock = %dest.location(&key), holder = %held, "taking over the lock of a run that no longer runs");
        dest.delete(&key).map_err(PipelineError::Lock)?;
    }
    Err(PipelineError::Locked {
        scan_id: scan_id.to_string(),
        holder: "a run that took it at the same moment".into(),
        lock: dest.location(&key),
    })
}

//! Where datasets go: a local folder or `s3://bucket/prefix`.
//!
//! Both keep the same promise: an object appears under its final name only when complete. Locally
//! a file is written under a hidden temporary name (`.name.partial`, which Athena and Hive-style
//! readers skip), synced, then renamed. On S3 a PUT or a completed multipart upload is atomic by
//! nature; a failed multipart upload is aborted.

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt, PutPayload};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Bytes per multipart part; objects up to this size go in one PUT.
pub const PART_BYTES: usize = 8 * 1024 * 1024;

/// Static credentials for S3, resolved by the caller (the binary uses the standard AWS chain).
#[derive(Clone, Default)]
pub struct S3Credentials {
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// Session token.
    pub session_token: Option<String>,
}

impl std::fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Credentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// Options for `s3://` destinations.
#[derive(Debug, Clone, Default)]
pub struct S3Options {
    /// Bucket region (default: `AWS_REGION` / `AWS_DEFAULT_REGION`, else us-east-1).
    pub region: Option<String>,
    /// Endpoint override (an S3-compatible store or an emulator); path-style requests.
    pub endpoint_url: Option<String>,
    /// Credentials; when absent, the environment variables, web identity, container and
    /// instance credentials are used.
    pub credentials: Option<S3Credentials>,
}

/// A destination failed.
#[derive(Debug, thiserror::Error)]
pub enum DestinationError {
    /// The `--out` value is not a folder or an `s3://bucket[/prefix]` URL.
    #[error("output {out:?}: {message}")]
    Invalid {
        /// What was given.
        out: String,
        /// Why it is refused.
        message: String,
    },
    /// A local write failed.
    #[error("writing {path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error (in the message, not chained: the path is named once).
        error: std::io::Error,
    },
    /// An S3 request failed.
    #[error("writing {url}: {message}")]
    S3 {
        /// The object.
        url: String,
        /// What S3 (or the connection) said, once: the S3 error code and message when the
        /// answer carries them, else the innermost error of the chain.
        message: String,
    },
    /// An object read back (a committed scan's file) is not what it should be.
    #[error("reading {location}: {message}")]
    Corrupt {
        /// The object.
        location: String,
        /// What is wrong with it.
        message: String,
    },
}

/// A local folder or an S3 prefix.
#[derive(Debug)]
pub enum Destination {
    /// A local folder.
    Local(PathBuf),
    /// `s3://bucket/prefix`.
    S3(S3Destination),
}

/// An S3 prefix with its client and a small runtime of its own (the export is synchronous).
#[derive(Debug)]
pub struct S3Destination {
    bucket: String,
    prefix: String,
    store: Arc<AmazonS3>,
    runtime: tokio::runtime::Runtime,
}

impl Destination {
    /// A local folder.
    pub fn local(dir: impl Into<PathBuf>) -> Self {
        Destination::Local(dir.into())
    }

    /// Parse `--out`: `s3://bucket[/prefix]` or a local path.
    pub fn parse(out: &str, options: &S3Options) -> Result<Self, DestinationError> {
        if out.trim().is_empty() {
            // An empty path would write into the current directory.
            return Err(DestinationError::Invalid {
                out: out.into(),
                message: "the destination is empty; name a folder or an s3:// URL".into(),
            });
        }
        if out.len() >= 3 && out[..3].eq_ignore_ascii_case("s3:") && !out.starts_with("s3://") {
            // `s3:/bucket/x` would otherwise become a local folder named `s3:`.
            return Err(DestinationError::Invalid {
                out: out.into(),
                message: format!(
                    "not an S3 URL; did you mean s3://{}?",
                    out[3..].trim_start_matches('/')
                ),
            });
        }
        let Some(rest) = out.strip_prefix("s3://") else {
            if out.contains("://") {
                return Err(DestinationError::Invalid {
                    out: out.into(),
                    message: "only local folders and s3:// URLs are supported".into(),
                });
            }
            return Ok(Destination::Local(PathBuf::from(out)));
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(DestinationError::Invalid {
                out: out.into(),
                message: "no bucket name".into(),
            });
        }
        let invalid = |message: String| DestinationError::Invalid {
            out: out.into(),
            message,
        };
        // reqwest is built without a bundled TLS provider: use ring, like the AWS SDK clients.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            // Bounded: a frozen endpoint fails a request in 30 s and a call in about 90 s
            // (object_store's defaults retry for 3 minutes after 30 s attempts: ~6 minutes).
            .with_client_options(
                ClientOptions::new()
                    .with_allow_http(true)
                    .with_timeout(std::time::Duration::from_secs(30))
                    .with_connect_timeout(std::time::Duration::from_secs(5)),
            )
            .with_retry(object_store::RetryConfig {
                max_retries: 3,
                retry_timeout: std::time::Duration::from_secs(60),
                ..Default::default()
            });
        if let Some(region) = options.region.clone().or_else(|| {
            std::env::var("AWS_REGION")
                .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
                .ok()
        }) {
            builder = builder.with_region(region);
        }
        if let Some(endpoint) = &options.endpoint_url {
            builder = builder
                .with_endpoint(endpoint)
                .with_virtual_hosted_style_request(false);
        }
        if let Some(c) = &options.credentials {
            builder = builder
                .with_access_key_id(&c.access_key_id)
                .with_secret_access_key(&c.secret_access_key);
            if let Some(t) = &c.session_token {
                builder = builder.with_token(t);
            }
        }
        let store = builder.build().map_err(|e| invalid(e.to_string()))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| invalid(format!("starting the upload runtime: {e}")))?;
        Ok(Destination::S3(S3Destination {
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
            store: Arc::new(store),
            runtime,
        }))
    }

    /// Store `bytes` under `key` (a `/`-separated relative path) atomically; returns where it
    /// went (a path or an `s3://` URL).
    pub fn put(&self, key: &str, bytes: Vec<u8>) -> Result<String, DestinationError> {
        match self {
            Destination::Local(dir) => {
                let path = dir.join(key);
                write_file_atomically(&path, &bytes)?;
                Ok(path.display().to_string())
            }
            Destination::S3(s3) => s3.put(key, bytes),
        }
    }

    /// Store what `write` writes under `key` atomically, streaming it (see [`Destination::writer`]).
    pub fn put_streamed(
        &self,
        key: &str,
        write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
    ) -> Result<String, DestinationError> {
        let mut object = self.writer(key)?;
        if let Err(e) = write(&mut object) {
            return Err(object.failed(e));
        }
        object.commit()
    }

    /// Start an object under `key`, streamed: a local file is written under a hidden temporary
    /// name and renamed on [`ObjectWriter::commit`]; an S3 object goes up in 8 MiB parts and is
    /// completed on commit. Large objects (a snapshot of 300,000 functions, a table of millions
    /// of rows) are never held in memory whole. A writer dropped without commit leaves nothing.
    pub fn writer(&self, key: &str) -> Result<ObjectWriter<'_>, DestinationError> {
        let location = self.location(key);
        let state = match self {
            Destination::Local(dir) => {
                let path = dir.join(key);
                let io = |error| DestinationError::Io {
                    path: path.clone(),
                    error,
                };
                let parent = path.parent().unwrap_or(Path::new("."));
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let tmp = parent.join(format!(".{name}.partial"));
                std::fs::create_dir_all(parent).map_err(io)?;
                let file = std::fs::File::create(&tmp).map_err(io)?;
                WriterState::Local {
                    file: std::io::BufWriter::with_capacity(1 << 20, file),
                    tmp,
                    path,
                }
            }
            Destination::S3(s3) => WriterState::S3(PartWriter {
                s3,
                path: s3.object(key),
                buffer: Vec::with_capacity(PART_BYTES),
                upload: None,
            }),
        };
        Ok(ObjectWriter {
            state: Some(state),
            location,
        })
    }

    /// Remove the object under `key`; an object that is not there is no error.
    pub fn delete(&self, key: &str) -> Result<(), DestinationError> {
        match self {
            Destination::Local(dir) => {
                let path = dir.join(key);
                match std::fs::remove_file(&path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        Err(DestinationError::Io { path, error: e })
                    }
                    _ => Ok(()),
                }
            }
            Destination::S3(s3) => {
                let path = s3.object(key);
                match s3.runtime.block_on(s3.store.delete(&path)) {
                    Err(object_store::Error::NotFound { .. }) | Ok(()) => Ok(()),
                    Err(e) => Err(DestinationError::S3 {
                        url: s3.url(key),
                        message: s3_message(&e),
                    }),
                }
            }
        }
    }

    /// Create `key` only if nothing is there yet (a local `create_new`, an S3 conditional PUT
    /// with `If-None-Match: *`); `Ok(false)` when it already exists. The lock of a scan.
    pub fn create_exclusive(&self, key: &str, bytes: &[u8]) -> Result<bool, DestinationError> {
        match self {
            Destination::Local(dir) => {
                use std::io::Write as _;
                let path = dir.join(key);
                let io = |error| DestinationError::Io {
                    path: path.clone(),
                    error,
                };
                std::fs::create_dir_all(path.parent().unwrap_or(dir)).map_err(io)?;
                match std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&path)
                {
                    Ok(mut file) => {
                        file.write_all(bytes)
                            .and_then(|()| file.sync_all())
                            .map_err(io)?;
                        Ok(true)
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
                    Err(e) => Err(io(e)),
                }
            }
            Destination::S3(s3) => {
                let options = object_store::PutOptions {
                    mode: object_store::PutMode::Create,
                    ..Default::default()
                };
                let path = s3.object(key);
                let put = s3
                    .store
                    .put_opts(&path, PutPayload::from(bytes.to_vec()), options);
                match s3.runtime.block_on(put) {
                    Ok(_) => Ok(true),
                    Err(
                        object_store::Error::AlreadyExists { .. }
                        | object_store::Error::Precondition { .. },
                    ) => Ok(false),
                    Err(e) => Err(DestinationError::S3 {
                        url: s3.url(key),
                        message: s3_message(&e),
                    }),
                }
            }
        }
    }

    /// The content of a small object, if it exists.
    pub fn read_small(&self, key: &str) -> Result<Option<Vec<u8>>, DestinationError> {
        match self {
            Destination::Local(dir) => match std::fs::read(dir.join(key)) {
                Ok(bytes) => Ok(Some(bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(error) => Err(DestinationError::Io {
                    path: dir.join(key),
                    error,
                }),
            },
            Destination::S3(s3) => {
                let path = s3.object(key);
                let got = s3.runtime.block_on(async {
                    let r = s3.store.get(&path).await?;
                    r.bytes().await
                });
                match got {
                    Ok(bytes) => Ok(Some(bytes.to_vec())),
                    Err(object_store::Error::NotFound { .. }) => Ok(None),
                    Err(e) => Err(DestinationError::S3 {
                        url: s3.url(key),
                        message: s3_message(&e),
                    }),
                }
            }
        }
    }

    /// One level under `dir` (relative, `""` for the top): the names of its sub-folders and of
    /// its objects, each sorted (ListObjectsV2 with a delimiter on S3). An absent folder is empty.
    pub fn list_level(&self, dir: &str) -> Result<(Vec<String>, Vec<String>), DestinationError> {
        let (mut dirs, mut files) = (Vec::new(), Vec::new());
        match self {
            Destination::Local(root) => {
                for entry in dir_entries(&root.join(dir))? {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if entry.path().is_dir() {
                        dirs.push(name);
                    } else {
                        files.push(name);
                    }
                }
            }
            Destination::S3(s3) => {
                let listed = s3.level(&s3.object(dir.trim_end_matches('/')))?;
                let last = |p: &object_store::path::Path| {
                    p.parts()
                        .next_back()
                        .map(|x| x.as_ref().to_string())
                        .unwrap_or_default()
                };
                dirs.extend(listed.common_prefixes.iter().map(last));
                files.extend(listed.objects.iter().map(|o| last(&o.location)));
            }
        }
        dirs.sort();
        files.sort();
        Ok((dirs, files))
    }

    /// The keys under `prefix` (relative to the destination, e.g. `scan_runs/`), sorted; an
    /// absent prefix lists nothing.
    pub fn list(&self, prefix: &str) -> Result<Vec<String>, DestinationError> {
        let mut keys = match self {
            Destination::Local(dir) => {
                let mut keys = Vec::new();
                let mut stack = vec![dir.join(prefix)];
                while let Some(at) = stack.pop() {
                    for entry in dir_entries(&at)? {
                        let path = entry.path();
                        if path.is_dir() {
                            stack.push(path);
                        } else if let Ok(rel) = path.strip_prefix(dir) {
                            keys.push(rel.to_string_lossy().replace('\\', "/"));
                        }
                    }
                }
                keys
            }
            Destination::S3(s3) => {
                // One level at a time (ListObjectsV2 with a delimiter): no stream machinery.
                let mut keys = Vec::new();
                let mut stack = vec![s3.object(prefix.trim_end_matches('/'))];
                let root = s3.object("");
                while let Some(at) = stack.pop() {
                    let listed = s3.level(&at)?;
                    stack.extend(listed.common_prefixes);
                    for o in listed.objects {
                        let full = o.location.to_string();
                        let rel = if s3.prefix.is_empty() {
                            full
                        } else {
                            full.strip_prefix(&format!("{root}/"))
                                .or_else(|| full.strip_prefix(&format!("{}/", s3.prefix)))
                                .unwrap_or(&full)
                                .to_string()
                        };
                        keys.push(rel);
                    }
                }
                keys
            }
        };
        keys.sort();
        Ok(keys)
    }

    /// Preflight: create and remove a small object, so that an output that cannot be written
    /// (a read-only folder, a missing bucket, refused credentials) fails in seconds, before a
    /// scan spends an hour collecting.
    pub fn probe(&self) -> Result<(), DestinationError> {
        let key = format!(".rolescope-probe-{}", std::process::id());
        self.put(&key, b"rolescope write probe\n".to_vec())?;
        self.delete(&key)
    }

    /// Where a key goes, for messages.
    pub fn location(&self, key: &str) -> String {
        match self {
            Destination::Local(dir) => dir.join(key).display().to_string(),
            Destination::S3(s3) => s3.url(key),
        }
    }
}

impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Destination::Local(dir) => write!(f, "{}", dir.display()),
            Destination::S3(s3) => write!(f, "{}", s3.url("").trim_end_matches('/')),
        }
    }
}

impl S3Destination {
    /// One level under `at`: ListObjectsV2 with a delimiter.
    fn level(
        &self,
        at: &object_store::path::Path,
    ) -> Result<object_store::ListResult, DestinationError> {
        self.runtime
            .block_on(self.store.list_with_delimiter(Some(at)))
            .map_err(|e| DestinationError::S3 {
                url: format!("s3://{}/{at}", self.bucket),
                message: s3_message(&e),
            })
    }

    fn object(&self, key: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(key)
        } else {
            ObjectPath::from(format!("{}/{key}", self.prefix))
        }
    }

    fn url(&self, key: &str) -> String {
        format!("s3://{}/{}", self.bucket, self.object(key))
    }

    fn put(&self, key: &str, bytes: Vec<u8>) -> Result<String, DestinationError> {
        let path = self.object(key);
        let url = self.url(key);
        let err = |e: object_store::Error| DestinationError::S3 {
            url: url.clone(),
            message: s3_message(&e),
        };
        self.runtime.block_on(async {
            if bytes.len() <= PART_BYTES {
                self.store
                    .put(&path, PutPayload::from(bytes))
                    .await
                    .map_err(err)?;
                return Ok(());
            }
            let mut upload = self.store.put_multipart(&path).await.map_err(err)?;
            let mut result = Ok(());
            for part in bytes.chunks(PART_BYTES) {
                if let Err(e) = upload.put_part(PutPayload::from(part.to_vec())).await {
                    result = Err(e);
                    break;
                }
            }
            match result {
                Ok(()) => upload.complete().await.map(|_| ()).map_err(err),
                Err(e) => {
                    // Nothing becomes visible; free the parts.
                    let _ = upload.abort().await;
                    Err(err(e))
                }
            }
        })?;
        Ok(url)
    }
}

/// An object being written (see [`Destination::writer`]).
pub struct ObjectWriter<'a> {
    state: Option<WriterState<'a>>,
    location: String,
}

enum WriterState<'a> {
    Local {
        file: std::io::BufWriter<std::fs::File>,
        tmp: PathBuf,
        path: PathBuf,
    },
    S3(PartWriter<'a>),
}

impl std::fmt::Debug for ObjectWriter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectWriter")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl ObjectWriter<'_> {
    /// Where the object goes (a path or an `s3://` URL).
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Make the object visible under its key; returns where it went.
    pub fn commit(mut self) -> Result<String, DestinationError> {
        match self.state.take() {
            Some(WriterState::Local { file, tmp, path }) => {
                let io = |error| DestinationError::Io {
                    path: path.clone(),
                    error,
                };
                let result = (|| {
                    let file = file.into_inner().map_err(|e| e.into_error())?;
                    file.sync_all()?;
                    std::fs::rename(&tmp, &path)
                })();
                if result.is_err() {
                    let _ = std::fs::remove_file(&tmp);
                }
                result.map_err(io)?;
                Ok(path.display().to_string())
            }
            Some(WriterState::S3(mut parts)) => match parts.finish() {
                Ok(()) => Ok(self.location.clone()),
                Err(source) => {
                    parts.abort();
                    Err(DestinationError::S3 {
                        url: self.location.clone(),
                        message: s3_message(&source),
                    })
                }
            },
            None => Ok(self.location.clone()),
        }
    }

    /// The error for a failed write into this object, naming it; the object is abandoned.
    pub fn failed(mut self, source: std::io::Error) -> DestinationError {
        self.abandon();
        match self.location.starts_with("s3://") {
            true => DestinationError::S3 {
                url: self.location.clone(),
                message: source.to_string(),
            },
            false => DestinationError::Io {
                path: PathBuf::from(&self.location),
                error: source,
            },
        }
    }

    fn abandon(&mut self) {
        match self.state.take() {
            Some(WriterState::Local { file, tmp, .. }) => {
                drop(file);
                let _ = std::fs::remove_file(&tmp);
            }
            Some(WriterState::S3(mut parts)) => parts.abort(),
            None => {}
        }
    }
}

impl Drop for ObjectWriter<'_> {
    fn drop(&mut self) {
        self.abandon();
    }
}

impl std::io::Write for ObjectWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        match self.state.as_mut() {
            Some(WriterState::Local { file, .. }) => file.write(bytes),
            Some(WriterState::S3(parts)) => parts.write(bytes),
            None => Err(std::io::Error::other("the object was already committed")),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self.state.as_mut() {
            Some(WriterState::Local { file, .. }) => file.flush(),
            _ => Ok(()),
        }
    }
}

/// Buffers writes into parts; the first full part starts a multipart upload. An object smaller
/// than one part is a single PUT.
struct PartWriter<'a> {
    s3: &'a S3Destination,
    path: ObjectPath,
    buffer: Vec<u8>,
    upload: Option<Box<dyn object_store::MultipartUpload>>,
}

impl PartWriter<'_> {
    fn send_part(&mut self) -> Result<(), object_store::Error> {
        let part = PutPayload::from(std::mem::take(&mut self.buffer));
        self.buffer.reserve(PART_BYTES);
        let s3 = self.s3;
        let path = &self.path;
        let upload = &mut self.upload;
        s3.runtime.block_on(async {
            if upload.is_none() {
                *upload = Some(s3.store.put_multipart(path).await?);
            }
            match upload {
                Some(upload) => upload.put_part(part).await,
                None => Ok(()),
            }
        })
    }

    /// Free the uploaded parts of an unfinished upload.
    fn abort(&mut self) {
        if let Some(mut upload) = self.upload.take() {
            let _ = self.s3.runtime.block_on(upload.abort());
        }
    }

    fn finish(&mut self) -> Result<(), object_store::Error> {
        if self.upload.is_none() {
            let bytes = PutPayload::from(std::mem::take(&mut self.buffer));
            return self
                .s3
                .runtime
                .block_on(self.s3.store.put(&self.path, bytes))
                .map(|_| ());
        }
        if !self.buffer.is_empty() {
            self.send_part()?;
        }
        match self.upload.as_mut() {
            Some(upload) => self.s3.runtime.block_on(upload.complete()).map(|_| ()),
            None => Ok(()),
        }
    }
}

impl std::io::Write for PartWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let room = PART_BYTES - self.buffer.len();
        let n = bytes.len().min(room);
        self.buffer.extend_from_slice(&bytes[..n]);
        if self.buffer.len() == PART_BYTES {
            self.send_part().map_err(std::io::Error::other)?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The entries of a local folder; an absent folder has none.
fn dir_entries(at: &Path) -> Result<Vec<std::fs::DirEntry>, DestinationError> {
    let io = |error| DestinationError::Io {
        path: at.to_path_buf(),
        error,
    };
    match std::fs::read_dir(at) {
        Ok(entries) => entries.collect::<Result<_, _>>().map_err(io),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(error) => Err(io(error)),
    }
}

/// Write under a hidden temporary name in the same folder (created if missing), sync, rename.
/// On failure the temporary file is removed and nothing appears under `path`.
pub fn write_file_atomically(path: &Path, bytes: &[u8]) -> Result<(), DestinationError> {
    use std::io::Write;
    let dir = Destination::Local(path.parent().unwrap_or(Path::new(".")).to_path_buf());
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut object = dir.writer(&name)?;
    if let Err(e) = object.write_all(bytes) {
        return Err(object.failed(e));
    }
    object.commit().map(|_| ())
}

/// One line for an S3 failure. object_store's errors repeat their whole source chain in each
/// message; this keeps what S3 said (`Code: Message` from the XML answer) or, for a failure
/// without an answer (a refused or timed-out connection), the innermost error.
fn s3_message(e: &object_store::Error) -> String {
    let text = e.to_string();
    let tag = |name: &str| {
        let open = format!("<{name}>");
        let start = text.find(&open)? + open.len();
        let end = text[start..].find(&format!("</{name}>"))? + start;
        Some(text[start..end].to_string())
    };
    if let Some(code) = tag("Code") {
        return match tag("Message") {
            Some(message) => format!("{code}: {message}"),
            None => code,
        };
    }
    let mut innermost: &dyn std::error::Error = e;
    while let Some(next) = innermost.source() {
        innermost = next;
    }
    innermost.to_string()
}

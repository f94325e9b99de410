//! Where log files are read from: a local folder here, an S3 prefix through the binary (which
//! owns storage access). The reader lists a level at a time, so the layout's pruning decides
//! what is listed at all.

use std::io::Read;
use std::path::PathBuf;

/// One level of a store: sub-folder names and file names, each sorted.
#[derive(Debug, Clone, Default)]
pub struct Level {
    /// Sub-folders.
    pub dirs: Vec<String>,
    /// Files.
    pub files: Vec<String>,
}

/// A place holding CloudTrail log files. Paths are relative, `/`-separated; `""` is the top.
pub trait LogStore: Sync {
    /// The sub-folders and files directly in `dir`.
    fn level(&self, dir: &str) -> std::io::Result<Level>;
    /// A file's bytes, at most `limit` of them.
    fn read(&self, path: &str, limit: u64) -> std::io::Result<Vec<u8>>;
    /// The file as errors name it (a local path, an `s3://` URL).
    fn name(&self, path: &str) -> String;
    /// Whether the top is one file rather than a folder.
    fn is_file(&self) -> bool {
        false
    }
}

/// A local folder or file.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
    file: bool,
}

impl LocalStore {
    /// The folder (or file) at `root`; fails when it cannot be read at all.
    pub fn new(root: impl Into<PathBuf>) -> std::io::Result<LocalStore> {
        let root = root.into();
        let file = std::fs::metadata(&root)?.is_file();
        Ok(LocalStore { root, file })
    }

    fn path(&self, rel: &str) -> PathBuf {
        if rel.is_empty() {
            self.root.clone()
        } else {
            self.root.join(rel)
        }
    }
}

impl LogStore for LocalStore {
    fn level(&self, dir: &str) -> std::io::Result<Level> {
        let mut level = Level::default();
        for entry in std::fs::read_dir(self.path(dir))? {
            let entry = entry?;
            let Some(name) = entry.file_name().to_str().map(String::from) else {
                continue;
            };
            let kind = entry.file_type()?;
            if kind.is_dir() {
                level.dirs.push(name);
            } else if kind.is_file() {
                level.files.push(name);
            }
        }
        level.dirs.sort();
        level.files.sort();
        Ok(level)
    }

    fn read(&self, path: &str, limit: u64) -> std::io::Result<Vec<u8>> {
        let mut bytes = Vec::new();
        std::fs::File::open(self.path(path))?
            .take(limit)
            .read_to_end(&mut bytes)?;
        Ok(bytes)
    }

    fn name(&self, path: &str) -> String {
        self.path(path).display().to_string()
    }

    fn is_file(&self) -> bool {
        self.file
    }
}

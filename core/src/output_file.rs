//! Writing a file the user named (a report, an export, a key) without ever damaging what is there.
//!
//! Every file Timbang writes for a person goes through [`OutputFile`]:
//!
//! - the content goes to a new temporary file beside the target (created with `create_new`, so the mode
//!   is `0666 & !umask` like any file the user's tools make; [`OutputFile::create_new_private`] makes
//!   it `0600` for secrets), is synced, and only then renamed into place: a reader never sees half a
//!   file, and a failed run leaves the target as it was and removes the temporary file;
//! - the target is refused when it is one of the command's inputs (compared by device and inode, so a
//!   different spelling of the path, a hard link or a symbolic link to the input are caught), when it is a
//!   symbolic link (renaming over it would replace the link by a plain file), and when it is not a regular
//!   file (a folder, a FIFO, a device);
//! - the checks are repeated just before the rename.
//!
//! Refusals convert to [`crate::Error::InvalidInput`] for the field `output` with one sentence in Bahasa
//! Indonesia naming the file; other failures to [`crate::Error::File`].

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Why a file could not be written. Messages name the file; none carries file content.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The target is the same file as one of the inputs.
    #[error("{} is the same file as the input {}; choose another output file", .path.display(), .input.display())]
    SameAsInput { path: PathBuf, input: PathBuf },
    /// The target is a symbolic link.
    #[error("{} is a symbolic link; refusing to replace it", .path.display())]
    Symlink { path: PathBuf },
    /// The target exists and is not a regular file.
    #[error("{} is a {kind}, not a regular file", .path.display())]
    NotRegular { path: PathBuf, kind: FileKind },
    /// The folder of the target does not exist (or is not a folder).
    #[error("the folder of {} does not exist", .path.display())]
    NoFolder { path: PathBuf },
    /// [`OutputFile::commit`] of a file made with [`OutputFile::create_new_private`]: the target
    /// appeared meanwhile (another process made it first); it was left alone.
    #[error("{} already exists", .path.display())]
    Exists { path: PathBuf },
    /// Reading, writing, syncing or renaming failed.
    #[error("cannot write {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// What a path that is not a regular file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Directory,
    Fifo,
    Device,
    Socket,
    Other,
}

impl FileKind {
    fn of(t: std::fs::FileType) -> Self {
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt;
            if t.is_fifo() {
                return Self::Fifo;
            }
            if t.is_block_device() || t.is_char_device() {
                return Self::Device;
            }
            if t.is_socket() {
                return Self::Socket;
            }
        }
        if t.is_dir() {
            Self::Directory
        } else {
            Self::Other
        }
    }

    /// The kind in Bahasa Indonesia, as in "berkas itu adalah {kind}".
    pub fn name_id(self) -> &'static str {
        match self {
            Self::Directory => "folder",
            Self::Fifo => "pipa (FIFO)",
            Self::Device => "perangkat",
            Self::Socket => "soket",
            Self::Other => "benda khusus",
        }
    }
}

impl std::fmt::Display for FileKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Directory => "directory",
            Self::Fifo => "FIFO",
            Self::Device => "device",
            Self::Socket => "socket",
            Self::Other => "special file",
        })
    }
}

/// Why an I/O operation failed, in Bahasa Indonesia, to follow a file name ("berkas X {reason}").
pub fn io_reason_id(e: &io::Error) -> &'static str {
    use io::ErrorKind as K;
    match e.kind() {
        K::NotFound => "tidak ada",
        K::PermissionDenied => "tidak boleh dibaca atau ditulis (izin ditolak)",
        K::AlreadyExists => "sudah ada",
        K::IsADirectory => "adalah folder, bukan berkas",
        K::NotADirectory => "berada di bawah sesuatu yang bukan folder",
        K::StorageFull | K::QuotaExceeded => "tidak bisa ditulis karena penyimpanan penuh",
        K::ReadOnlyFilesystem => "berada di penyimpanan yang hanya bisa dibaca",
        K::FileTooLarge => "terlalu besar",
        K::InvalidData | K::InvalidInput => "isinya tidak sah",
        K::UnexpectedEof => "terpotong",
        K::Interrupted | K::TimedOut | K::WouldBlock => "tidak selesai dibaca atau ditulis",
        _ => "gagal dibaca atau ditulis",
    }
}

/// A path's identity (device and inode on unix; the canonical path elsewhere).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Identity(#[cfg(unix)] (u64, u64), #[cfg(not(unix))] PathBuf);

impl Identity {
    #[cfg(unix)]
    fn of(_path: &Path, m: &std::fs::Metadata) -> Option<Self> {
        use std::os::unix::fs::MetadataExt;
        Some(Self((m.dev(), m.ino())))
    }

    #[cfg(not(unix))]
    fn of(path: &Path, _m: &std::fs::Metadata) -> Option<Self> {
        std::fs::canonicalize(path).ok().map(Self)
    }
}

/// A file being written; becomes the target only on [`OutputFile::commit`]. Dropped without a commit,
/// it removes its temporary file and leaves the target as it was.
#[derive(Debug)]
pub struct OutputFile {
    target: PathBuf,
    temp: PathBuf,
    file: Option<File>,
    inputs: Vec<(PathBuf, Identity)>,
    replace: bool,
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> OutputError + '_ {
    move |source| OutputError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The folder a path is in (`.` for a bare file name).
fn folder_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

impl OutputFile {
    /// Start writing `target`, which will replace any regular file there, but never one of `inputs`
    /// (inputs that do not exist are ignored). The file is created with mode `0666 & !umask`.
    pub fn create(target: &Path, inputs: &[&Path]) -> Result<Self, OutputError> {
        let inputs = inputs
            .iter()
            .filter_map(|p| {
                let m = std::fs::metadata(p).ok()?;
                Some((p.to_path_buf(), Identity::of(p, &m)?))
            })
            .collect();
        Self::start(target, inputs, true, None)
    }

    /// Start writing a secret (mode `0600`) at `target`, which must not exist; [`OutputFile::commit`]
    /// refuses to replace a file that appeared meanwhile ([`OutputError::Exists`]).
    pub fn create_new_private(target: &Path) -> Result<Self, OutputError> {
        Self::start(target, Vec::new(), false, Some(0o600))
    }

    fn start(
        target: &Path,
        inputs: Vec<(PathBuf, Identity)>,
        replace: bool,
        mode: Option<u32>,
    ) -> Result<Self, OutputError> {
        let mut out = Self {
            target: target.to_owned(),
            temp: PathBuf::new(),
            file: None,
            inputs,
            replace,
        };
        out.check_target()?;
        if !replace && std::fs::symlink_metadata(target).is_ok() {
            return Err(OutputError::Exists {
                path: target.to_owned(),
            });
        }
        let dir = folder_of(target);
        match std::fs::metadata(dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(OutputError::NoFolder {
                    path: target.to_owned(),
                });
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(OutputError::NoFolder {
                    path: target.to_owned(),
                });
            }
            Err(e) => return Err(io_err(dir)(e)),
        }
        let name = target
            .file_name()
            .map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
        let mut attempt = 0u32;
        loop {
            let temp = dir.join(format!(
                ".{name}.tmp-{}-{}",
                std::process::id(),
                unique_suffix(attempt)
            ));
            let mut opts = OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            if let Some(mode) = mode {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(mode);
            }
            #[cfg(not(unix))]
            let _ = mode;
            match opts.open(&temp) {
                Ok(f) => {
                    out.temp = temp;
                    out.file = Some(f);
                    return Ok(out);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 16 => {
                    attempt += 1;
                }
                Err(e) => return Err(io_err(target)(e)),
            }
        }
    }

    /// The target's path.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The temporary file being written.
    pub fn file(&self) -> Option<&File> {
        self.file.as_ref()
    }

    /// The temporary file's path, for writers that need a path (SQLite's backup); it becomes the
    /// target on [`OutputFile::commit`].
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// Refuse a target that is a symbolic link, not a regular file, or one of the inputs.
    fn check_target(&self) -> Result<(), OutputError> {
        let path = &self.target;
        let m = match std::fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_err(path)(e)),
        };
        let t = m.file_type();
        if t.is_symlink() {
            // Name the input when the link leads to it: the more useful message.
            if let Ok(through) = std::fs::metadata(path) {
                self.check_not_input(path, &through)?;
            }
            return Err(OutputError::Symlink { path: path.clone() });
        }
        if !t.is_file() {
            return Err(OutputError::NotRegular {
                path: path.clone(),
                kind: FileKind::of(t),
            });
        }
        self.check_not_input(path, &m)
    }

    fn check_not_input(&self, path: &Path, m: &std::fs::Metadata) -> Result<(), OutputError> {
        let Some(id) = Identity::of(path, m) else {
            return Ok(());
        };
        match self.inputs.iter().find(|(_, i)| *i == id) {
            Some((input, _)) => Err(OutputError::SameAsInput {
                path: path.to_owned(),
                input: input.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Sync the content and put it in place of the target (then sync the folder). On an error the
    /// target is as it was (except when only the final folder sync failed) and the temporary file is
    /// gone.
    pub fn commit(mut self) -> Result<(), OutputError> {
        let Some(mut file) = self.file.take() else {
            return Err(io_err(&self.target)(io::Error::other("already committed")));
        };
        file.flush().map_err(io_err(&self.target))?;
        file.sync_all().map_err(io_err(&self.target))?;
        drop(file);
        self.check_target()?;
        if self.replace {
            std::fs::rename(&self.temp, &self.target).map_err(io_err(&self.target))?;
        } else {
            // A hard link never replaces an existing file; where links are not supported, rename
            // after checking (a narrow race, only on such file systems).
            match std::fs::hard_link(&self.temp, &self.target) {
                Ok(()) => {
                    let _ = std::fs::remove_file(&self.temp);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    return Err(OutputError::Exists {
                        path: self.target.clone(),
                    });
                }
                Err(_) if std::fs::symlink_metadata(&self.target).is_err() => {
                    std::fs::rename(&self.temp, &self.target).map_err(io_err(&self.target))?;
                }
                Err(_) => {
                    return Err(OutputError::Exists {
                        path: self.target.clone(),
                    });
                }
            }
        }
        // Renamed: nothing left to remove on drop.
        self.temp = PathBuf::new();
        sync_folder(folder_of(&self.target)).map_err(io_err(&self.target))
    }
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.file {
            Some(f) => f.write(buf),
            None => Err(io::Error::other("output already committed")),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match &mut self.file {
            Some(f) => f.write_all(buf),
            None => Err(io::Error::other("output already committed")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for OutputFile {
    fn drop(&mut self) {
        self.file = None;
        if !self.temp.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Make a rename or a new file in `dir` durable.
pub fn sync_folder(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// A suffix that differs between attempts and between processes started in the same instant.
fn unique_suffix(attempt: u32) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{nanos:x}{attempt}")
}

impl From<OutputError> for crate::Error {
    fn from(e: OutputError) -> Self {
        let en = e.to_string();
        match &e {
            OutputError::SameAsInput { path, input } => crate::Error::invalid(
                "output",
                format!(
                    "Berkas keluaran {} sama dengan berkas masukan {}; pilih nama berkas keluaran lain.",
                    path.display(),
                    input.display()
                ),
                en,
            ),
            OutputError::Symlink { path } => crate::Error::invalid(
                "output",
                format!(
                    "Berkas keluaran {} adalah tautan simbolik, jadi tidak ditimpa; pilih nama berkas lain.",
                    path.display()
                ),
                en,
            ),
            OutputError::NotRegular { path, kind } => crate::Error::invalid(
                "output",
                format!(
                    "Berkas keluaran {} adalah {}, bukan berkas biasa; pilih nama berkas lain.",
                    path.display(),
                    kind.name_id()
                ),
                en,
            ),
            OutputError::NoFolder { path } => crate::Error::invalid(
                "output",
                format!(
                    "Folder untuk berkas keluaran {} tidak ada; buat foldernya dulu atau pilih tempat lain.",
                    path.display()
                ),
                en,
            ),
            OutputError::Exists { path } => crate::Error::invalid(
                "output",
                format!("Berkas {} sudah ada, jadi tidak ditimpa.", path.display()),
                en,
            ),
            OutputError::Io { path, source } => crate::Error::File {
                path: path.display().to_string(),
                message_id: format!(
                    "Berkas {} {}; berkas lama tidak diubah.",
                    path.display(),
                    io_reason_id(source)
                ),
                message_en: en,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn write_all(target: &Path, inputs: &[&Path], text: &str) -> Result<(), OutputError> {
        let mut out = OutputFile::create(target, inputs)?;
        out.write_all(text.as_bytes()).unwrap();
        out.commit()
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn writes_a_new_file_and_replaces_an_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.csv");
        write_all(&out, &[], "one\n").unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "one\n");
        write_all(&out, &[], "two\n").unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "two\n");
        assert_eq!(entries(dir.path()), ["out.csv"]);
    }

    #[test]
    fn a_bare_file_name_is_written_in_the_current_folder() {
        // Only the folder logic: "x" has the folder ".".
        assert_eq!(folder_of(Path::new("x")), Path::new("."));
        assert_eq!(folder_of(Path::new("/a/x")), Path::new("/a"));
    }

    #[test]
    fn without_a_commit_the_target_is_untouched_and_the_temporary_file_gone() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.csv");
        std::fs::write(&out, "old\n").unwrap();
        {
            let mut f = OutputFile::create(&out, &[]).unwrap();
            f.write_all(b"half a fi").unwrap();
            assert_eq!(
                entries(dir.path()).len(),
                2,
                "the temporary file is beside it"
            );
        }
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "old\n");
        assert_eq!(entries(dir.path()), ["out.csv"]);
    }

    #[test]
    fn never_over_an_input_however_it_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.csv");
        std::fs::write(&input, "input\n").unwrap();
        let respelled = dir.path().join(".").join("in.csv");
        let hard = dir.path().join("hard.csv");
        std::fs::hard_link(&input, &hard).unwrap();
        let link = dir.path().join("link.csv");
        std::os::unix::fs::symlink(&input, &link).unwrap();
        for target in [&input, &respelled, &hard, &link] {
            let err = write_all(target, &[&input], "output\n").unwrap_err();
            assert!(
                matches!(err, OutputError::SameAsInput { .. }),
                "{target:?}: {err:?}"
            );
        }
        // An input reached through a symbolic link is the file it leads to.
        let err = write_all(&input, &[&link], "output\n").unwrap_err();
        assert!(matches!(err, OutputError::SameAsInput { .. }), "{err:?}");
        assert_eq!(std::fs::read_to_string(&input).unwrap(), "input\n");
        assert_eq!(entries(dir.path()), ["hard.csv", "in.csv", "link.csv"]);
    }

    #[test]
    fn never_through_a_symbolic_link_nor_over_what_is_not_a_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let other = dir.path().join("other.txt");
        std::fs::write(&other, "keep\n").unwrap();
        let link = dir.path().join("link.csv");
        std::os::unix::fs::symlink(&other, &link).unwrap();
        let err = write_all(&link, &[], "x").unwrap_err();
        assert!(matches!(err, OutputError::Symlink { .. }), "{err:?}");
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&other).unwrap(), "keep\n");

        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        let err = write_all(&sub, &[], "x").unwrap_err();
        assert!(
            matches!(
                err,
                OutputError::NotRegular {
                    kind: FileKind::Directory,
                    ..
                }
            ),
            "{err:?}"
        );

        let fifo = dir.path().join("fifo");
        let st = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(st.success());
        let err = write_all(&fifo, &[], "x").unwrap_err();
        assert!(
            matches!(
                err,
                OutputError::NotRegular {
                    kind: FileKind::Fifo,
                    ..
                }
            ),
            "{err:?}"
        );
        let err = write_all(Path::new("/dev/null"), &[], "x").unwrap_err();
        assert!(
            matches!(
                err,
                OutputError::NotRegular {
                    kind: FileKind::Device,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(
            entries(dir.path()),
            ["fifo", "link.csv", "other.txt", "sub"]
        );
    }

    #[test]
    fn a_target_that_becomes_a_symbolic_link_before_the_commit_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.csv");
        let other = dir.path().join("other.txt");
        std::fs::write(&other, "keep\n").unwrap();
        let mut f = OutputFile::create(&out, &[]).unwrap();
        f.write_all(b"x").unwrap();
        std::os::unix::fs::symlink(&other, &out).unwrap();
        assert!(matches!(f.commit(), Err(OutputError::Symlink { .. })));
        assert!(
            std::fs::symlink_metadata(&out)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(entries(dir.path()), ["other.txt", "out.csv"]);
    }

    #[test]
    fn a_missing_folder_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("nope").join("out.csv");
        let err = write_all(&out, &[], "x").unwrap_err();
        assert!(matches!(err, OutputError::NoFolder { .. }), "{err:?}");
        let e: crate::Error = err.into();
        let crate::Error::InvalidInput {
            field, message_id, ..
        } = &e
        else {
            panic!("{e:?}")
        };
        assert_eq!(field, "output");
        assert!(message_id.contains("out.csv"), "{message_id}");
    }

    #[test]
    fn the_mode_follows_the_umask_and_secrets_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        // What the umask makes of a plain new file is what a report must get.
        let plain = dir.path().join("plain");
        std::fs::File::create(&plain).unwrap();
        let expected = std::fs::metadata(&plain).unwrap().permissions().mode() & 0o777;
        let out = dir.path().join("out.csv");
        write_all(&out, &[], "x").unwrap();
        assert_eq!(
            std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
            expected
        );
        let key = dir.path().join("k.key");
        let mut f = OutputFile::create_new_private(&key).unwrap();
        f.write_all(&[7; 32]).unwrap();
        f.commit().unwrap();
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn a_secret_never_replaces_a_file_that_appeared_meanwhile() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("k.key");
        let mut f = OutputFile::create_new_private(&key).unwrap();
        f.write_all(&[1; 32]).unwrap();
        std::fs::write(&key, [2; 32]).unwrap();
        assert!(matches!(f.commit(), Err(OutputError::Exists { .. })));
        assert_eq!(std::fs::read(&key).unwrap(), [2; 32]);
        assert_eq!(entries(dir.path()), ["k.key"]);
    }
}

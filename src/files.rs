//! Opening the files a user names (configs, lists, baselines, tokens, plans, snapshot files):
//! only regular files, read with a bound, so a FIFO, a device such as `/dev/zero` or a file that
//! keeps growing ends in a clear error instead of a hang or an exhausted memory.

use std::fs::File;
use std::io::{Error, ErrorKind, Read};
use std::path::Path;

/// One mebibyte, for limits.
pub const MIB: u64 = 1 << 20;

/// Opens `path` for reading when it is a regular file (after following links). The type is
/// checked before opening, and the open does not wait for a writer should the file have become
/// a FIFO in between.
pub fn open_regular(path: &Path) -> std::io::Result<File> {
    if !std::fs::metadata(path)?.is_file() {
        return Err(not_regular());
    }
    checked(open_options(true).open(path)?)
}

/// Opens a regular file that is not a link (for files inside a folder the user named, such
/// as a snapshot's collections or a rule folder's files: a link could point anywhere). The
/// open itself refuses a link where the system allows it, so one swapped in after the check is
/// refused too.
pub fn open_regular_no_link(path: &Path) -> std::io::Result<File> {
    let meta = std::fs::symlink_metadata(path)?;
    if meta.file_type().is_symlink() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "is a symbolic link; only plain files are read",
        ));
    }
    if !meta.is_file() {
        return Err(not_regular());
    }
    checked(open_options(false).open(path)?)
}

fn open_options(follow_links: bool) -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let no_link = if follow_links { 0 } else { libc::O_NOFOLLOW };
        options.custom_flags(libc::O_NONBLOCK | no_link);
    }
    #[cfg(not(unix))]
    let _ = follow_links;
    options
}

fn checked(file: File) -> std::io::Result<File> {
    if file.metadata()?.is_file() {
        Ok(file)
    } else {
        Err(not_regular())
    }
}

fn not_regular() -> Error {
    Error::new(
        ErrorKind::InvalidInput,
        "is not a regular file (a folder, a FIFO or a device)",
    )
}

/// Reads a whole regular file of at most `limit` bytes.
pub fn read_bounded(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    read_all(open_regular(path)?, limit)
}

/// Reads a whole regular file that is not a link, of at most `limit` bytes, as UTF-8 text.
pub fn read_text_no_link(path: &Path, limit: u64) -> std::io::Result<String> {
    utf8(read_all(open_regular_no_link(path)?, limit)?)
}

fn read_all(file: File, limit: u64) -> std::io::Result<Vec<u8>> {
    let size = file.metadata()?.len();
    if size > limit {
        return Err(too_large(limit));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(limit));
    }
    Ok(bytes)
}

/// Reads a whole regular file of at most `limit` bytes as UTF-8 text.
pub fn read_text(path: &Path, limit: u64) -> std::io::Result<String> {
    utf8(read_bounded(path, limit)?)
}

fn utf8(bytes: Vec<u8>) -> std::io::Result<String> {
    String::from_utf8(bytes).map_err(|_| Error::new(ErrorKind::InvalidData, "is not UTF-8 text"))
}

fn too_large(limit: u64) -> Error {
    let size = if limit >= MIB {
        format!("{} MiB", limit / MIB)
    } else {
        format!("{limit} bytes")
    };
    Error::new(ErrorKind::InvalidData, format!("larger than {size}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_and_oversized_files_are_refused() {
        let dir = std::env::temp_dir();
        assert!(read_bounded(&dir, 10).is_err());
        let file = dir.join(format!("b2bready-files-{}.txt", std::process::id()));
        std::fs::write(&file, "0123456789abc").expect("write");
        assert_eq!(read_bounded(&file, 13).expect("fits").len(), 13);
        let err = read_bounded(&file, 12).expect_err("too large");
        assert_eq!(err.to_string(), "larger than 12 bytes");
        std::fs::remove_file(&file).expect("remove");
    }

    #[cfg(unix)]
    #[test]
    fn devices_are_refused() {
        let err = read_bounded(Path::new("/dev/zero"), 1 << 30).expect_err("a device");
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }
}

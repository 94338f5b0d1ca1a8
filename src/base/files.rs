//! Reading the files keytrace reads for itself (an inventory, CODEOWNERS, a
//! settings or rule file, a baseline): regular files only, never a device,
//! FIFO or socket, also when a committed symbolic link points at one, and
//! never more than a cap. A scanned repository decides what these paths
//! hold, so `agents.yaml -> /dev/zero` must be an error, not a read until
//! memory runs out, and `-> /dev/stdin` not a wait forever.
use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::path::Path;

/// Reads `path` whole: a regular file (after symbolic links) of at most
/// `cap` bytes.
pub fn read_capped(path: &Path, cap: u64) -> io::Result<Vec<u8>> {
    // Checked before opening: opening some devices does something.
    check(&std::fs::metadata(path)?, cap)?;
    let mut opts = OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Were the file swapped for a FIFO after the check, opening it
        // would wait for a writer; without blocking, the check below
        // refuses it.
        opts.custom_flags(libc::O_NONBLOCK);
    }
    let file: File = opts.open(path)?;
    let meta = file.metadata()?;
    check(&meta, cap)?;
    let mut buf = Vec::with_capacity(meta.len() as usize);
    file.take(cap + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > cap {
        return Err(too_large(cap));
    }
    Ok(buf)
}

/// [`read_capped`], as UTF-8 text.
pub fn read_capped_text(path: &Path, cap: u64) -> io::Result<String> {
    String::from_utf8(read_capped(path, cap)?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text"))
}

fn check(meta: &std::fs::Metadata, cap: u64) -> io::Result<()> {
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file (a directory, device, FIFO or socket); not read",
        ));
    }
    if meta.len() > cap {
        return Err(too_large(cap));
    }
    Ok(())
}

fn too_large(cap: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::FileTooLarge,
        format!("larger than {} MiB; not read", cap >> 20),
    )
}

/// Caps, by what the file is.
pub mod cap {
    /// An inventory file (`agents.yaml`, a file of `--agents DIR`).
    pub const INVENTORY: u64 = 16 << 20;
    /// `CODEOWNERS` (GitHub ignores one larger than 3 MB).
    pub const CODEOWNERS: u64 = 3 << 20;
    /// A Backstage `catalog-info.yaml`.
    pub const CATALOG: u64 = 4 << 20;
    /// `.keytrace.toml` or `--config`.
    pub const SETTINGS: u64 = 1 << 20;
    /// A rule file.
    pub const RULES: u64 = 16 << 20;
    /// A baseline.
    pub const BASELINE: u64 = 512 << 20;
    /// A list of repositories for a sweep.
    pub const REPO_LIST: u64 = 64 << 20;
    /// A CI system's event payload.
    pub const CI_EVENT: u64 = 64 << 20;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_files_and_large_ones_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let ok = dir.path().join("ok.yaml");
        std::fs::write(&ok, "agent: a\n").unwrap();
        assert_eq!(read_capped(&ok, 100).unwrap(), b"agent: a\n");
        assert_eq!(
            read_capped(&ok, 4).unwrap_err().kind(),
            io::ErrorKind::FileTooLarge
        );
        #[cfg(unix)]
        for target in ["/dev/zero", "/dev/stdin", "/dev/null"] {
            let link = dir.path().join("link.yaml");
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink(target, &link).unwrap();
            let e = read_capped(&link, 1 << 20).unwrap_err();
            assert!(
                e.to_string().contains("not a regular file"),
                "{target}: {e}"
            );
        }
        assert!(read_capped(dir.path(), 1 << 20).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_without_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("agents.yaml");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo only creates a node.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = read_capped(&fifo, 1 << 20).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
    }
}

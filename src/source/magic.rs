//! What an input is, by its first bytes: the archive and compression
//! formats [`super::archive`] opens. Read by every source before it calls
//! an input binary or text.

/// The formats opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Zip,
    Tar,
    Gzip,
    Bzip2,
    Xz,
    Zstd,
}

/// What archive `data` (its first bytes at least) is, by its magic bytes.
pub fn detect(data: &[u8]) -> Option<Kind> {
    let kind = if data.starts_with(b"PK\x03\x04") || data.starts_with(b"PK\x05\x06") {
        Kind::Zip
    } else if data.starts_with(&[0x1f, 0x8b, 0x08]) {
        Kind::Gzip
    } else if data.len() >= 10
        && data.starts_with(b"BZh")
        && (b'1'..=b'9').contains(&data[3])
        && (&data[4..10] == b"1AY&SY" || data[4..10] == [0x17, 0x72, 0x45, 0x38, 0x50, 0x90])
    {
        Kind::Bzip2
    } else if data.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        Kind::Xz
    } else if data.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Kind::Zstd
    } else if data.len() >= 262 && &data[257..262] == b"ustar" {
        Kind::Tar
    } else {
        return None;
    };
    Some(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_bytes() {
        assert_eq!(detect(b"PK\x03\x04rest"), Some(Kind::Zip));
        assert_eq!(detect(&[0x1f, 0x8b, 0x08, 0]), Some(Kind::Gzip));
        assert_eq!(detect(b"BZh91AY&SYxx"), Some(Kind::Bzip2));
        assert_eq!(detect(b"BZh9 is a word"), None);
        assert_eq!(
            detect(&[0xfd, b'7', b'z', b'X', b'Z', 0, 0]),
            Some(Kind::Xz)
        );
        assert_eq!(detect(&[0x28, 0xb5, 0x2f, 0xfd, 1]), Some(Kind::Zstd));
        let mut tar = vec![0u8; 512];
        tar[257..262].copy_from_slice(b"ustar");
        assert_eq!(detect(&tar), Some(Kind::Tar));
        assert_eq!(detect(b"plain text"), None);
    }
}

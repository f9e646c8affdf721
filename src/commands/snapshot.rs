//! `b2bready snapshot seal`.

use std::path::Path;

use crate::error::Error;

pub fn seal(dir: &Path) -> Result<u8, Error> {
    let sealed = crate::snapshot::writer::seal(dir)?;
    eprintln!("sealed {} collections in {}", sealed, dir.display());
    Ok(0)
}

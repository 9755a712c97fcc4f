//! Reading the user's fix-up rules file. Which file, and what its rules mean, are the core's
//! ([`crate::core::cli`], [`crate::core::fixups`]); this module reads it from disk. The default
//! file (`fixups.toml` in the data folder) may be missing, which means no user rules; a file the
//! user named with `--fixups` or `DCLISYNC_FIXUPS` must exist. Any problem is a usage error
//! (exit 2), found before the database is opened, so nothing is written with the wrong rules.

use std::io::ErrorKind as IoKind;

use crate::core::cli::Config;
use crate::core::fixups::Rules;
use crate::shell::error::Error;

/// The rules in force for `config` (the built-in ones, then the user's file if there is one),
/// and the user's file if one was read.
pub fn load(config: &Config) -> Result<(Rules, Option<String>), Error> {
    let shown = config.fixups.display().to_string();
    match std::fs::read_to_string(&config.fixups) {
        Ok(text) => match Rules::with_user(&shown, &text) {
            Ok(rules) => Ok((rules, Some(shown))),
            Err(e) => Err(Error::Usage(e.to_string())),
        },
        // No default file, or no data folder yet (the store reports a data folder it cannot use).
        Err(e) if matches!(e.kind(), IoKind::NotFound | IoKind::NotADirectory) && !config.fixups_named => {
            Ok((Rules::builtin().clone(), None))
        }
        Err(e) => Err(Error::Usage(format!(
            "cannot read the fix-up rules file {shown}: {e}; check the path given by --fixups or DCLISYNC_FIXUPS"
        ))),
    }
}

//! Sprig's functions as ESO ships them (its vendored copy of
//! Masterminds/sprig v3, `runtime/template/v2/sprig`): every one but
//! `env`, `expandenv` and `getHostByName`, which read the controller's
//! environment or the network.

use crate::func::Registry;

mod crypto;
mod date;
mod defaults;
mod dicts;
mod encoding;
mod lists;
mod numeric;
mod paths;
mod random;
mod reflect;
pub(crate) mod regex;
mod semver;
mod strings;
mod url;

/// Adds Sprig's functions to `r`.
pub(crate) fn register(r: &mut Registry) {
    strings::register(r);
    lists::register(r);
    dicts::register(r);
    defaults::register(r);
    numeric::register(r);
    reflect::register(r);
    paths::register(r);
    encoding::register(r);
    regex::register(r);
    url::register(r);
    crypto::register(r);
    random::register(r);
    date::register(r);
    semver::register(r);
}

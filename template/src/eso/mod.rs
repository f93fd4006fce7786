//! The functions ESO adds to Sprig's (`runtime/template/v2/template.go`'s
//! `tplFuncs`): PKCS#12, PEM, JWK, YAML and RSA decryption.

use crate::func::Registry;

mod decrypt;
mod jwk;
// Go's `encoding/pem`, which Sprig's crypto functions read and write with
// too.
pub(crate) mod pem;
mod pkcs12;
mod yaml;

/// Adds ESO's own functions to `r` (after Sprig's: ESO's win a clash).
pub(crate) fn register(r: &mut Registry) {
    pem::register(r);
    pkcs12::register(r);
    jwk::register(r);
    yaml::register(r);
    decrypt::register(r);
}

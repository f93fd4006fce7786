//! ESO's own template functions: pkcs12 (being written).

use crate::func::Registry;

pub(super) fn register(_r: &mut Registry) {}

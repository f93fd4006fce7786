//! ESO's own template functions: jwk (being written).

use crate::func::Registry;

pub(super) fn register(_r: &mut Registry) {}

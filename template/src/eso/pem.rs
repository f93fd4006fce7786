//! ESO's own template functions: pem (being written).

use crate::func::Registry;

pub(super) fn register(_r: &mut Registry) {}

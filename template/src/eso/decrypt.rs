//! ESO's own template functions: decrypt (being written).

use crate::func::Registry;

pub(super) fn register(_r: &mut Registry) {}

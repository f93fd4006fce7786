//! ESO's own template functions: yaml (being written).

use crate::func::Registry;

pub(super) fn register(_r: &mut Registry) {}

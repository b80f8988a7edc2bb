//! The generated files of the node layer (none yet).

use crate::Output;

/// The files this layer generates from the schema.
pub(crate) fn render() -> Vec<Output> {
    Vec::new()
}

//! The generated files of the python layer (none yet).

use crate::Output;

/// The files this layer generates from the schema.
pub(crate) fn render() -> Vec<Output> {
    Vec::new()
}

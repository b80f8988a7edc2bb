//! The native module `rtwire._rtwire`: a thin layer over the `rtwire` core.
//!
//! Connections run on a tokio runtime on its own thread (`conn::runtime`);
//! Python threads only convert arguments and results. Incoming events wake
//! an asyncio loop through a socket pair it watches (`notify`), without the
//! GIL; `connect` and a send that must wait resolve asyncio futures with
//! `loop.call_soon_threadsafe` (`bridge`). Blocking calls release the GIL and
//! wait in slices of 50 ms, checking for signals in between, so that Ctrl-C
//! is noticed. The embedded server (`server`) runs on the same runtime; no
//! runtime thread waits for the GIL on its behalf.

use pyo3::prelude::*;
use pyo3::types::PyTuple;

mod app;
mod args;
mod bridge;
mod conn;
mod errors;
mod events;
mod notify;
mod options;
mod server;

/// The module initialiser.
#[pymodule]
fn _rtwire(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("CORE_VERSION", rtwire::VERSION)?;
    m.add(
        "BUILD_PROFILE",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
    )?;
    let kinds: Vec<&str> = rtwire::ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
    m.add("ERROR_KINDS", PyTuple::new(py, kinds)?)?;
    m.add("TRANSPORTS", PyTuple::new(py, rtwire::Transport::NAMES)?)?;
    m.add_class::<options::PyOptions>()?;
    m.add_class::<options::PyReconnect>()?;
    m.add_class::<options::PyCursor>()?;
    options::add_attributes(&py.get_type::<options::PyReconnect>(), "reconnect")?;
    options::add_attributes(&py.get_type::<options::PyCursor>(), "http.cursor")?;
    m.add_class::<server::PyServer>()?;
    m.add_class::<server::ServerStats>()?;
    m.add_class::<server::ChannelStats>()?;
    m.add_class::<conn::PyConnection>()?;
    m.add_class::<notify::LoopNotifier>()?;
    m.add_class::<bridge::Resolve>()?;
    m.add_class::<app::Pending>()?;
    m.add_class::<app::AcceptReply>()?;
    m.add_class::<bridge::CancelTask>()?;
    m.add_class::<events::OpenEvent>()?;
    m.add_class::<events::MessageEvent>()?;
    m.add_class::<events::ReconnectingEvent>()?;
    m.add_class::<events::ErrorEvent>()?;
    m.add_class::<events::ClosedEvent>()?;
    m.add_function(wrap_pyfunction!(conn::connect_async, m)?)?;
    m.add_function(wrap_pyfunction!(conn::connect_blocking, m)?)?;
    m.add_function(wrap_pyfunction!(server::serve, m)?)?;
    m.add_function(wrap_pyfunction!(errors::error_for_kind, m)?)?;
    m.add_function(wrap_pyfunction!(options::option_schema, m)?)?;
    m.add_function(wrap_pyfunction!(options::server_option_schema, m)?)?;
    m.add_function(wrap_pyfunction!(bridge::_at_exit, m)?)?;
    Ok(())
}

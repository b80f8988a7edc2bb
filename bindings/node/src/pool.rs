//! A pool for small binary messages handed over directly (see `direct`),
//! like Node's own `Buffer` pool: messages up to [`POOLED_MAX`] bytes are
//! copied into an 8 KiB block, and JavaScript makes each message's `Buffer`
//! as a view of it (`Buffer.from(arrayBuffer, offset, length)`, cheap in
//! JavaScript), instead of the addon making a fresh `Buffer` in C++ per
//! message (a backing store, an `ArrayBuffer` and a prototype change each).
//!
//! A block is an external `ArrayBuffer` over memory the addon owns through
//! an `Arc`: one count for the pool while it fills the block, one for the
//! `ArrayBuffer`, dropped by its finalizer. The memory outlives both, so
//! nothing JavaScript does to the `ArrayBuffer` (transferring or detaching
//! it, say) can make the pool write into freed memory. The pool writes
//! only to bytes past every view handed out, never to those of a message.

use std::cell::UnsafeCell;
use std::os::raw::c_void;
use std::ptr;
use std::sync::Arc;

use napi::sys;

/// Bytes per block (`Buffer.poolSize`).
const BLOCK: usize = 8 * 1024;

/// The largest message put in a block (`Buffer.poolSize >>> 1`, as for
/// `Buffer.allocUnsafe`); larger ones get a `Buffer` of their own.
pub(crate) const POOLED_MAX: usize = BLOCK / 2;

/// A block's memory, written through raw pointers only.
struct Block(UnsafeCell<[u8; BLOCK]>);

// SAFETY: the pool writes only bytes no view covers yet, and only on the
// JavaScript thread that reads them.
unsafe impl Sync for Block {}
// SAFETY: as above; the memory is plain bytes.
unsafe impl Send for Block {}

/// The block being filled: its memory, a reference to its `ArrayBuffer`
/// and the first free byte.
struct Current {
    mem: Arc<Block>,
    buffer: sys::napi_ref,
    pos: usize,
}

/// The pool of one connection's direct calls. Used on the JavaScript
/// thread only: it lives in a `Direct`, which checks the thread, and which
/// releases it there ([`release`](Pool::release)); dropped elsewhere, it
/// leaks its block's reference (the environment is going away).
#[derive(Default)]
pub(crate) struct Pool {
    current: Option<Current>,
}

// SAFETY: see above: the reference is only used on the JavaScript thread.
unsafe impl Send for Pool {}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("pos", &self.current.as_ref().map(|c| c.pos))
            .finish()
    }
}

unsafe extern "C" fn release_block(_env: sys::napi_env, _data: *mut c_void, hint: *mut c_void) {
    // SAFETY: `hint` is the count `Arc::into_raw` gave the ArrayBuffer.
    drop(unsafe { Arc::from_raw(hint.cast::<Block>().cast_const()) });
}

impl Pool {
    /// `bytes` in the pool: the block's `ArrayBuffer` and the message's
    /// offset in it; `None` when the message is too large or no block can be
    /// made (then the caller makes a `Buffer` of its own).
    ///
    /// # Safety
    /// On the JavaScript thread of `env`, in an open handle scope.
    pub(crate) unsafe fn put(
        &mut self,
        env: sys::napi_env,
        bytes: &[u8],
    ) -> Option<(sys::napi_value, usize)> {
        if bytes.len() > POOLED_MAX {
            return None;
        }
        if self
            .current
            .as_ref()
            .is_none_or(|c| c.pos + bytes.len() > BLOCK)
        {
            // SAFETY: per this function's contract.
            unsafe { self.replace(env)? };
        }
        let cur = self.current.as_mut()?;
        let offset = cur.pos;
        // SAFETY: `offset + len <= BLOCK`; no view covers these bytes yet.
        unsafe {
            let base = cur.mem.0.get().cast::<u8>();
            ptr::copy_nonoverlapping(bytes.as_ptr(), base.add(offset), bytes.len());
        }
        // Views start 8-byte aligned, as in Node's pool.
        cur.pos = (offset + bytes.len() + 7) & !7;
        let mut value = ptr::null_mut();
        // SAFETY: a live reference on its thread.
        if unsafe { sys::napi_get_reference_value(env, cur.buffer, &mut value) }
            != sys::Status::napi_ok
            || value.is_null()
        {
            return None;
        }
        Some((value, offset))
    }

    /// Starts a new block; the old one lives on in the views made of it.
    ///
    /// # Safety
    /// As for [`put`](Self::put).
    unsafe fn replace(&mut self, env: sys::napi_env) -> Option<()> {
        self.release(env);
        let mem = Arc::new(Block(UnsafeCell::new([0; BLOCK])));
        let hint = Arc::into_raw(mem.clone()).cast_mut().cast::<c_void>();
        let mut buffer = ptr::null_mut();
        let mut reference = ptr::null_mut();
        // SAFETY: the memory stays valid until `release_block` drops the
        // count handed over in `hint`.
        unsafe {
            if sys::napi_create_external_arraybuffer(
                env,
                mem.0.get().cast::<c_void>(),
                BLOCK,
                Some(release_block),
                hint,
                &mut buffer,
            ) != sys::Status::napi_ok
            {
                // Refused (a runtime without external buffers): never handed over.
                drop(Arc::from_raw(hint.cast::<Block>().cast_const()));
                return None;
            }
            if sys::napi_create_reference(env, buffer, 1, &mut reference) != sys::Status::napi_ok {
                return None;
            }
        }
        self.current = Some(Current {
            mem,
            buffer: reference,
            pos: 0,
        });
        Some(())
    }

    /// Lets go of the current block's `ArrayBuffer`. On the JavaScript
    /// thread of `env` only.
    pub(crate) fn release(&mut self, env: sys::napi_env) {
        if let Some(cur) = self.current.take() {
            // SAFETY: a reference made on this thread, deleted once.
            unsafe { sys::napi_delete_reference(env, cur.buffer) };
        }
    }
}

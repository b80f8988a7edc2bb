//! Generational handle tables.
//!
//! A handle given to C is not a pointer to memory: it is a number (cast to
//! an opaque pointer type) made of a type tag, a slot index and the slot's
//! generation. Looking up a freed handle finds a slot whose generation has
//! moved on (or a handle of another type finds the wrong tag), so double
//! free and use after free give `RTWIRE_RESULT_INVALID_HANDLE` instead of
//! touching freed memory. Freed slots are reused in FIFO order, so a stale
//! handle stays detectable for as long as possible; a slot's generation
//! wraps only after 2^24 reuses on 64-bit targets (2^12 on 32-bit ones).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

const BITS: u32 = usize::BITS;
/// Bits of the slot index (plus one, so that no handle is 0).
const SLOT_BITS: u32 = BITS / 2;
/// Bits of the type tag, at the top.
const TAG_BITS: u32 = BITS / 8;
/// Bits of the generation, in between.
const GEN_BITS: u32 = BITS - SLOT_BITS - TAG_BITS;
const SLOT_MASK: usize = (1usize << SLOT_BITS) - 1;
const GEN_MASK: usize = (1usize << GEN_BITS) - 1;
/// Slots per table; the last index is kept unused so `slot + 1` fits.
const MAX_SLOTS: usize = SLOT_MASK - 1;

/// A table of live objects of one type, addressed by handles.
#[derive(Debug)]
pub(crate) struct Table<T> {
    tag: usize,
    inner: Mutex<Slots<T>>,
}

#[derive(Debug)]
struct Slots<T> {
    slots: Vec<Slot<T>>,
    free: VecDeque<usize>,
}

#[derive(Debug)]
struct Slot<T> {
    generation: usize,
    value: Option<Arc<T>>,
}

impl<T> Table<T> {
    /// An empty table whose handles carry `tag` (1..=15).
    pub const fn new(tag: usize) -> Self {
        Table {
            tag,
            inner: Mutex::new(Slots {
                slots: Vec::new(),
                free: VecDeque::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Slots<T>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn encode(&self, slot: usize, generation: usize) -> usize {
        (self.tag << (SLOT_BITS + GEN_BITS)) | (generation << SLOT_BITS) | (slot + 1)
    }

    fn decode(&self, handle: usize) -> Option<(usize, usize)> {
        if handle >> (SLOT_BITS + GEN_BITS) != self.tag {
            return None;
        }
        let slot = (handle & SLOT_MASK).checked_sub(1)?;
        Some((slot, (handle >> SLOT_BITS) & GEN_MASK))
    }

    /// Stores `value` and returns its handle; `None` when the table is full.
    pub fn insert(&self, value: Arc<T>) -> Option<usize> {
        let mut t = self.lock();
        let slot = match t.free.pop_front() {
            Some(i) => i,
            None if t.slots.len() < MAX_SLOTS => {
                t.slots.push(Slot {
                    generation: 1,
                    value: None,
                });
                t.slots.len() - 1
            }
            None => return None,
        };
        let s = &mut t.slots[slot];
        s.value = Some(value);
        let generation = s.generation;
        Some(self.encode(slot, generation))
    }

    /// The live object behind `handle`.
    pub fn get(&self, handle: usize) -> Option<Arc<T>> {
        let (slot, generation) = self.decode(handle)?;
        let t = self.lock();
        let s = t.slots.get(slot)?;
        if s.generation != generation {
            return None;
        }
        s.value.clone()
    }

    /// Removes the object behind `handle`; the handle is stale afterwards.
    pub fn remove(&self, handle: usize) -> Option<Arc<T>> {
        let (slot, generation) = self.decode(handle)?;
        let mut t = self.lock();
        let s = t.slots.get_mut(slot)?;
        if s.generation != generation || s.value.is_none() {
            return None;
        }
        let value = s.value.take();
        s.generation = match (s.generation + 1) & GEN_MASK {
            0 => 1,
            g => g,
        };
        t.free.push_back(slot);
        value
    }

    /// Number of live objects.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        let t = self.lock();
        t.slots.len() - t.free.len()
    }
}

/// A handle's number as the opaque pointer C sees.
pub(crate) fn to_ptr<T>(handle: usize) -> *mut T {
    std::ptr::without_provenance_mut(handle)
}

/// The number behind an opaque pointer from C.
pub(crate) fn from_ptr<T>(ptr: *const T) -> usize {
    ptr.addr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_handles_are_detected() {
        let t: Table<u32> = Table::new(3);
        let a = t.insert(Arc::new(1)).unwrap();
        assert_eq!(*t.get(a).unwrap(), 1);
        assert!(t.remove(a).is_some());
        assert!(t.get(a).is_none());
        assert!(t.remove(a).is_none(), "double free is detected");
        let b = t.insert(Arc::new(2)).unwrap();
        assert_ne!(a, b, "a reused slot has a new generation");
        assert!(t.get(a).is_none());
        assert_eq!(*t.get(b).unwrap(), 2);
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn handles_of_another_table_or_garbage_are_rejected() {
        let t: Table<u32> = Table::new(1);
        let u: Table<u32> = Table::new(2);
        let a = t.insert(Arc::new(1)).unwrap();
        assert!(u.get(a).is_none());
        for junk in [
            0usize,
            1,
            usize::MAX,
            0xdead_beef,
            a + 1,
            a ^ (1 << SLOT_BITS),
        ] {
            assert!(t.get(junk).is_none() || junk == a, "{junk:#x}");
        }
    }

    #[test]
    fn reused_slots_give_fresh_handles() {
        let t: Table<u32> = Table::new(1);
        let mut last = 0;
        for i in 0..5000 {
            let h = t.insert(Arc::new(i)).unwrap();
            assert_ne!(h, 0);
            assert_ne!(h, last);
            last = h;
            t.remove(h).unwrap();
        }
    }
}

//! A bound on how many things run at once: requests in flight at the gate, history pages in
//! flight within one walk.
//!
//! [`Places`] is a counting semaphore on a condition variable that can also be closed: closing
//! wakes every waiter at once and turns every later [`Places::take`] away. A stop request
//! closes the places it watches ([`crate::shell::signal::Stop::watch`]), and a walk that must
//! end early closes its own, so nobody waits on a timer to notice either.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};

/// A fixed number of places; clones share them.
#[derive(Debug, Clone)]
pub struct Places(Arc<Shared>);

#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
    freed: Condvar,
}

#[derive(Debug)]
struct State {
    free: usize,
    closed: bool,
}

/// One place taken; dropping it gives it back.
#[derive(Debug)]
pub struct Place(Arc<Shared>);

impl Places {
    /// `count` places (at least one).
    pub fn new(count: usize) -> Places {
        Places(Arc::new(Shared {
            state: Mutex::new(State { free: count.max(1), closed: false }),
            freed: Condvar::new(),
        }))
    }

    /// Waits for a free place; `None` once the places are closed, even while waiting.
    pub fn take(&self) -> Option<Place> {
        let mut state = self.0.lock();
        loop {
            if state.closed {
                return None;
            }
            if state.free > 0 {
                state.free -= 1;
                return Some(Place(self.0.clone()));
            }
            state = self.0.freed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Turns away every waiter and every later taker. Places already taken stay taken until
    /// dropped.
    pub fn close(&self) {
        self.0.close();
    }

    pub fn is_closed(&self) -> bool {
        self.0.lock().closed
    }

    /// A handle that does not keep the places alive, for a closer that may outlive them.
    pub(crate) fn downgrade(&self) -> Weak<Shared> {
        Arc::downgrade(&self.0)
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The count stays right even if a thread panicked holding the lock.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.freed.notify_all();
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        self.0.lock().free += 1;
        self.0.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_taker_waits_for_a_place_to_be_given_back() {
        let places = Places::new(2);
        let a = places.take().unwrap();
        let _b = places.take().unwrap();
        std::thread::scope(|s| {
            let waiter = s.spawn(|| places.take().is_some());
            std::thread::sleep(Duration::from_millis(100));
            assert!(!waiter.is_finished(), "a third taker must wait");
            drop(a);
            assert!(waiter.join().unwrap());
        });
    }

    #[test]
    fn closing_turns_away_waiters_and_later_takers() {
        let places = Places::new(1);
        let held = places.take().unwrap();
        std::thread::scope(|s| {
            let waiter = s.spawn(|| places.take().is_none());
            std::thread::sleep(Duration::from_millis(50));
            places.close();
            assert!(waiter.join().unwrap(), "a waiter is turned away when the places close");
        });
        drop(held);
        assert!(places.is_closed());
        assert!(places.take().is_none(), "a place given back after closing is not handed out again");
    }
}

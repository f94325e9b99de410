//! The in-flight cap as a priority queue: a freed slot goes to the waiting call of the lane with
//! the largest backlog, in arrival order among equals.
//!
//! A scan of a long-tailed organization is as long as its largest lane (10,000 functions in one
//! account and region take 11 minutes at Lambda's 15 req/s), while thousands of small lanes
//! could finish any time before. With one FIFO queue the large lane's calls waited behind every
//! small lane's, so it ran below its quota exactly while the machine was busiest; served first,
//! it runs at its quota from its first page, and the small lanes fill the slots it leaves. A lane
//! cannot take more than its token bucket lets through, so priority never starves the others.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

#[derive(Debug)]
pub(crate) struct Slots {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    free: usize,
    arrivals: u64,
    waiting: BinaryHeap<Waiter>,
}

#[derive(Debug)]
struct Waiter {
    priority: u64,
    arrival: Reverse<u64>,
    grant: oneshot::Sender<()>,
}

impl PartialEq for Waiter {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Waiter {}
impl PartialOrd for Waiter {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Waiter {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.priority, self.arrival).cmp(&(other.priority, other.arrival))
    }
}

/// A held slot, given back on drop.
#[derive(Debug)]
pub(crate) struct SlotPermit<'a> {
    slots: &'a Slots,
}

impl Drop for SlotPermit<'_> {
    fn drop(&mut self) {
        self.slots.release();
    }
}

/// A held slot that owns its handle to the slots, for a spawned task; given back on drop.
#[derive(Debug)]
pub(crate) struct OwnedSlotPermit {
    slots: Arc<Slots>,
}

impl Drop for OwnedSlotPermit {
    fn drop(&mut self) {
        self.slots.release();
    }
}

/// A call waiting for a slot. Dropped before it is served, it leaves the queue; dropped after a
/// slot was handed to it but before it saw it, it gives the slot back.
struct Waiting<'a> {
    slots: &'a Slots,
    grant: Option<oneshot::Receiver<()>>,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if let Some(mut grant) = self.grant.take() {
            grant.close();
            if grant.try_recv().is_ok() {
                self.slots.release();
            }
        }
    }
}

impl Slots {
    pub(crate) fn new(slots: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                free: slots,
                arrivals: 0,
                waiting: BinaryHeap::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Wait for a slot; higher `priority` is served first.
    pub(crate) async fn acquire(&self, priority: u64) -> SlotPermit<'_> {
        self.take(priority).await;
        SlotPermit { slots: self }
    }

    /// Like [`Slots::acquire`], with a permit a spawned task can own.
    pub(crate) async fn acquire_owned(self: Arc<Self>, priority: u64) -> OwnedSlotPermit {
        self.take(priority).await;
        OwnedSlotPermit { slots: self }
    }

    /// Wait until a slot is this caller's. The caller wraps it in a permit at once.
    async fn take(&self, priority: u64) {
        let grant = {
            let mut inner = self.lock();
            if inner.free > 0 {
                inner.free -= 1;
                return;
            }
            let (tx, rx) = oneshot::channel();
            inner.arrivals += 1;
            let arrival = Reverse(inner.arrivals);
            inner.waiting.push(Waiter {
                priority,
                arrival,
                grant: tx,
            });
            rx
        };
        let mut waiting = Waiting {
            slots: self,
            grant: Some(grant),
        };
        if let Some(grant) = waiting.grant.as_mut() {
            // A sender is only dropped unsent when its receiver is gone, which this one is not.
            let _ = grant.await;
        }
        waiting.grant = None;
    }

    fn release(&self) {
        let mut inner = self.lock();
        while let Some(next) = inner.waiting.pop() {
            // A waiter that went away cannot take the slot: try the next one.
            if next.grant.send(()).is_ok() {
                return;
            }
        }
        inner.free += 1;
    }

    #[cfg(test)]
    fn free(&self) -> usize {
        self.lock().free
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_freed_slot_goes_to_the_highest_priority_then_the_earliest() {
        let slots = Arc::new(Slots::new(1));
        let held = slots.acquire(0).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (name, priority) in [("low-1", 1), ("high-1", 9), ("low-2", 1), ("high-2", 9)] {
            let slots = slots.clone();
            let order = order.clone();
            tasks.push(tokio::spawn(async move {
                let _permit = slots.acquire(priority).await;
                order.lock().unwrap().push(name);
            }));
            // Each waiter is queued before the next arrives.
            tokio::task::yield_now().await;
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        drop(held);
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(
            *order.lock().unwrap(),
            ["high-1", "high-2", "low-1", "low-2"]
        );
        assert_eq!(slots.free(), 1);
    }

    #[tokio::test]
    async fn a_waiter_that_gives_up_loses_no_slot() {
        let slots = Arc::new(Slots::new(2));
        let a = slots.acquire(0).await;
        let b = slots.acquire(0).await;
        // Two callers give up while waiting; the queue must skip them.
        for priority in [5, 7] {
            let slots = slots.clone();
            let gave_up = tokio::time::timeout(std::time::Duration::from_millis(10), async move {
                let _ = slots.acquire(priority).await;
            })
            .await;
            assert!(gave_up.is_err());
        }
        drop(a);
        assert_eq!(slots.free(), 1, "the slot skips the callers who left");
        let a = slots.acquire(0).await;
        // A waiter that is granted a slot and dropped before it runs gives the slot back.
        let mut late = Box::pin(slots.acquire(3));
        assert!(futures_poll(&mut late).is_none());
        drop(b);
        assert_eq!(slots.free(), 0, "the freed slot was handed to the waiter");
        drop(late);
        assert_eq!(slots.free(), 1);
        drop(a);
        assert_eq!(slots.free(), 2);
        let _all = (slots.acquire(0).await, slots.acquire(0).await);
        assert_eq!(slots.free(), 0);
    }

    /// Poll a future once.
    fn futures_poll<F: std::future::Future + Unpin>(f: &mut F) -> Option<F::Output> {
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        match std::pin::Pin::new(f).poll(&mut cx) {
            std::task::Poll::Ready(v) => Some(v),
            std::task::Poll::Pending => None,
        }
    }
}

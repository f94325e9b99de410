//! Client-side token buckets, one per (account, region, rate class).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// A token bucket refilled continuously at `rate` tokens per second, holding at most `burst`,
/// kept as a schedule (the generic cell rate algorithm): each caller reserves the next free
/// send time under the lock and sleeps once until it. Waiters are served in arrival order, and
/// however many wait on one lane, each wakes exactly once (a poll-and-retry bucket wakes every
/// waiter for every token, which at 10,000 waiters on a lane costs more CPU than the scan).
#[derive(Debug)]
pub(crate) struct TokenBucket {
    /// Seconds between tokens.
    interval: Duration,
    /// How far ahead of the schedule a caller may go: (burst − 1) intervals.
    tolerance: Duration,
    /// The theoretical time of the next token when no burst is left.
    next: Mutex<Instant>,
}

/// The client-side burst, in seconds of rate: half of what AWS's buckets hold (one second). A
/// client that spent all of the service's burst would then pace exactly at the service's rate,
/// where every jitter of a few milliseconds in its requests' arrival is a throttle; keeping half
/// a second of the service's bucket unspent absorbs that jitter.
const BURST_SECONDS: f64 = 0.5;

impl TokenBucket {
    pub(crate) fn new(rate: f64) -> Self {
        let (interval, burst) = if rate.is_finite() && rate > 0.0 {
            (
                Duration::from_secs_f64(1.0 / rate),
                (rate * BURST_SECONDS).max(1.0),
            )
        } else {
            (Duration::ZERO, 1.0)
        };
        Self {
            interval,
            tolerance: interval.mul_f64(burst - 1.0),
            next: Mutex::new(Instant::now()),
        }
    }

    /// Wait until a token is available and take it. A caller that is dropped while waiting has
    /// spent its token.
    pub(crate) async fn acquire(&self) {
        if self.interval.is_zero() {
            return;
        }
        let at = {
            let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            // The earliest time this call conforms: the schedule minus the burst tolerance.
            let at = next
                .checked_sub(self.tolerance)
                .map_or(now, |earliest| earliest.max(now));
            *next = (*next).max(at) + self.interval;
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

/// Rate classes with separate quotas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum RateClass {
    LambdaControl,
    LambdaGetPolicy,
    Iam,
    Organizations,
    AccessAnalyzer,
    Other,
    /// STS AssumeRole, counted against the calling (hub) account.
    Sts,
}

/// All buckets of a scan, created on first use.
#[derive(Debug)]
pub(crate) struct Limiters {
    rates: crate::Rates,
    buckets: Mutex<HashMap<(String, String, RateClass), Arc<TokenBucket>>>,
}

impl Limiters {
    pub(crate) fn new(rates: crate::Rates) -> Self {
        Self {
            rates,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn bucket(&self, account: &str, region: &str, class: RateClass) -> Arc<TokenBucket> {
        let rate = match class {
            RateClass::LambdaControl => self.rates.lambda_control,
            RateClass::LambdaGetPolicy => self.rates.lambda_get_policy,
            RateClass::Iam => self.rates.iam,
            RateClass::Organizations => self.rates.organizations,
            RateClass::AccessAnalyzer => self.rates.access_analyzer,
            RateClass::Other => self.rates.other,
            RateClass::Sts => self.rates.sts,
        };
        let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        map.entry((account.to_string(), region.to_string(), class))
            .or_insert_with(|| Arc::new(TokenBucket::new(rate)))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn bucket_paces_after_the_burst() {
        let bucket = TokenBucket::new(10.0);
        let start = Instant::now();
        for _ in 0..30 {
            bucket.acquire().await;
        }
        // 5 from the half-second burst, 25 more at 10/s: 2.5 seconds of (virtual) time.
        let elapsed = start.elapsed().as_secs_f64();
        assert!((2.4..2.6).contains(&elapsed), "elapsed {elapsed}");
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_waiters_are_served_in_order_at_the_rate() {
        let bucket = Arc::new(TokenBucket::new(20.0));
        let start = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..100u32 {
            let bucket = bucket.clone();
            tasks.spawn(async move {
                bucket.acquire().await;
                (i, start.elapsed())
            });
            // Arrival order is spawn order.
            tokio::task::yield_now().await;
        }
        let mut done: Vec<(u32, Duration)> = tasks.join_all().await;
        done.sort_by_key(|(i, _)| *i);
        // 10 burst tokens at once, then one every 50 ms in arrival order.
        for (i, at) in &done {
            let expected = i.saturating_sub(9) as f64 * 0.05;
            let at = at.as_secs_f64();
            assert!(
                (at - expected).abs() < 0.002,
                "waiter {i} at {at}, expected {expected}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_bucket_refills_its_burst_only() {
        let bucket = TokenBucket::new(10.0);
        tokio::time::sleep(Duration::from_secs(60)).await;
        let start = Instant::now();
        for _ in 0..15 {
            bucket.acquire().await;
        }
        // A minute idle still buys only the 5-token burst; the other 10 take a second.
        let elapsed = start.elapsed().as_secs_f64();
        assert!((0.95..1.05).contains(&elapsed), "elapsed {elapsed}");
    }

    #[tokio::test(start_paused = true)]
    async fn buckets_are_per_lane() {
        let limiters = Limiters::new(crate::Rates::default());
        let a = limiters.bucket("111111111111", "us-east-1", RateClass::LambdaControl);
        let b = limiters.bucket("222222222222", "us-east-1", RateClass::LambdaControl);
        let a2 = limiters.bucket("111111111111", "us-east-1", RateClass::LambdaControl);
        assert!(Arc::ptr_eq(&a, &a2));
        assert!(!Arc::ptr_eq(&a, &b));
        let start = Instant::now();
        for _ in 0..7 {
            a.acquire().await;
            b.acquire().await;
        }
        // Both lanes spend only their own burst: no waiting at all.
        assert!(start.elapsed() < Duration::from_millis(5));
    }
}

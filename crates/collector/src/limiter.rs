//! Client-side token buckets, one per (account, region, rate class).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// A token bucket refilled continuously at `rate` tokens per second, holding at most `burst`.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    rate: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    pub(crate) fn new(rate: f64) -> Self {
        // A burst of one second's worth matches how AWS buckets behave and keeps the first
        // calls of a lane from waiting.
        let burst = rate.max(1.0);
        Self {
            rate,
            burst,
            state: Mutex::new((burst, Instant::now())),
        }
    }

    /// Wait until a token is available and take it.
    pub(crate) async fn acquire(&self) {
        if !self.rate.is_finite() || self.rate <= 0.0 {
            return;
        }
        loop {
            let wait = {
                let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                let elapsed = now.saturating_duration_since(state.1).as_secs_f64();
                state.0 = (state.0 + elapsed * self.rate).min(self.burst);
                state.1 = now;
                if state.0 >= 1.0 {
                    state.0 -= 1.0;
                    return;
                }
                (1.0 - state.0) / self.rate
            };
            tokio::time::sleep(Duration::from_secs_f64(wait)).await;
        }
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
        // 10 from the burst, 20 more at 10/s: two seconds of (virtual) time.
        let elapsed = start.elapsed().as_secs_f64();
        assert!((1.9..2.2).contains(&elapsed), "elapsed {elapsed}");
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
        for _ in 0..15 {
            a.acquire().await;
            b.acquire().await;
        }
        // Both lanes spend only their own burst: no waiting at all.
        assert!(start.elapsed() < Duration::from_millis(5));
    }
}

//! Requests as bounded jobs: a slot from a fixed pool (waiting at most
//! [`QUEUE_WAIT_MS`](crate::limits::QUEUE_WAIT_MS)), a blocking thread for the computation, a
//! [`Deadline`] the computation checks between pieces of work, and `catch_unwind` as the last
//! line of defence so that no request can take the server down.

use crate::error::ApiError;
use crate::limits::QUEUE_WAIT_MS;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// When a job must stop; long loops call [`Deadline::check`] to be cancelled in time.
#[derive(Debug, Clone, Copy)]
pub struct Deadline(Instant, u64);

impl Deadline {
    /// `ms` milliseconds from now.
    pub fn after_ms(ms: u64) -> Deadline {
        Deadline(Instant::now() + Duration::from_millis(ms), ms)
    }

    /// An error once the time is up.
    pub fn check(&self) -> Result<(), ApiError> {
        if Instant::now() > self.0 {
            Err(ApiError::unavailable(format!(
                "the request took longer than {:.1} s and was cancelled: ask for fewer steps or a smaller grid",
                self.1 as f64 / 1000.0
            )))
        } else {
            Ok(())
        }
    }
}

/// A fixed number of job slots shared by all requests.
pub struct JobPool {
    slots: Arc<Semaphore>,
    job_ms: u64,
}

impl JobPool {
    /// A pool of `n` slots whose jobs may compute for `job_ms` milliseconds.
    pub fn new(n: usize, job_ms: u64) -> JobPool {
        JobPool {
            slots: Arc::new(Semaphore::new(n)),
            job_ms,
        }
    }

    /// Runs `work` on a blocking thread once a slot is free, with the pool's deadline; a panic
    /// inside becomes a 500 answer.
    pub async fn run<F>(&self, work: F) -> Result<Value, ApiError>
    where
        F: FnOnce(Deadline) -> Result<Value, ApiError> + Send + 'static,
    {
        let wait = Duration::from_millis(QUEUE_WAIT_MS);
        let permit = match tokio::time::timeout(wait, self.slots.clone().acquire_owned()).await {
            Ok(Ok(p)) => p,
            _ => {
                return Err(ApiError::unavailable(
                    "the server is busy with other requests: try again in a moment",
                ))
            }
        };
        let deadline = Deadline::after_ms(self.job_ms);
        let handle = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            match catch_unwind(AssertUnwindSafe(|| work(deadline))) {
                Ok(r) => r,
                Err(panic) => Err(ApiError::internal(format!(
                    "internal error while computing the answer: {}",
                    panic_message(&panic)
                ))),
            }
        });
        // A job that ignores its deadline still gets an answer in time; its slot stays taken
        // until it ends, so a stuck job cannot multiply.
        match tokio::time::timeout(Duration::from_millis(self.job_ms + 1000), handle).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => Err(ApiError::internal(format!("the job failed: {e}"))),
            Err(_) => Err(
                Deadline(Instant::now() - Duration::from_secs(1), self.job_ms)
                    .check()
                    .unwrap_err(),
            ),
        }
    }
}

fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic".into()
    }
}

/// Reads a JSON request body: a body over the size limit, not JSON, or of the wrong shape is a
/// 4xx answer saying which.
pub fn parse_body<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, ApiError> {
    let bytes = body.map_err(|e| ApiError {
        status: e.status().as_u16(),
        message: format!(
            "cannot read the request body (at most {} bytes): {e}",
            crate::limits::BODY_BYTES
        ),
        column: None,
    })?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad(format!("malformed JSON request: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn long_jobs_are_cancelled_and_panics_become_500() {
        let pool = JobPool::new(2, 100);
        let started = Instant::now();
        let r = block_on(pool.run(|d| loop {
            d.check()?;
            std::thread::sleep(Duration::from_millis(5));
        }));
        let e = r.unwrap_err();
        assert_eq!(e.status, 503);
        assert!(e.message.contains("cancelled"), "{e:?}");
        assert!(started.elapsed() < Duration::from_secs(2));
        let e = block_on(pool.run(|_| -> Result<Value, ApiError> { panic!("boom") })).unwrap_err();
        assert_eq!(e.status, 500);
        assert!(e.message.contains("boom"), "{e:?}");
        // A job that ignores its deadline still gets an answer, one second after it.
        let e = block_on(pool.run(|_| {
            std::thread::sleep(Duration::from_millis(1500));
            Ok(json!(1))
        }))
        .unwrap_err();
        assert_eq!(e.status, 503);
        assert_eq!(block_on(pool.run(|_| Ok(json!(2)))).unwrap(), json!(2));
    }

    #[test]
    fn a_full_pool_refuses_after_waiting() {
        let pool = Arc::new(JobPool::new(1, 10_000));
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let busy = pool.clone();
        let first = rt.spawn(async move {
            busy.run(|_| {
                std::thread::sleep(Duration::from_millis(QUEUE_WAIT_MS + 1500));
                Ok(json!(1))
            })
            .await
        });
        std::thread::sleep(Duration::from_millis(200));
        let e = rt.block_on(pool.run(|_| Ok(json!(2)))).unwrap_err();
        assert_eq!(e.status, 503);
        assert!(e.message.contains("busy"), "{e:?}");
        assert_eq!(rt.block_on(first).unwrap().unwrap(), json!(1));
    }
}

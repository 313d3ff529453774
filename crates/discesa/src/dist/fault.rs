//! Faults: the test switch `DISCESA_FAULT=panic@rank=R,step=S` (rank R panics before step S),
//! and the panic hook that turns a panic on any rank into the end of the whole job with one
//! line naming the rank and the cause.

use std::sync::OnceLock;

/// An injected fault: panic on `rank` before global step `step` (0-based, as counted in
/// checkpoints).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultPlan {
    /// The rank that fails.
    pub rank: usize,
    /// The step before which it fails.
    pub step: u64,
}

impl FaultPlan {
    /// Parses `panic@rank=R,step=S`.
    pub fn parse(s: &str) -> Result<FaultPlan, String> {
        let bad = || format!("DISCESA_FAULT=`{s}`: expected panic@rank=R,step=S");
        let rest = s.trim().strip_prefix("panic@").ok_or_else(bad)?;
        let (mut rank, mut step) = (None, None);
        for part in rest.split(',') {
            let (k, v) = part.split_once('=').ok_or_else(bad)?;
            match k.trim() {
                "rank" => rank = Some(v.trim().parse().map_err(|_| bad())?),
                "step" => step = Some(v.trim().parse().map_err(|_| bad())?),
                _ => return Err(bad()),
            }
        }
        Ok(FaultPlan {
            rank: rank.ok_or_else(bad)?,
            step: step.ok_or_else(bad)?,
        })
    }

    /// The plan in the environment, if any (read once per process).
    pub fn from_env() -> Result<Option<FaultPlan>, String> {
        match std::env::var("DISCESA_FAULT") {
            Ok(s) if !s.trim().is_empty() => FaultPlan::parse(&s).map(Some),
            _ => Ok(None),
        }
    }
}

static PLAN: OnceLock<Option<FaultPlan>> = OnceLock::new();

/// Panics if the environment's fault plan names this rank and step.
pub fn maybe_panic(rank: usize, step: u64) {
    let plan = PLAN.get_or_init(|| FaultPlan::from_env().ok().flatten());
    if let Some(p) = plan {
        if p.rank == rank && p.step == step {
            panic!("injected fault (DISCESA_FAULT) before step {step}");
        }
    }
}

/// The message of a panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_string()
    }
}

/// Installs a panic hook for a process that is rank `rank` of a job: it prints one line
/// `error: rank R panicked: <message> (<file>:<line>)` and calls `end_job` (MPI abort), so the
/// other ranks do not wait forever.
pub fn install_rank_hook(rank: usize, end_job: fn(i32)) {
    std::panic::set_hook(Box::new(move |info| {
        let at = info
            .location()
            .map(|l| format!(" ({}:{})", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "error: rank {rank} panicked: {}{at}",
            panic_message(info.payload())
        );
        end_job(101);
    }));
}

/// Installs a panic hook that stays silent on worker threads named `rank N` (their panics are
/// caught and reported once by [`run_threads`](super::run_threads)) and keeps the default
/// report elsewhere.
pub fn install_thread_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let quiet = std::thread::current()
            .name()
            .is_some_and(|n| n.starts_with("rank "));
        if !quiet {
            default(info);
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_switch_and_rejects_other_forms() {
        assert_eq!(
            FaultPlan::parse("panic@rank=1,step=30"),
            Ok(FaultPlan { rank: 1, step: 30 })
        );
        assert_eq!(
            FaultPlan::parse(" panic@step=2, rank=0 "),
            Ok(FaultPlan { rank: 0, step: 2 })
        );
        for bad in [
            "panic",
            "crash@rank=1,step=2",
            "panic@rank=1",
            "panic@rank=x,step=1",
        ] {
            assert!(
                FaultPlan::parse(bad).unwrap_err().contains("expected"),
                "{bad}"
            );
        }
    }
}

//! The report of a distributed run: the timeline file, the mean time shares over ranks and
//! the staleness histogram.

use super::fail;
use crate::fail::Fail;
use discesa::dist::{write_trace, DistSteps, StrategyOptions};
use std::path::Path;

/// After a distributed run: the timeline file and time shares (`--profile`), the staleness
/// histogram (`async`); returns the extra `--json` keys (rank 0).
pub(super) fn report_dist(
    steps: &mut dyn DistSteps,
    strategy: &StrategyOptions,
    ranks: usize,
    profile: Option<&Path>,
) -> Result<serde_json::Map<String, serde_json::Value>, Fail> {
    let mut extra = serde_json::Map::new();
    extra.insert("ranks".into(), ranks.into());
    extra.insert("strategy".into(), strategy.strategy.to_string().into());
    if let Some(path) = profile {
        let shares = steps.timeline().shares();
        let mut mean = [
            shares.compute,
            shares.communication,
            shares.waiting,
            shares.update,
        ];
        steps
            .comm()
            .all_reduce_sum_f64(&mut mean)
            .map_err(Fail::runtime)?;
        mean.iter_mut().for_each(|v| *v /= ranks as f64);
        let timeline = steps.timeline().clone();
        let events = timeline.gather(steps.comm()).map_err(fail)?;
        if steps.comm().rank() == 0 {
            write_trace(path, events).map_err(fail)?;
            let over = if ranks > 1 {
                format!(" (mean over {ranks} ranks)")
            } else {
                String::new()
            };
            eprintln!(
                "time shares{over}: compute {:.1}%, communication {:.1}%, waiting {:.1}%, update {:.1}%; timeline in {}",
                mean[0] * 100.0,
                mean[1] * 100.0,
                mean[2] * 100.0,
                mean[3] * 100.0,
                path.display()
            );
            let names = ["compute", "communication", "waiting", "update"];
            let shares: serde_json::Map<String, serde_json::Value> = names
                .iter()
                .zip(mean)
                .map(|(n, v)| (n.to_string(), v.into()))
                .collect();
            extra.insert("time_shares".into(), shares.into());
        }
    }
    if let Some(h) = steps.staleness() {
        eprintln!(
            "staleness of applied updates (versions:count): {}",
            h.describe()
        );
        extra.insert(
            "staleness_histogram".into(),
            serde_json::to_value(h).unwrap_or_default(),
        );
    }
    Ok(extra)
}

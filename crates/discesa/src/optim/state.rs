//! Serializable optimizer snapshots.
//!
//! State vectors are stored as `f64` so one format serves `f32` and `f64` runs; widening an
//! `f32` to `f64` and narrowing it back is exact, so restored `f32` runs continue bit for bit.
//! When writing a snapshot as JSON, serde_json's `float_roundtrip` feature (enabled by this
//! crate) keeps every `f64` exact; NaN or infinite entries cannot be represented in JSON.

use super::float::{cast, widen};
use super::{AdamConfig, OptimError, OptimFloat, OptimizerKind, RmsPropConfig, SgdConfig};
use serde::{Deserialize, Serialize};

/// Everything needed to resume an optimizer exactly where it stopped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimizerState {
    /// Which update rule produced the snapshot.
    pub kind: OptimizerKind,
    /// Hyper-parameters in force, including the current learning rate.
    pub hyper: HyperParams,
    /// Number of steps taken.
    pub step: u64,
    /// Named state vectors, each as long as the parameter buffer (empty before the first step).
    pub buffers: Vec<StateBuffer>,
}

/// Hyper-parameters of one optimizer family.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "family", rename_all = "lowercase")]
pub enum HyperParams {
    /// SGD, momentum and Nesterov.
    Sgd(SgdConfig),
    /// RMSprop.
    RmsProp(RmsPropConfig),
    /// Adam and AdamW.
    Adam(AdamConfig),
}

/// One named state vector, such as `exp_avg` for Adam.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateBuffer {
    /// Name of the vector, following PyTorch (`momentum_buffer`, `square_avg`, `exp_avg`, `exp_avg_sq`).
    pub name: String,
    /// Values, one per parameter element.
    pub data: Vec<f64>,
}

impl OptimizerState {
    /// Looks up a state vector by name.
    pub fn buffer(&self, name: &str) -> Option<&StateBuffer> {
        self.buffers.iter().find(|b| b.name == name)
    }
}

/// The hyper-parameters of one optimizer family, as snapshots hold them.
pub(crate) trait Family: Copy {
    /// Wraps them for a snapshot.
    fn hyper(self) -> HyperParams;
    /// Takes them out of a snapshot, when it is of this family.
    fn from_hyper(hyper: HyperParams) -> Option<Self>;
    /// Which update rule they configure.
    fn kind(&self) -> OptimizerKind;
    /// Checks every hyper-parameter range.
    fn validate(&self) -> Result<(), OptimError>;
    /// The state vectors a snapshot taken after the first step holds with these settings.
    fn state_names(&self) -> &'static [&'static str];
}

/// [`Family`] for each variant of [`HyperParams`] and its settings type, from the type's own
/// methods.
macro_rules! families {
    ($($variant:ident($cfg:ty)),+ $(,)?) => {$(
        impl Family for $cfg {
            fn hyper(self) -> HyperParams {
                HyperParams::$variant(self)
            }

            fn from_hyper(hyper: HyperParams) -> Option<Self> {
                match hyper {
                    HyperParams::$variant(cfg) => Some(cfg),
                    _ => None,
                }
            }

            fn kind(&self) -> OptimizerKind {
                <$cfg>::kind(self)
            }

            fn validate(&self) -> Result<(), OptimError> {
                <$cfg>::validate(self)
            }

            fn state_names(&self) -> &'static [&'static str] {
                <$cfg>::state_names(self)
            }
        }
    )+};
}

families!(Sgd(SgdConfig), RmsProp(RmsPropConfig), Adam(AdamConfig));

/// A snapshot of an optimizer configured by `cfg` after `step` steps, with its state vectors.
pub(crate) fn snapshot<C: Family, T: OptimFloat>(
    cfg: C,
    step: u64,
    named: &[(&str, &[T])],
) -> OptimizerState {
    OptimizerState {
        kind: cfg.kind(),
        hyper: cfg.hyper(),
        step,
        buffers: save_buffers(named),
    }
}

/// What a snapshot restores: its checked settings, and its state vectors by name.
pub(crate) struct Restored<C, T> {
    /// The settings in force when the snapshot was taken.
    pub cfg: C,
    buffers: Vec<(&'static str, Vec<T>)>,
}

impl<C, T> Restored<C, T> {
    /// The vector saved under `name`, or an empty one when the snapshot need not hold it yet.
    pub fn take(&mut self, name: &str) -> Vec<T> {
        self.buffers
            .iter_mut()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| std::mem::take(v))
            .unwrap_or_default()
    }
}

/// Checks a snapshot taken by an optimizer of `kind` and takes out its settings and vectors.
pub(crate) fn restore<C: Family, T: OptimFloat>(
    state: &OptimizerState,
    kind: OptimizerKind,
) -> Result<Restored<C, T>, OptimError> {
    check_kind(state, kind)?;
    let cfg = C::from_hyper(state.hyper).ok_or_else(|| OptimError::InvalidState {
        optimizer: kind.name(),
        reason: "hyper-parameters belong to another optimizer family".into(),
    })?;
    cfg.validate()?;
    check_kind(state, cfg.kind())?;
    let names = cfg.state_names();
    let buffers = restore_buffers::<T>(state, names)?;
    Ok(Restored {
        cfg,
        buffers: names.iter().copied().zip(buffers).collect(),
    })
}

/// Widens internal state vectors for a snapshot; skipped entirely before the first step.
pub(crate) fn save_buffers<T: OptimFloat>(named: &[(&str, &[T])]) -> Vec<StateBuffer> {
    named
        .iter()
        .filter(|(_, data)| !data.is_empty())
        .map(|(name, data)| StateBuffer {
            name: (*name).to_string(),
            data: data.iter().map(|&x| widen(x)).collect(),
        })
        .collect()
}

/// Checks that a snapshot is for `kind`.
fn check_kind(state: &OptimizerState, kind: OptimizerKind) -> Result<(), OptimError> {
    if state.kind == kind {
        Ok(())
    } else {
        Err(OptimError::StateKindMismatch {
            expected: kind.name(),
            found: state.kind.name().to_string(),
        })
    }
}

/// Extracts exactly the state vectors `names` (in that order), all of one length.
///
/// A snapshot without vectors is accepted only before the first step, since resuming
/// a later step from zeroed state would not reproduce the original run.
pub(crate) fn restore_buffers<T: OptimFloat>(
    state: &OptimizerState,
    names: &[&str],
) -> Result<Vec<Vec<T>>, OptimError> {
    let optimizer = state.kind.name();
    let invalid = |reason: String| OptimError::InvalidState { optimizer, reason };
    if state.buffers.is_empty() {
        if state.step > 0 && !names.is_empty() {
            return Err(invalid(format!(
                "step count is {} but no state vectors were saved (expected {})",
                state.step,
                names.join(", ")
            )));
        }
        return Ok(names.iter().map(|_| Vec::new()).collect());
    }
    if state.step == 0 {
        return Err(invalid("state vectors present but step count is 0".into()));
    }
    if let Some(extra) = state
        .buffers
        .iter()
        .find(|b| !names.contains(&b.name.as_str()))
    {
        return Err(invalid(format!(
            "unexpected state vector `{}` (expected {})",
            extra.name,
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        )));
    }
    let mut out = Vec::with_capacity(names.len());
    let mut len = None;
    for name in names {
        let buf = state
            .buffer(name)
            .ok_or_else(|| invalid(format!("missing state vector `{name}`")))?;
        match len {
            Some(l) if l != buf.data.len() => {
                return Err(invalid(format!(
                    "state vector `{name}` has {} elements, expected {l}",
                    buf.data.len()
                )))
            }
            _ => len = Some(buf.data.len()),
        }
        out.push(buf.data.iter().map(|&x| cast::<T>(x)).collect());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(step: u64, buffers: Vec<StateBuffer>) -> OptimizerState {
        OptimizerState {
            kind: OptimizerKind::Adam,
            hyper: HyperParams::Adam(AdamConfig::adam(1e-3)),
            step,
            buffers,
        }
    }

    fn buf(name: &str, data: Vec<f64>) -> StateBuffer {
        StateBuffer {
            name: name.into(),
            data,
        }
    }

    #[test]
    fn f32_values_survive_widening_exactly() {
        let v = [0.1f32, -3.4e38, 1.0e-45, 7.0];
        let saved = save_buffers(&[("exp_avg", &v[..]), ("exp_avg_sq", &v[..])]);
        let s = state(1, saved);
        let back: Vec<Vec<f32>> = restore_buffers(&s, &["exp_avg", "exp_avg_sq"]).unwrap();
        for (a, b) in back[0].iter().zip(&v) {
            assert_eq!(a.to_bits(), b.to_bits());
        }
    }

    #[test]
    fn inconsistent_snapshots_are_rejected() {
        let names = ["exp_avg", "exp_avg_sq"];
        let err = restore_buffers::<f64>(&state(3, vec![]), &names).unwrap_err();
        assert!(err.to_string().contains("step count is 3"), "{err}");
        let s = state(
            3,
            vec![buf("exp_avg", vec![1.0]), buf("exp_avg_sq", vec![1.0, 2.0])],
        );
        let err = restore_buffers::<f64>(&s, &names).unwrap_err();
        assert!(
            err.to_string().contains("has 2 elements, expected 1"),
            "{err}"
        );
        let s = state(3, vec![buf("exp_avg", vec![1.0])]);
        let err = restore_buffers::<f64>(&s, &names).unwrap_err();
        assert!(
            err.to_string()
                .contains("missing state vector `exp_avg_sq`"),
            "{err}"
        );
        let s = state(3, vec![buf("momentum_buffer", vec![1.0])]);
        let err = restore_buffers::<f64>(&s, &names).unwrap_err();
        assert!(
            err.to_string()
                .contains("unexpected state vector `momentum_buffer`"),
            "{err}"
        );
        assert!(restore_buffers::<f64>(&state(0, vec![]), &names).is_ok());
    }

    #[test]
    fn restore_takes_vectors_by_name_and_checks_the_family() {
        // Without momentum RMSprop saves only its square average.
        let cfg = RmsPropConfig::new(0.1);
        let none: &[f32] = &[];
        let saved = snapshot(
            cfg,
            2,
            &[
                ("square_avg", &[1.0f32, 2.0][..]),
                ("momentum_buffer", none),
            ],
        );
        assert_eq!(saved.kind, OptimizerKind::RmsProp);
        assert_eq!(saved.buffers.len(), 1);
        let mut r = restore::<RmsPropConfig, f32>(&saved, OptimizerKind::RmsProp).unwrap();
        assert_eq!(r.cfg, cfg);
        assert_eq!(r.take("square_avg"), vec![1.0, 2.0]);
        assert!(r.take("momentum_buffer").is_empty());
        let foreign = OptimizerState {
            hyper: HyperParams::Sgd(SgdConfig::plain(0.1)),
            ..saved
        };
        let err = restore::<RmsPropConfig, f32>(&foreign, OptimizerKind::RmsProp)
            .err()
            .unwrap();
        assert!(
            err.to_string().contains("another optimizer family"),
            "{err}"
        );
    }

    #[test]
    fn kind_mismatch_names_both() {
        let err = check_kind(&state(0, vec![]), OptimizerKind::Sgd).unwrap_err();
        assert_eq!(
            err.to_string(),
            "optimizer state is for adam but this optimizer is sgd"
        );
    }
}

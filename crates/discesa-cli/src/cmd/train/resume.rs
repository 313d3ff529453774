//! `discesa train --resume`: the data options come from the checkpoint, so the split is the
//! same, and the checkpoint's model must fit the data and the model asked for.

use super::super::model_choice::DataShape;
use super::super::train_config::FileConfig;
use super::settings::{settings, Settings};
use super::TrainArgs;
use crate::fail::Fail;
use discesa::train::Checkpoint;

/// The settings of a resumed run: the flags as for a new run, with the preprocessing and the
/// split taken from the checkpoint.
pub(super) fn resumed_settings(
    a: &TrainArgs,
    file: &FileConfig,
    ck: &Checkpoint,
) -> Result<Settings, Fail> {
    let mut s = settings(a, file).map_err(|e| {
        if a.data.is_none() && file.data.is_none() {
            Fail::input("--data is required with --resume (the same data the run was trained on)")
        } else {
            e
        }
    })?;
    let p = &ck.state.preprocessing;
    s.prep.target = p.target.clone();
    s.prep.test_fraction = p.test_fraction;
    s.prep.val_fraction = p.val_fraction;
    s.prep.seed = p.split_seed;
    s.prep.standardize = p.standardizer.is_some();
    s.prep.train_rows = p.train_rows;
    s.standardize_target = p.target_scale.is_some();
    Ok(s)
}

/// Refuses a checkpoint whose model is not the one asked for, or does not take the data.
pub(super) fn check_compatible(
    ck: &Checkpoint,
    s: &Settings,
    shape: &DataShape,
) -> Result<(), Fail> {
    if let Some(m) = &s.model {
        let saved = ck.state.model.name();
        let asked = m.name();
        if saved != asked {
            return Err(Fail::input(format!(
                "the checkpoint holds a {saved} model; it cannot be resumed as {asked}"
            )));
        }
    }
    if let (Some(want), Some(have)) = (ck.state.model.input_shape(), shape.image) {
        if want != have {
            return Err(Fail::input(format!(
                "the checkpoint's model takes images of shape {want:?} but {} has \
                 images of shape {have:?}",
                s.data.display()
            )));
        }
    }
    if ck.state.model.n_inputs() != shape.features {
        return Err(Fail::input(format!(
            "the checkpoint's model expects {} features but {} has {}",
            ck.state.model.n_inputs(),
            s.data.display(),
            shape.features
        )));
    }
    Ok(())
}

//! Loss landscapes (Li et al. 2018): the loss along filter-normalised directions, training
//! trajectories on their PCA plane, and Hessian spectra from Hessian-vector products.
//!
//! - [`directions`]: random directions, normalisation (`filter`, `layer`, `weight`, `none`)
//!   and the `biasbn` rule;
//! - [`grid`]: `xmin:xmax:nx[,ymin:ymax:ny]` and the row-major order of points;
//! - [`model`]: [`LossModel`], what a landscape needs of a network, for any module;
//! - [`plane`]: evaluators of `θ + a·dx + b·dy` (MLPs precompute their first layer);
//! - [`resnet_plane`]: ResNets evaluated off the tape with batch norm folded into convolutions;
//! - [`surface`]: grid points over threads, saved as they finish, resumed after interruption;
//! - [`share`]: which points a process computes and how results are gathered (MPI-ready);
//! - [`hessian`]: Lanczos extremes, Hutchinson trace and SLQ density on Hessian-vector products;
//! - [`pca`]: principal directions of a trajectory of epoch snapshots;
//! - [`output`]: the files of an output directory (npy, JSON, safetensors, ParaView `.vtp`);
//! - [`run`](mod@run): the whole `discesa landscape` run from a checkpoint.

pub mod directions;
mod error;
pub mod figures;
pub mod grid;
pub mod hessian;
pub mod model;
pub mod output;
pub mod pca;
pub mod plane;
pub mod resnet_plane;
pub mod run;
pub mod share;
pub mod source;
pub mod surface;

pub use directions::{Ignore, Norm};
pub use error::{LandscapeError, Result};
pub use grid::{Axis, Grid};
pub use hessian::HessianOptions;
pub use model::{LossModel, ModuleModel, PointValue, SampleTargets, Samples};
pub use run::{run, run_shared, DirectionKind, LandscapeConfig, Report, Split};
pub use share::{PointResult, PointShare, RankShare, SingleProcess};

#[cfg(test)]
mod tests;

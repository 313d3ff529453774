//! One module per subcommand.

pub mod bench;
pub mod demo;
pub mod descend;
pub mod evaluate;
pub mod formula_util;
pub mod gallery;
pub mod grad;
pub mod hessian;
pub mod landscape;
mod model_choice;
pub mod predict;
pub mod serve;
pub mod train;
mod train_config;
mod train_dist;

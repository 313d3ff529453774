//! One module per subcommand.

pub mod bench;
pub mod demo;
pub mod evaluate;
pub mod predict;
pub mod train;
mod train_config;

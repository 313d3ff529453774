//! Figures of what gradient descent and training do, rendered with `plotters`.
//!
//! Every function takes plain data (slices, closures) and writes one file whose format follows
//! the extension: `.png` or `.svg`, anything else is an error naming the path. Files are
//! written atomically: rendered to a temp file in the same directory, then renamed; on error
//! the temp file is removed so no partial output remains. Text uses an embedded DejaVu Sans
//! font, so the output does not depend on the fonts installed on the machine.
//!
//! Non-finite data never aborts a figure: such points are skipped (lines break there), and
//! sampled function values that are not finite leave holes in fills and surfaces.

mod contour;
mod contour_2d;
mod descent_1d;
mod draw;
mod error;
mod font;
mod geom;
mod grad_norms;
mod heatmap;
mod lines;
mod output;
mod series;
mod style;
mod surface_3d;
#[cfg(test)]
mod testutil;
mod training;
mod twin_axes;

pub use contour::LevelSpacing;
pub use contour_2d::{contour_2d, Contour2dOptions, Path2d};
pub use descent_1d::{descent_1d, Descent1dOptions, Path1d};
pub use error::PlotError;
pub use grad_norms::{grad_norms, GradNormsOptions};
pub use heatmap::{heatmap, HeatmapOptions};
pub use output::{FigureSize, Format, MAX_SIDE, MIN_SIDE};
pub use series::{series, Series, SeriesOptions, SeriesPanel};
pub use surface_3d::{surface_3d, Surface3dOptions};
pub use training::{training_curves, TrainingCurvesOptions, TrainingHistory};
pub use twin_axes::{twin_axes, TwinAxesOptions, XyLine};

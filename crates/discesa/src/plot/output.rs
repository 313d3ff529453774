//! Output format selection and atomic file writing shared by every figure.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::{BitMapBackend, DrawingArea, DrawingBackend, IntoDrawingArea, SVGBackend};

use super::font::ensure_font;
use super::PlotError;

/// Smallest accepted canvas side: below this, axes and legends cannot fit.
pub const MIN_SIDE: u32 = 200;
/// Largest accepted canvas side: keeps the bitmap buffer within a sane size.
pub const MAX_SIDE: u32 = 8192;

/// Canvas size in pixels (SVG user units for `.svg`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FigureSize {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl Default for FigureSize {
    fn default() -> Self {
        Self {
            width: 900,
            height: 700,
        }
    }
}

/// File format, chosen from the output path's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Bitmap written as PNG.
    Png,
    /// Vector image written as SVG.
    Svg,
}

impl Format {
    /// Picks the format from the extension (case-insensitive `png` or `svg`).
    pub fn from_path(path: &Path) -> Result<Self, PlotError> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("png") => Ok(Format::Png),
            Some("svg") => Ok(Format::Svg),
            _ => Err(PlotError::UnsupportedFormat {
                path: path.to_path_buf(),
            }),
        }
    }
}

/// A figure that can draw itself on any plotters backend; the error is a plain message.
pub(crate) trait Figure {
    /// Draws the whole figure on `root`, which is already cleared to white.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>;
}

/// Turns any displayable renderer error into the module's message type.
pub(crate) fn msg<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// Checks the size and the extension before any work is done.
pub(crate) fn validate_target(path: &Path, size: FigureSize) -> Result<Format, PlotError> {
    let format = Format::from_path(path)?;
    let ok = |v: u32| (MIN_SIDE..=MAX_SIDE).contains(&v);
    if !ok(size.width) || !ok(size.height) {
        return Err(PlotError::InvalidSize {
            path: path.to_path_buf(),
            width: size.width,
            height: size.height,
            min: MIN_SIDE,
            max: MAX_SIDE,
        });
    }
    Ok(format)
}

/// The error for data that cannot be drawn into the figure at `path`.
pub(crate) fn invalid_data(path: &Path, what: String) -> PlotError {
    PlotError::InvalidData {
        path: path.to_path_buf(),
        what,
    }
}

/// The start of every figure: checks the size and the extension before any work is done, and
/// gives the error to raise for data that cannot be drawn at `path`.
pub(crate) fn begin_figure(
    path: &Path,
    size: FigureSize,
) -> Result<impl Fn(String) -> PlotError + '_, PlotError> {
    validate_target(path, size)?;
    Ok(move |what| invalid_data(path, what))
}

/// Renders `figure` to a temp file and renames it onto `path`; on failure no file is left.
pub(crate) fn render<F: Figure>(
    path: &Path,
    size: FigureSize,
    figure: &F,
) -> Result<(), PlotError> {
    let format = validate_target(path, size)?;
    ensure_font()?;
    // The temporary file is removed if drawing fails (or panics) before the commit.
    let pending = crate::fsio::PendingFile::new(path)?;
    let tmp = pending.temp_path();
    let dims = (size.width, size.height);
    // The backend is dropped at the end of each arm, before the commit.
    let drawn = match format {
        Format::Png => draw_on(BitMapBackend::new(tmp, dims).into_drawing_area(), figure),
        Format::Svg => draw_on(SVGBackend::new(tmp, dims).into_drawing_area(), figure),
    };
    drawn.map_err(|message| PlotError::Render {
        path: path.to_path_buf(),
        message,
    })?;
    Ok(pending.commit()?)
}

/// Clears, draws and flushes one drawing area.
fn draw_on<DB: DrawingBackend, F: Figure>(
    root: DrawingArea<DB, Shift>,
    figure: &F,
) -> Result<(), String> {
    root.fill(&plotters::style::WHITE).map_err(msg)?;
    figure.draw(&root)?;
    root.present().map_err(msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::testutil::TempDir;
    use plotters::prelude::*;

    /// Draws a rectangle, then fails or succeeds as told.
    struct Probe {
        fail: bool,
    }

    impl Figure for Probe {
        fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
            root.draw(&Rectangle::new([(10, 10), (100, 100)], RED.filled()))
                .map_err(msg)?;
            if self.fail {
                Err("probe failure".into())
            } else {
                Ok(())
            }
        }
    }

    #[test]
    fn format_follows_extension_case_insensitively() {
        assert_eq!(
            Format::from_path(Path::new("a/b.PNG")).unwrap(),
            Format::Png
        );
        assert_eq!(Format::from_path(Path::new("b.svg")).unwrap(), Format::Svg);
        let err = Format::from_path(Path::new("dir/fig.jpg")).unwrap_err();
        assert!(err.to_string().contains("dir/fig.jpg"), "{err}");
        assert!(Format::from_path(Path::new("noext")).is_err());
    }

    #[test]
    fn failing_render_leaves_no_file_for_either_format() {
        let dir = TempDir::new("render-fail");
        for name in ["out.png", "out.svg"] {
            let path = dir.path().join(name);
            let err = render(&path, FigureSize::default(), &Probe { fail: true }).unwrap_err();
            assert!(err.to_string().contains("probe failure"), "{err}");
            assert!(err.to_string().contains(name), "{err}");
        }
        assert_eq!(dir.entries(), Vec::<String>::new());
    }

    #[test]
    fn successful_render_leaves_only_the_target() {
        let dir = TempDir::new("render-ok");
        let path = dir.path().join("ok.png");
        render(&path, FigureSize::default(), &Probe { fail: false }).unwrap();
        assert_eq!(dir.entries(), vec!["ok.png".to_string()]);
    }

    #[test]
    fn missing_directory_is_an_error_naming_the_path() {
        let dir = TempDir::new("render-missing");
        let path = dir.path().join("no/such/dir/x.png");
        let err = render(&path, FigureSize::default(), &Probe { fail: false }).unwrap_err();
        assert!(err.to_string().contains("x.png"), "{err}");
        assert_eq!(dir.entries(), Vec::<String>::new());
    }

    #[test]
    fn out_of_range_size_is_rejected_before_writing() {
        let dir = TempDir::new("render-size");
        let path = dir.path().join("small.png");
        let size = FigureSize {
            width: 10,
            height: 700,
        };
        let err = render(&path, size, &Probe { fail: false }).unwrap_err();
        assert!(
            matches!(err, PlotError::InvalidSize { width: 10, .. }),
            "{err}"
        );
        assert_eq!(dir.entries(), Vec::<String>::new());
    }
}

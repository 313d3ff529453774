//! Test helpers: scratch directories and PNG/SVG inspection.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A fresh directory under the system temp dir, removed on drop.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    /// Creates `discesa-plot-<tag>-<pid>-<n>`.
    pub fn new(tag: &str) -> Self {
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("discesa-plot-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    /// The directory path.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Sorted names of the entries in the directory.
    pub fn entries(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What a decoded PNG looks like, enough to tell a real figure from a blank one.
pub(crate) struct PngStats {
    pub width: u32,
    pub height: u32,
    pub distinct_colors: usize,
    pub non_white_fraction: f64,
}

/// Decodes a PNG file and summarises its pixels.
pub(crate) fn png_stats(path: &Path) -> PngStats {
    let file = std::fs::File::open(path).unwrap();
    let decoder = png::Decoder::new(std::io::BufReader::new(file));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    let pixels = &buf[..info.buffer_size()];
    let mut colors = HashSet::new();
    let mut non_white = 0usize;
    for px in pixels.chunks_exact(channels) {
        let rgb = (px[0], px[1.min(channels - 1)], px[2.min(channels - 1)]);
        colors.insert(rgb);
        if rgb != (255, 255, 255) {
            non_white += 1;
        }
    }
    let total = (info.width * info.height) as f64;
    PngStats {
        width: info.width,
        height: info.height,
        distinct_colors: colors.len(),
        non_white_fraction: non_white as f64 / total,
    }
}

/// Asserts the PNG has the requested size and real content.
pub(crate) fn assert_png_figure(path: &Path, width: u32, height: u32, min_colors: usize) {
    let s = png_stats(path);
    assert_eq!((s.width, s.height), (width, height), "{}", path.display());
    assert!(
        s.distinct_colors >= min_colors,
        "{}: only {} colours",
        path.display(),
        s.distinct_colors
    );
    assert!(
        s.non_white_fraction > 0.02,
        "{}: {:.4} of pixels drawn",
        path.display(),
        s.non_white_fraction
    );
}

/// Parses an SVG as XML and checks its root is `<svg>` and its text includes every `needle`.
pub(crate) fn assert_svg_contains(path: &Path, needles: &[&str]) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains("<svg"), "{}: no <svg", path.display());
    let doc = roxmltree::Document::parse(&text)
        .unwrap_or_else(|e| panic!("{}: invalid XML: {e}", path.display()));
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let texts: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .collect();
    for n in needles {
        assert!(
            texts.iter().any(|t| t.contains(n)),
            "{}: no text element contains {n:?}",
            path.display()
        );
    }
}

/// When `DISCESA_PLOT_KEEP` names a directory, copies `path` there for manual inspection.
pub(crate) fn keep(path: &Path) {
    if let Ok(dir) = std::env::var("DISCESA_PLOT_KEEP") {
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::copy(path, Path::new(&dir).join(path.file_name().unwrap()));
    }
}

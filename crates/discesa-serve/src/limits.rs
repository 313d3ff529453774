//! The bounds every request is checked against; a request over one gets a 400 naming it.

/// Largest request body, in bytes.
pub const BODY_BYTES: usize = 64 * 1024;
/// Longest formula, in characters.
pub const FORMULA_CHARS: usize = 400;
/// Largest contour grid side (a grid has at most this many points along each axis).
pub const GRID_SIDE: usize = 400;
/// Most points of a 1-D curve.
pub const CURVE_POINTS: usize = 4000;
/// Most descent steps per optimizer.
pub const DESCENT_STEPS: usize = 10_000;
/// Most optimizers racing in one descent request.
pub const OPTIMIZERS: usize = 6;
/// Most hidden layers of a playground network.
pub const LAYERS: usize = 12;
/// Widest hidden layer of a playground network.
pub const WIDTH: usize = 64;
/// Most points of a playground data set.
pub const POINTS: usize = 2000;
/// Most training steps per playground request.
pub const PLAY_STEPS: usize = 500;
/// Largest decision-boundary grid side.
pub const BOUNDARY_SIDE: usize = 120;
/// Most playground sessions kept; the least recently used one is dropped beyond it.
pub const SESSIONS: usize = 16;
/// Jobs computing at the same time; further requests wait for a free slot.
pub const CONCURRENT_JOBS: usize = 4;
/// How long a request may wait for a free slot before it is refused with 503.
pub const QUEUE_WAIT_MS: u64 = 3_000;
/// How long a job may compute before it is cancelled (the default of `ServeOptions::job_ms`).
pub const JOB_MS: u64 = 5_000;

//! `discesa gallery DIR`: regenerates the lecture's pictures and a markdown page showing them.

use super::formula_util::{fail, show, size, write_text};
use crate::fail::{CmdResult, Fail};
use clap::Args;
use discesa::formula::{
    descend, path_name, plot_descent, plot_surface, DescentOptions, DescentPath, Formula,
    StopReason,
};
use discesa::optim::OptimizerKind;
use std::path::{Path, PathBuf};

/// Options of `discesa gallery`.
#[derive(Args)]
#[command(after_help = "Examples:
  discesa gallery docs/gallery
  discesa gallery /tmp/pictures --size 1200x900")]
pub struct GalleryArgs {
    /// Directory for the pictures and README.md (created if missing).
    pub dir: PathBuf,
    /// Picture size in pixels.
    #[arg(long, default_value = "800x600", value_name = "WxH")]
    pub size: String,
}

/// How a picture is drawn.
#[derive(Clone, Copy)]
enum View {
    /// Curve, contours or series, chosen by the number of variables.
    Plot,
    /// 3-D surface.
    Surface,
}

/// One picture: a formula, a start, the runs to draw and a caption.
struct Picture {
    file: &'static str,
    title: &'static str,
    formula: &'static str,
    from: &'static str,
    runs: &'static [(OptimizerKind, f64)],
    steps: usize,
    view: View,
    caption: &'static str,
}

const GD: OptimizerKind = OptimizerKind::Sgd;

const PICTURES: &[Picture] = &[
    Picture {
        file: "descent_1d_good_step.png",
        title: "1-D descent, a good step",
        formula: "x^2",
        from: "x=-3",
        runs: &[(GD, 0.1)],
        steps: 20,
        view: View::Plot,
        caption: "f(x) = x² from x = −3 with η = 0.1: each step is 0.8 times the last, so the steps shrink as the slope flattens near the minimum.",
    },
    Picture {
        file: "descent_1d_large_step.png",
        title: "1-D descent, a step too large",
        formula: "x^2",
        from: "x=-1",
        runs: &[(GD, 1.05)],
        steps: 14,
        view: View::Plot,
        caption: "The same curve with η = 1.05 (> 1 = 2/f''): every step jumps over the minimum and lands higher than it started, |x| growing by 1.1 per step; run longer and `discesa descend` reports it diverged.",
    },
    Picture {
        file: "bowl.png",
        title: "The bowl x² + y²",
        formula: "x^2+y^2",
        from: "x=-3,y=-1",
        runs: &[(GD, 1.0), (GD, 0.1)],
        steps: 30,
        view: View::Plot,
        caption: "The bowl x² + y² from (−3, −1). With η = 1 the step −η∇f = −2(x, y) jumps exactly to the mirror point (3, 1) and back forever; η = 0.1 walks straight down to the minimum. The arrow is −∇f at the start.",
    },
    Picture {
        file: "bowl_half.png",
        title: "The bowl (x² + y²)/2",
        formula: "(x^2+y^2)/2",
        from: "x=-3,y=-1",
        runs: &[(GD, 1.0)],
        steps: 5,
        view: View::Plot,
        caption: "The bowl (x² + y²)/2 from (−3, −1): here ∇f = (x, y) has norm √10 at the start, and η = 1 reaches the minimum in a single step.",
    },
    Picture {
        file: "saddle.png",
        title: "The saddle x² − y²",
        formula: "x^2-y^2",
        from: "x=-3,y=-0.05",
        runs: &[(GD, 0.1)],
        steps: 25,
        view: View::Plot,
        caption: "The saddle x² − y²: descent slides down along x towards the saddle point, then the tiny y offset grows by 1.2 per step and the path escapes downhill along y.",
    },
    Picture {
        file: "saddle_surface.png",
        title: "The saddle x² − y² in 3-D",
        formula: "x^2-y^2",
        from: "x=-3,y=-0.05",
        runs: &[(GD, 0.1)],
        steps: 25,
        view: View::Surface,
        caption: "The same saddle as a surface: up along x, down along y.",
    },
    Picture {
        file: "upside_down_bowl.png",
        title: "The upside-down bowl −(x² + y²)",
        formula: "-(x^2+y^2)",
        from: "x=0.3,y=0.2",
        runs: &[(GD, 0.1)],
        steps: 12,
        view: View::Surface,
        caption: "The upside-down bowl −(x² + y²): its top is a maximum (negative definite Hessian), and descent started near it rolls away faster and faster.",
    },
    Picture {
        file: "rosenbrock.png",
        title: "Rosenbrock: gd, momentum, adam",
        formula: "(1-x)^2+100*(y-x^2)^2",
        from: "x=-1.5,y=2",
        runs: &[
            (GD, 0.0005),
            (OptimizerKind::Momentum, 0.0005),
            (OptimizerKind::Adam, 0.05),
        ],
        steps: 3000,
        view: View::Plot,
        caption: "Rosenbrock's valley from (−1.5, 2), 3000 steps each: plain gradient descent crawls along the curved valley floor, momentum builds up speed along it, Adam's per-coordinate steps take yet another route to the minimum at (1, 1).",
    },
];

/// Runs `discesa gallery`.
pub fn run(a: GalleryArgs) -> CmdResult {
    let fig = size(&a.size)?;
    std::fs::create_dir_all(&a.dir)
        .map_err(|e| Fail::runtime(format!("cannot create directory {}: {e}", a.dir.display())))?;
    let mut md = String::from(
        "# Gallery\n\nPictures of gradient descent, regenerated with `discesa gallery docs/gallery`.\n\
         Every path, gradient and value below is computed by the discesa engine (reverse-mode AD on the tape).\n",
    );
    for p in PICTURES {
        let f = Formula::parse(p.formula).map_err(fail)?;
        let start = f.bind(p.from).map_err(fail)?;
        let paths = p
            .runs
            .iter()
            .map(|&(optimizer, lr)| {
                let opts = DescentOptions {
                    optimizer,
                    lr,
                    steps: p.steps,
                    ..DescentOptions::default()
                };
                descend(&f, &start, &opts).map_err(fail)
            })
            .collect::<Result<Vec<DescentPath>, Fail>>()?;
        let file = a.dir.join(p.file);
        match p.view {
            View::Plot => plot_descent(&file, &f, &paths, fig),
            View::Surface => plot_surface(&file, &f, &paths, fig),
        }
        .map_err(fail)?;
        println!("{}: {} — f = {}", file.display(), p.title, p.formula);
        let g0 = paths[0].records[0].grad_norm;
        println!(
            "  gradient norm at the start ({}): {}",
            f.format_point(&start),
            show(g0)
        );
        for path in &paths {
            println!("  {}: {}", path_name(path), summary(path));
        }
        md.push_str(&format!(
            "\n## {}\n\n`f = {}`, start {}; |∇f| at the start = {}.\n\n![{}]({})\n\n{}\n",
            p.title,
            p.formula,
            f.format_point(&start),
            show(g0),
            p.title,
            relative(&a.dir, &file),
            p.caption
        ));
        let runs: Vec<String> = paths
            .iter()
            .map(|path| format!("- {}: {}", path_name(path), summary(path)))
            .collect();
        md.push_str(&format!("\n{}\n", runs.join("\n")));
    }
    let readme = a.dir.join("README.md");
    write_text(&readme, &md)?;
    println!("{} written", readme.display());
    Ok(())
}

fn summary(p: &DescentPath) -> String {
    let last = p.records.last().map(|r| r.value).unwrap_or(f64::NAN);
    match &p.stop {
        StopReason::Converged { step } => format!("converged at step {step}, f = {}", show(last)),
        StopReason::StepLimit { steps } => format!("{steps} steps, f = {}", show(last)),
        StopReason::Diverged { step, .. } => format!("diverged at step {step}"),
    }
}

fn relative(dir: &Path, file: &Path) -> String {
    file.strip_prefix(dir)
        .unwrap_or(file)
        .to_string_lossy()
        .into_owned()
}

//! `discesa descend FORMULA --from x=-3,y=-1 --lr 0.1 --steps 200 --optimizer gd`: the descent
//! path step by step, why it stopped, and optionally its pictures.

use super::formula_util::{
    check_plot_path, fail, formula_at, number, show, size, to_json_line, Named, Num,
};
use crate::fail::{CmdResult, Fail};
use clap::Args;
use discesa::formula::{
    descend, optimizer_label, parse_optimizer, path_name, plot_descent, plot_surface,
    DescentOptions, DescentPath, Formula, StopReason,
};
use serde::Serialize;
use std::path::PathBuf;

/// Options of `discesa descend`.
#[derive(Args)]
#[command(after_help = "Examples:
  discesa descend 'x^2+y^2' --from x=-3,y=-1 --lr 0.1 --steps 50
  discesa descend 'x^2' --from x=1 --lr 1.1 --steps 300          # too large a step: diverges
  discesa descend '(1-x)^2+100*(y-x^2)^2' --from x=-1.5,y=2 --lr 0.0005 --steps 5000 \\
      --optimizer gd,momentum,adam --every 500 --plot rosenbrock.png
  discesa descend 'x^2-y^2' --from x=-3,y=-0.05 --steps 25 --surface saddle.png --json")]
pub struct DescendArgs {
    /// The formula to minimise, e.g. 'x^2 + 2*y^2'.
    #[arg(allow_hyphen_values = true)]
    pub formula: String,
    /// The starting point, e.g. x=-3,y=-1.
    #[arg(long, value_name = "POINT", allow_hyphen_values = true)]
    pub from: Option<String>,
    /// Learning rate η (positive).
    #[arg(long, default_value = "0.1", allow_hyphen_values = true)]
    pub lr: String,
    /// Maximum number of steps.
    #[arg(long, default_value = "200", allow_hyphen_values = true)]
    pub steps: String,
    /// gd, momentum, nesterov or adam; several separated by commas run side by side.
    #[arg(long, default_value = "gd")]
    pub optimizer: String,
    /// Converged once the gradient norm is below this.
    #[arg(long, default_value = "1e-10", allow_hyphen_values = true)]
    pub tol: String,
    /// Print every N-th step (the first and last are always printed).
    #[arg(
        long,
        default_value = "1",
        value_name = "N",
        allow_hyphen_values = true
    )]
    pub every: String,
    /// Draw the path(s): curve with arrows (1 variable), contours (2), value and gradient norm per step (more).
    #[arg(long, value_name = "FILE.png|FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Draw a 3-D view of a two-variable formula with the path(s).
    #[arg(long, value_name = "FILE.png|FILE.svg")]
    pub surface: Option<PathBuf>,
    /// Picture size in pixels.
    #[arg(long, default_value = "800x600", value_name = "WxH")]
    pub size: String,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

fn count(flag: &str, text: &str) -> Result<usize, Fail> {
    text.trim()
        .parse::<usize>()
        .map_err(|_| Fail::input(format!("{flag} '{text}' is not a whole number >= 0")))
}

/// Runs `discesa descend`.
pub fn run(a: DescendArgs) -> CmdResult {
    let lr = number("--lr", &a.lr)?;
    if lr <= 0.0 {
        return Err(Fail::input(format!("--lr {} must be positive", a.lr)));
    }
    let tol = number("--tol", &a.tol)?;
    if tol < 0.0 {
        return Err(Fail::input(format!("--tol {} must be >= 0", a.tol)));
    }
    let steps = count("--steps", &a.steps)?;
    let every = count("--every", &a.every)?.max(1);
    let kinds = a
        .optimizer
        .split(',')
        .map(|s| parse_optimizer(s).map_err(fail))
        .collect::<Result<Vec<_>, _>>()?;
    let fig_size = size(&a.size)?;
    if let Some(p) = &a.plot {
        check_plot_path("--plot", p)?;
    }
    if let Some(p) = &a.surface {
        check_plot_path("--surface", p)?;
    }
    let (f, start) = formula_at(&a.formula, a.from.as_deref(), "--from")?;
    if a.surface.is_some() && f.variables().len() != 2 {
        return Err(Fail::input(format!(
            "--surface needs a formula of two variables; '{}' has {}",
            f.text(),
            f.variables().len()
        )));
    }
    let paths = kinds
        .iter()
        .map(|&optimizer| {
            let opts = DescentOptions {
                optimizer,
                lr,
                steps,
                tol,
                ..DescentOptions::default()
            };
            descend(&f, &start, &opts).map_err(fail)
        })
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(p) = &a.plot {
        plot_descent(p, &f, &paths, fig_size).map_err(fail)?;
    }
    if let Some(p) = &a.surface {
        plot_surface(p, &f, &paths, fig_size).map_err(fail)?;
    }
    if a.json {
        let names = f.variables();
        println!("{}", to_json_line(&report(&f, names, &start, &paths))?);
        return Ok(());
    }
    println!("f = {}", f.text());
    for p in &paths {
        print_path(&f, p, every);
    }
    for (flag, file) in [("plot", &a.plot), ("surface", &a.surface)] {
        if let Some(file) = file {
            println!("{flag} written to {}", file.display());
        }
    }
    Ok(())
}

fn stop_text(stop: &StopReason) -> String {
    match stop {
        StopReason::Converged { step } => {
            format!("converged at step {step}: the gradient norm fell below the tolerance")
        }
        StopReason::StepLimit { steps } => {
            format!("step limit: {steps} steps taken without converging")
        }
        StopReason::Diverged { step, why } => format!("diverged at step {step}: {why}"),
    }
}

fn print_path(f: &Formula, p: &DescentPath, every: usize) {
    println!();
    println!(
        "{} from {}",
        path_name(p),
        f.format_point(&p.records[0].point)
    );
    let vars = f.variables();
    let coords: Vec<String> = vars.iter().map(|v| format!("{v:>14}")).collect();
    println!(
        "{:>6} {} {:>16} {:>12} {:>12}",
        "step",
        coords.join(" "),
        "f",
        "|gradient|",
        "|step|"
    );
    let last = p.records.len() - 1;
    for r in &p.records {
        if r.step % every != 0 && r.step != last {
            continue;
        }
        let xs: Vec<String> = r
            .point
            .iter()
            .map(|v| format!("{:>14}", short(*v)))
            .collect();
        println!(
            "{:>6} {} {:>16} {:>12} {:>12}",
            r.step,
            xs.join(" "),
            short(r.value),
            short(r.grad_norm),
            r.step_length.map(short).unwrap_or_else(|| "-".into())
        );
    }
    println!("stopped: {}", stop_text(&p.stop));
}

fn short(v: f64) -> String {
    let a = v.abs();
    if v == 0.0 || !v.is_finite() || (1e-4..1e7).contains(&a) {
        let s = show(v);
        if s.len() > 12 {
            format!("{v:.8}")
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_string()
        } else {
            s
        }
    } else {
        format!("{v:.4e}")
    }
}

/// The `--json` output of `discesa descend`; fields in output order.
#[derive(Serialize)]
struct DescendReport<'a> {
    formula: &'a str,
    variables: &'a [String],
    start: Named<'a, Num>,
    runs: Vec<RunReport<'a>>,
}

/// One optimizer's path.
#[derive(Serialize)]
struct RunReport<'a> {
    optimizer: &'a str,
    lr: Num,
    stop: StopReport<'a>,
    steps: Vec<StepReport<'a>>,
}

/// Why a path stopped; `detail` only when it diverged.
#[derive(Serialize)]
struct StopReport<'a> {
    reason: &'a str,
    step: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
}

/// One step; `step_length` is `null` on the last point and when not finite.
#[derive(Serialize)]
struct StepReport<'a> {
    step: usize,
    point: Named<'a, Num>,
    value: Num,
    gradient_norm: Num,
    step_length: Option<Num>,
}

fn report<'a>(
    f: &'a Formula,
    names: &'a [String],
    start: &[f64],
    paths: &'a [DescentPath],
) -> DescendReport<'a> {
    let runs = paths
        .iter()
        .map(|p| RunReport {
            optimizer: optimizer_label(p.optimizer),
            lr: Num(p.lr),
            stop: StopReport {
                reason: p.stop.name(),
                step: p.stop.step(),
                detail: match &p.stop {
                    StopReason::Diverged { why, .. } => Some(why),
                    _ => None,
                },
            },
            steps: p
                .records
                .iter()
                .map(|r| StepReport {
                    step: r.step,
                    point: Named::numbers(names, &r.point),
                    value: Num(r.value),
                    gradient_norm: Num(r.grad_norm),
                    step_length: r.step_length.map(Num),
                })
                .collect(),
        })
        .collect();
    DescendReport {
        formula: f.text(),
        variables: names,
        start: Named::numbers(names, start),
        runs,
    }
}

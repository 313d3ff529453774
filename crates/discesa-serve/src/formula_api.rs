//! `/api/formula/*`: a formula's value, gradient, symbolic derivative, Hessian and verdict at a
//! point; sampled curves and contour grids; descent paths of several optimizers at once.

use crate::error::ApiError;
use crate::jobs::{parse_body, Deadline};
use crate::limits::{CURVE_POINTS, DESCENT_STEPS, FORMULA_CHARS, GRID_SIDE, OPTIMIZERS};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::Json;
use discesa::expr::{derivative, eval, Env};
use discesa::formula::{
    analyse_point, descend as run_descent, optimizer_label, parse_optimizer, DescentOptions,
    Formula, FormulaError, PointKind,
};
use discesa::optim::{OptimOptions, OptimizerKind};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

type Body = Result<Bytes, BytesRejection>;
type Answer = Result<Json<Value>, ApiError>;

/// Turns a library error into a 400, keeping a parse error's column for the page.
pub fn formula_error(e: FormulaError) -> ApiError {
    let column = match &e {
        FormulaError::Parse { source_error, .. } => Some((source_error.column, source_error.len)),
        _ => None,
    };
    ApiError {
        status: 400,
        message: e.to_string(),
        column,
    }
}

/// Parses a formula within the length limit.
pub fn parse_formula(text: &str) -> Result<Formula, ApiError> {
    let n = text.chars().count();
    if n > FORMULA_CHARS {
        return Err(ApiError::bad(format!(
            "the formula has {n} characters; at most {FORMULA_CHARS} are allowed"
        )));
    }
    Formula::parse(text).map_err(formula_error)
}

fn check_point(f: &Formula, point: &[f64], what: &str) -> Result<(), ApiError> {
    if point.len() != f.variables().len() {
        return Err(ApiError::bad(format!(
            "{what} has {} coordinates but '{}' has {} variables ({})",
            point.len(),
            f.text(),
            f.variables().len(),
            f.variables().join(", ")
        )));
    }
    if point.iter().any(|v| !v.is_finite()) {
        return Err(ApiError::bad(format!("{what} must be finite numbers")));
    }
    Ok(())
}

/// The verdict's everyday name.
pub fn verdict(kind: PointKind) -> &'static str {
    match kind {
        PointKind::Minimum => "bowl",
        PointKind::Maximum => "upside-down bowl",
        PointKind::Saddle => "saddle",
        PointKind::Degenerate => "degenerate",
    }
}

/// Finite numbers as numbers, anything else as null (JSON has no NaN).
fn num(v: f64) -> Value {
    if v.is_finite() {
        json!(v)
    } else {
        Value::Null
    }
}

fn nums(v: &[f64]) -> Value {
    Value::Array(v.iter().map(|x| num(*x)).collect())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnalyseRequest {
    formula: String,
    #[serde(default)]
    point: Option<Vec<f64>>,
}

fn analyse_job(req: AnalyseRequest) -> Result<Value, ApiError> {
    let f = parse_formula(&req.formula)?;
    let symbolic: Vec<Value> = f
        .symbolic_gradient()
        .into_iter()
        .map(|(v, d)| json!({ "variable": v, "derivative": d.to_string() }))
        .collect();
    let mut out = json!({
        "formula": f.text(),
        "variables": f.variables(),
        "symbolic": symbolic,
    });
    if let Some(point) = req.point {
        check_point(&f, &point, "the point")?;
        let r = analyse_point(&f, &point, 1e-8).map_err(formula_error)?;
        out["at"] = json!({
            "point": nums(&point),
            "value": num(r.value),
            "gradient": nums(&r.gradient),
            "gradient_norm": num(r.gradient_norm),
            "finite_difference": nums(&f.finite_difference(&point)),
            "hessian": r.hessian.iter().map(|row| nums(row)).collect::<Vec<_>>(),
            "eigenvalues": nums(&r.eigenvalues),
            "eigenvectors": r.eigenvectors.iter().map(|v| nums(v)).collect::<Vec<_>>(),
            "kind": r.kind.name(),
            "verdict": verdict(r.kind),
            "curvature": r.kind.curvature(),
            "critical_point": r.critical_point,
        });
    }
    Ok(out)
}

/// `POST /api/formula/analyse {formula, point?}`.
pub async fn analyse(State(s): State<Arc<AppState>>, body: Body) -> Answer {
    let req: AnalyseRequest = parse_body(body)?;
    s.jobs.run(move |_| analyse_job(req)).await.map(Json)
}

fn range(r: [f64; 2], what: &str) -> Result<[f64; 2], ApiError> {
    if !(r[0].is_finite() && r[1].is_finite() && r[0] < r[1] && r[1] - r[0] < 1e12) {
        return Err(ApiError::bad(format!(
            "{what} must be [min, max] with finite min < max, got [{}, {}]",
            r[0], r[1]
        )));
    }
    Ok(r)
}

fn side(n: usize, max: usize, what: &str) -> Result<usize, ApiError> {
    if !(2..=max).contains(&n) {
        return Err(ApiError::bad(format!(
            "{what} = {n} is outside the allowed 2..={max}"
        )));
    }
    Ok(n)
}

fn coords(r: [f64; 2], n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| r[0] + (r[1] - r[0]) * i as f64 / (n - 1) as f64)
        .collect()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GridRequest {
    formula: String,
    x: [f64; 2],
    y: [f64; 2],
    nx: usize,
    ny: usize,
}

/// Values of a two-variable formula on an `ny × nx` grid, row `j` at `y[j]` (one thread: a
/// 200×200 grid of the Rosenbrock function is about 3.4 ms of CPU).
pub fn grid_values(
    f: &Formula,
    xs: &[f64],
    ys: &[f64],
    deadline: Deadline,
) -> Result<Vec<f64>, ApiError> {
    let names = f.variables();
    let mut out = Vec::with_capacity(xs.len() * ys.len());
    for &y in ys {
        deadline.check()?;
        let mut env = Env::new()
            .with(names[0].clone(), 0.0)
            .with(names[1].clone(), y);
        for &x in xs {
            env.set(names[0].clone(), x);
            out.push(eval(f.expr(), &env).unwrap_or(f64::NAN));
        }
    }
    Ok(out)
}

fn grid_job(req: GridRequest, deadline: Deadline) -> Result<Value, ApiError> {
    let f = parse_formula(&req.formula)?;
    if f.variables().len() != 2 {
        return Err(ApiError::bad(format!(
            "a contour grid needs a formula of two variables; '{}' has {}",
            f.text(),
            f.variables().len()
        )));
    }
    let (nx, ny) = (
        side(req.nx, GRID_SIDE, "nx")?,
        side(req.ny, GRID_SIDE, "ny")?,
    );
    let xs = coords(range(req.x, "x")?, nx);
    let ys = coords(range(req.y, "y")?, ny);
    let values = grid_values(&f, &xs, &ys, deadline)?;
    let finite = values.iter().filter(|v| v.is_finite());
    let lo = finite.clone().fold(f64::INFINITY, |a, &b| a.min(b));
    let hi = finite.fold(f64::NEG_INFINITY, |a, &b| a.max(b));
    Ok(json!({
        "variables": f.variables(), "nx": nx, "ny": ny, "x": xs, "y": ys,
        "values": nums(&values), "min": num(lo), "max": num(hi),
    }))
}

/// `POST /api/formula/grid {formula, x: [min, max], y: [min, max], nx, ny}`.
pub async fn grid(State(s): State<Arc<AppState>>, body: Body) -> Answer {
    let req: GridRequest = parse_body(body)?;
    s.jobs.run(move |d| grid_job(req, d)).await.map(Json)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CurveRequest {
    formula: String,
    x: [f64; 2],
    n: usize,
}

fn curve_job(req: CurveRequest) -> Result<Value, ApiError> {
    let f = parse_formula(&req.formula)?;
    if f.variables().len() != 1 {
        return Err(ApiError::bad(format!(
            "a curve needs a formula of one variable; '{}' has {}",
            f.text(),
            f.variables().len()
        )));
    }
    let n = side(req.n, CURVE_POINTS, "n")?;
    let xs = coords(range(req.x, "x")?, n);
    let name = &f.variables()[0];
    let df = derivative(f.expr(), name);
    let mut env = Env::new();
    let (mut values, mut slopes) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for &x in &xs {
        env.set(name.clone(), x);
        values.push(eval(f.expr(), &env).unwrap_or(f64::NAN));
        slopes.push(eval(&df, &env).unwrap_or(f64::NAN));
    }
    Ok(json!({
        "variables": f.variables(), "x": xs, "values": nums(&values), "slopes": nums(&slopes),
        "derivative": df.to_string(),
    }))
}

/// `POST /api/formula/curve {formula, x: [min, max], n}`: f and f′ sampled along x.
pub async fn curve(State(s): State<Arc<AppState>>, body: Body) -> Answer {
    let req: CurveRequest = parse_body(body)?;
    s.jobs.run(move |_| curve_job(req)).await.map(Json)
}

fn default_tol() -> f64 {
    1e-10
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DescendRequest {
    formula: String,
    start: Vec<f64>,
    optimizers: Vec<String>,
    lr: f64,
    steps: usize,
    #[serde(default)]
    momentum: Option<f64>,
    #[serde(default = "default_tol")]
    tol: f64,
}

fn descend_job(req: DescendRequest, deadline: Deadline) -> Result<Value, ApiError> {
    let f = parse_formula(&req.formula)?;
    check_point(&f, &req.start, "the start")?;
    if req.optimizers.is_empty() || req.optimizers.len() > OPTIMIZERS {
        return Err(ApiError::bad(format!(
            "give 1 to {OPTIMIZERS} optimizers, got {}",
            req.optimizers.len()
        )));
    }
    if req.steps > DESCENT_STEPS {
        return Err(ApiError::bad(format!(
            "{} steps asked; at most {DESCENT_STEPS} are allowed",
            req.steps
        )));
    }
    let kinds = req
        .optimizers
        .iter()
        .map(|name| parse_optimizer(name).map_err(formula_error))
        .collect::<Result<Vec<_>, _>>()?;
    // The optimizers' paths are independent: run them side by side on the cores.
    let runs = std::thread::scope(|scope| {
        let jobs: Vec<_> = kinds
            .into_iter()
            .map(|kind| {
                let (f, req, deadline) = (&f, &req, &deadline);
                scope.spawn(move || descent_run(f, req, kind, deadline))
            })
            .collect();
        jobs.into_iter()
            .map(|j| {
                j.join()
                    .unwrap_or_else(|_| Err(ApiError::internal("a descent failed")))
            })
            .collect::<Result<Vec<_>, _>>()
    })?;
    Ok(
        json!({ "formula": f.text(), "variables": f.variables(), "start": nums(&req.start), "runs": runs }),
    )
}

/// One optimizer's path from the request's start, as the page draws it.
fn descent_run(
    f: &Formula,
    req: &DescendRequest,
    kind: OptimizerKind,
    deadline: &Deadline,
) -> Result<Value, ApiError> {
    {
        deadline.check()?;
        let uses_momentum = matches!(kind, OptimizerKind::Momentum | OptimizerKind::Nesterov);
        let opts = DescentOptions {
            optimizer: kind,
            lr: req.lr,
            steps: req.steps,
            tol: req.tol,
            optim: OptimOptions {
                momentum: if uses_momentum { req.momentum } else { None },
                ..OptimOptions::default()
            },
            ..DescentOptions::default()
        };
        let path = run_descent(f, &req.start, &opts).map_err(formula_error)?;
        deadline.check()?;
        let last = path.records.last().map(|r| r.value).unwrap_or(f64::NAN);
        let detail = match &path.stop {
            discesa::formula::StopReason::Diverged { why, .. } => json!(why),
            _ => Value::Null,
        };
        Ok(json!({
            "optimizer": optimizer_label(kind),
            "lr": req.lr,
            "stop": { "reason": path.stop.name(), "step": path.stop.step(), "detail": detail },
            "points": path.records.iter().map(|r| nums(&r.point)).collect::<Vec<_>>(),
            "values": path.records.iter().map(|r| num(r.value)).collect::<Vec<_>>(),
            "gradient_norms": path.records.iter().map(|r| num(r.grad_norm)).collect::<Vec<_>>(),
            "gradients": path.records.iter().map(|r| nums(&r.gradient)).collect::<Vec<_>>(),
            "end": { "point": nums(&path.records.last().map(|r| r.point.clone()).unwrap_or_default()), "value": num(last) },
        }))
    }
}

/// `POST /api/formula/descend {formula, start, optimizers, lr, steps, momentum?, tol?}`.
pub async fn descend(State(s): State<Arc<AppState>>, body: Body) -> Answer {
    let req: DescendRequest = parse_body(body)?;
    s.jobs.run(move |d| descend_job(req, d)).await.map(Json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_errors_keep_their_column() {
        let e = parse_formula("x^2 + * y").unwrap_err();
        assert_eq!(e.status, 400);
        assert_eq!(e.column, Some((5, 1)), "{e:?}");
        let long = "x+".repeat(300) + "x";
        assert!(parse_formula(&long)
            .unwrap_err()
            .message
            .contains("at most"));
    }

    #[test]
    fn grid_rows_follow_y_and_columns_x() {
        let f = parse_formula("x + 10*y").unwrap();
        let v = grid_values(&f, &[0.0, 1.0, 2.0], &[0.0, 1.0], Deadline::after_ms(1000)).unwrap();
        assert_eq!(v, vec![0.0, 1.0, 2.0, 10.0, 11.0, 12.0]);
        let f = parse_formula("y*x + y").unwrap();
        let v = grid_values(&f, &[2.0], &[3.0], Deadline::after_ms(1000)).unwrap();
        // variables are [y, x]: the horizontal axis is y.
        assert_eq!(v, vec![3.0 * 2.0 + 2.0]);
    }

    #[test]
    fn descent_answer_matches_the_library() {
        let req = DescendRequest {
            formula: "x^2+y^2".into(),
            start: vec![-3.0, -1.0],
            optimizers: vec!["gd".into(), "adam".into()],
            lr: 0.1,
            steps: 50,
            momentum: None,
            tol: 1e-10,
        };
        let v = descend_job(req, Deadline::after_ms(5000)).unwrap();
        let end = v["runs"][0]["end"]["value"].as_f64().unwrap();
        let f = Formula::parse("x^2+y^2").unwrap();
        let p = run_descent(
            &f,
            &[-3.0, -1.0],
            &DescentOptions {
                lr: 0.1,
                steps: 50,
                ..DescentOptions::default()
            },
        )
        .unwrap();
        assert_eq!(end, p.records.last().unwrap().value);
        assert_eq!(v["runs"][1]["optimizer"], "adam");
    }

    #[test]
    fn verdicts_at_clicked_points() {
        for (src, p, want) in [
            ("x^2+y^2", [0.5, 0.5], "bowl"),
            ("x^2-y^2", [0.0, 0.0], "saddle"),
            ("-x^2-y^2", [1.0, 0.0], "upside-down bowl"),
            ("x^2", [1.0, 0.0], ""),
        ] {
            let r = analyse_job(AnalyseRequest {
                formula: src.into(),
                point: Some(p[..if want.is_empty() { 1 } else { 2 }].to_vec()),
            })
            .unwrap();
            if !want.is_empty() {
                assert_eq!(r["at"]["verdict"], want, "{src}");
            }
        }
    }
}

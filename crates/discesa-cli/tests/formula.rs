//! End-to-end tests of `discesa grad`, `hessian`, `descend` and `gallery`.

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

fn discesa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_discesa"))
        .args(args)
        .output()
        .expect("run discesa")
}

fn json(args: &[&str]) -> Value {
    let out = discesa(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON object")
}

/// Exit code 2, nothing on stdout, exactly one `error: ...` line on stderr containing `needle`.
fn input_error(args: &[&str], needle: &str) {
    let out = discesa(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(out.stdout.is_empty(), "{args:?} printed output");
    assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(needle), "{args:?}: '{err}' lacks '{needle}'");
}

struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let d = std::env::temp_dir().join(format!("discesa-cli-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Scratch(d)
    }
    fn file(&self, name: &str) -> String {
        self.0.join(name).to_string_lossy().into_owned()
    }
    fn entries(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const LECTURE: &str = "sqrt(x^2+exp(x^2))+cos(x^2+exp(x^2))";

#[test]
fn grad_json_for_the_lecture_formula() {
    let v = json(&["grad", LECTURE, "--at", "x=1", "--json"]);
    assert_eq!(v["formula"], LECTURE);
    assert_eq!(v["point"]["x"], 1.0);
    let u: f64 = 1.0 + 1f64.exp();
    let want_value = u.sqrt() + u.cos();
    assert!((v["value"].as_f64().unwrap() - want_value).abs() < 1e-14);
    let g = v["gradient"]["x"].as_f64().unwrap();
    assert!((g - 5.983082595909).abs() < 1e-11, "{g}");
    let sym = v["symbolic"]["x"].as_str().unwrap();
    assert!(
        sym.contains("exp(x^2)") && !sym.contains("*1") && !sym.contains("+ 0"),
        "{sym}"
    );
    let fd = v["finite_difference"]["x"].as_f64().unwrap();
    let err = v["max_abs_error"].as_f64().unwrap();
    assert!((fd - g).abs() <= err + 1e-15 && err < 1e-6, "{fd} {err}");
}

#[test]
fn grad_lists_variables_in_order_of_appearance() {
    let out = discesa(&["grad", "y*x^2 + z", "--at", "x=2,z=0,y=3", "--json"]);
    let text = String::from_utf8(out.stdout).unwrap();
    let (py, px, pz) = (
        text.find("\"gradient\":{\"y\"").unwrap(),
        text.find("\"x\":12").unwrap(),
        text.rfind("\"z\"").unwrap(),
    );
    assert!(py < px && px < pz, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["gradient"]["y"], 4.0);
    assert_eq!(v["gradient"]["x"], 12.0);
    assert_eq!(v["gradient"]["z"], 1.0);
    assert_eq!(v["symbolic"]["x"], "2*y*x");
}

#[test]
fn grad_trace_and_dot() {
    let dir = Scratch::new("dot");
    let dot = dir.file("g.dot");
    let out = discesa(&[
        "grad",
        "x*y + sin(x)",
        "--at",
        "x=1,y=2",
        "--trace",
        "--dot",
        &dot,
    ]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let fwd = text.find("forward pass").unwrap();
    let bwd = text.find("backward pass").unwrap();
    assert!(fwd < bwd);
    assert!(text[bwd..].contains("df/dnode = 1"));
    let graph = std::fs::read_to_string(&dot).unwrap();
    assert!(graph.starts_with("digraph") && graph.contains("grad = "));
    assert_eq!(dir.entries(), vec!["g.dot"]);
}

#[test]
fn hessian_classifies_the_four_quadratic_forms() {
    for (formula, kind, eig) in [
        ("x^2+y^2", "minimum", [2.0, 2.0]),
        ("x^2-y^2", "saddle", [-2.0, 2.0]),
        ("-(x^2+y^2)", "maximum", [-2.0, -2.0]),
        (
            "2*x^2+2*x*y+3*y^2",
            "minimum",
            [5.0 - 5f64.sqrt(), 5.0 + 5f64.sqrt()],
        ),
    ] {
        let v = json(&["hessian", formula, "--at", "x=0,y=0", "--json"]);
        assert_eq!(v["kind"], kind, "{formula}");
        assert_eq!(v["critical_point"], true);
        assert_eq!(v["gradient_norm"], 0.0);
        let e: Vec<f64> = v["eigenvalues"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        for (a, b) in e.iter().zip(eig) {
            assert!((a - b).abs() < 1e-12, "{formula}: {e:?}");
        }
        assert_eq!(v["hessian"].as_array().unwrap().len(), 2);
    }
    let v = json(&["hessian", "2*x^2+2*x*y+3*y^2", "--at", "x=1,y=1", "--json"]);
    assert_eq!(v["hessian"][0][1], 2.0);
    assert_eq!(v["hessian"][1][1], 6.0);
    assert_eq!(v["gradient_norm"], 10.0);
    assert_eq!(v["critical_point"], false);
}

#[test]
fn descend_converges_on_a_bowl_and_diverges_with_a_large_step() {
    let v = json(&[
        "descend",
        "x^2+y^2",
        "--from",
        "x=-3,y=-1",
        "--lr",
        "0.1",
        "--json",
    ]);
    let run = &v["runs"][0];
    assert_eq!(run["stop"]["reason"], "converged");
    let steps = run["steps"].as_array().unwrap();
    assert!((steps[0]["gradient_norm"].as_f64().unwrap() - 40f64.sqrt()).abs() < 1e-12);
    assert!(steps.last().unwrap()["value"].as_f64().unwrap() < 1e-18);
    let v = json(&[
        "descend", "x^2", "--from", "x=1", "--lr", "1.1", "--steps", "500", "--json",
    ]);
    assert_eq!(v["runs"][0]["stop"]["reason"], "diverged");
    let v = json(&[
        "descend", "x^2", "--from", "x=1", "--lr", "0.9", "--steps", "500", "--json",
    ]);
    assert_eq!(v["runs"][0]["stop"]["reason"], "converged");
}

#[test]
fn descend_several_optimizers_with_plots() {
    let dir = Scratch::new("plots");
    let (plot, surf) = (dir.file("c.png"), dir.file("s.svg"));
    let v = json(&[
        "descend",
        "x^2+3*y^2",
        "--from",
        "x=-3,y=-1",
        "--optimizer",
        "gd,momentum,adam",
        "--steps",
        "60",
        "--plot",
        &plot,
        "--surface",
        &surf,
        "--size",
        "640x480",
        "--json",
    ]);
    let names: Vec<&str> = v["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["optimizer"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["gd", "momentum", "adam"]);
    let png = std::fs::read(&plot).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let (w, h) = (
        u32::from_be_bytes(png[16..20].try_into().unwrap()),
        u32::from_be_bytes(png[20..24].try_into().unwrap()),
    );
    assert_eq!((w, h), (640, 480));
    assert!(std::fs::read_to_string(&surf).unwrap().contains("<svg"));
}

#[test]
fn bad_input_is_one_line_exit_2_and_leaves_no_file() {
    let dir = Scratch::new("bad");
    let dot = dir.file("g.dot");
    let png = dir.file("p.png");
    input_error(
        &["grad", "sine(x)", "--at", "x=1", "--dot", &dot],
        ">>sine<<(x)",
    );
    input_error(&["grad", "x + y", "--at", "x=1", "--dot", &dot], "'y'");
    input_error(
        &["grad", "x + y", "--at", "x=1,y=2,q=3"],
        "unknown variable 'q'",
    );
    input_error(&["grad", "x", "--at", "x=1,,"], "malformed --at");
    input_error(&["grad", "x", "--at", "x"], "malformed --at");
    input_error(&["grad", "x*y"], "--at");
    input_error(&["grad", "log(x)", "--at", "x=-1", "--dot", &dot], "x=-1");
    input_error(&["grad", "1/x", "--at", "x=0"], "division by zero");
    input_error(
        &["hessian", "log(x-y)", "--at", "x=0,y=1"],
        "log of a negative number",
    );
    input_error(
        &[
            "descend", "x^2", "--from", "x=1", "--lr", "abc", "--plot", &png,
        ],
        "--lr",
    );
    input_error(
        &[
            "descend", "x^2", "--from", "x=1", "--lr", "-0.1", "--plot", &png,
        ],
        "--lr",
    );
    input_error(
        &["descend", "x^2", "--from", "x=1;y=2", "--plot", &png],
        "malformed --from",
    );
    input_error(
        &["descend", "x^2", "--from", "x=1", "--optimizer", "gd,bfgs"],
        "bfgs",
    );
    input_error(
        &[
            "descend",
            "x^2",
            "--from",
            "x=1",
            "--plot",
            &dir.file("p.gif"),
        ],
        ".png",
    );
    input_error(
        &["descend", "x^2", "--from", "x=1", "--surface", &png],
        "two variables",
    );
    assert!(dir.entries().is_empty(), "left behind: {:?}", dir.entries());
}

#[test]
fn gallery_writes_every_picture_and_a_page_showing_them() {
    let dir = Scratch::new("gallery");
    let out = discesa(&["gallery", &dir.file("g"), "--size", "400x300"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("6.324555320337"),
        "bowl gradient norm 2*sqrt(10) printed"
    );
    assert!(
        text.contains("3.162277660168"),
        "half bowl gradient norm sqrt(10) printed"
    );
    let g = dir.0.join("g");
    let readme = std::fs::read_to_string(g.join("README.md")).unwrap();
    let mut pngs = 0;
    for entry in std::fs::read_dir(&g).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".png") {
            pngs += 1;
            assert!(readme.contains(&format!("]({name})")), "{name} not shown");
            let png = std::fs::read(g.join(&name)).unwrap();
            assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), 400);
        }
    }
    assert_eq!(pngs, 8);
}

#[test]
fn help_has_examples() {
    for cmd in ["grad", "hessian", "descend", "gallery"] {
        let out = discesa(&[cmd, "--help"]);
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains("Examples:") && text.contains(&format!("discesa {cmd} ")),
            "{cmd}"
        );
    }
}

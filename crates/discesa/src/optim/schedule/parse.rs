//! Parser for the short command-line form of schedules.

use super::{Constant, Cosine, Exponential, Schedule, StepDecay, Warmup, DEFAULT_START_FACTOR};
use crate::optim::OptimError;

const FORMS: &str = "constant, step:STEP_SIZE:GAMMA, exp:GAMMA, cosine:T_MAX[:ETA_MIN], \
                     warmup:STEPS[:START_FACTOR][+SCHEDULE]";

/// Parses `input`; every error names the whole input and what is wrong with it.
pub(super) fn parse(input: &str) -> Result<Schedule, OptimError> {
    parse_part(input.trim()).map_err(|reason| OptimError::ScheduleParse {
        input: input.to_string(),
        reason,
    })
}

fn parse_part(text: &str) -> Result<Schedule, String> {
    if let Some((head, rest)) = text.split_once('+') {
        let fields: Vec<&str> = head.split(':').map(str::trim).collect();
        if !fields[0].eq_ignore_ascii_case("warmup") {
            return Err(format!(
                "only warmup can hand over to another schedule with `+`, found `{}` before it",
                fields[0]
            ));
        }
        let then = parse_part(rest.trim())?;
        return warmup(&fields[1..], then);
    }
    let fields: Vec<&str> = text.split(':').map(str::trim).collect();
    let args = &fields[1..];
    let name = fields[0].to_ascii_lowercase();
    let checked = |r: Result<Schedule, OptimError>| r.map_err(|e| e.to_string());
    match name.as_str() {
        "constant" | "const" => {
            arity("constant", "constant", args, 0, 0)?;
            Ok(Schedule::Constant(Constant {}))
        }
        "step" => {
            arity("step", "step:STEP_SIZE:GAMMA", args, 2, 2)?;
            let size = int("STEP_SIZE", args[0])?;
            let gamma = float("GAMMA", args[1])?;
            checked(StepDecay::new(size, gamma).map(Schedule::Step))
        }
        "exp" | "exponential" => {
            arity("exp", "exp:GAMMA", args, 1, 1)?;
            let gamma = float("GAMMA", args[0])?;
            checked(Exponential::new(gamma).map(Schedule::Exp))
        }
        "cosine" | "cos" => {
            arity("cosine", "cosine:T_MAX[:ETA_MIN]", args, 1, 2)?;
            let t_max = int("T_MAX", args[0])?;
            let eta_min = match args.get(1) {
                Some(a) => float("ETA_MIN", a)?,
                None => 0.0,
            };
            checked(Cosine::new(t_max, eta_min).map(Schedule::Cosine))
        }
        "warmup" => warmup(args, Schedule::Constant(Constant {})),
        "" => Err(format!("empty schedule; expected one of: {FORMS}")),
        other => Err(format!(
            "unknown schedule `{other}`; expected one of: {FORMS}"
        )),
    }
}

fn warmup(args: &[&str], then: Schedule) -> Result<Schedule, String> {
    arity("warmup", "warmup:STEPS[:START_FACTOR]", args, 1, 2)?;
    let steps = int("STEPS", args[0])?;
    let start = match args.get(1) {
        Some(a) => float("START_FACTOR", a)?,
        None => DEFAULT_START_FACTOR,
    };
    Warmup::new(steps, start, then)
        .map(Schedule::Warmup)
        .map_err(|e| e.to_string())
}

fn arity(name: &str, form: &str, args: &[&str], min: usize, max: usize) -> Result<(), String> {
    if (min..=max).contains(&args.len()) {
        return Ok(());
    }
    let wanted = if min == max {
        format!("{min}")
    } else {
        format!("{min} to {max}")
    };
    Err(format!(
        "{name} takes {wanted} parameter(s) ({form}), got {}",
        args.len()
    ))
}

fn int(what: &str, text: &str) -> Result<u64, String> {
    text.parse()
        .map_err(|_| format!("`{text}` is not a valid {what} (expected a whole number)"))
}

fn float(what: &str, text: &str) -> Result<f64, String> {
    text.parse()
        .map_err(|_| format!("`{text}` is not a valid {what} (expected a number)"))
}

#[cfg(test)]
mod tests {
    use super::super::LrSchedule;
    use super::*;

    #[test]
    fn parses_every_form() {
        assert_eq!(parse("constant").unwrap(), Schedule::Constant(Constant {}));
        assert_eq!(
            parse("step:10:0.5").unwrap(),
            Schedule::Step(StepDecay::new(10, 0.5).unwrap())
        );
        assert_eq!(
            parse("exp:0.95").unwrap(),
            Schedule::Exp(Exponential::new(0.95).unwrap())
        );
        assert_eq!(
            parse(" Cosine:100 ").unwrap(),
            Schedule::Cosine(Cosine::new(100, 0.0).unwrap())
        );
        let w = parse("warmup:5+cosine:100").unwrap();
        let expected = Warmup::new(5, DEFAULT_START_FACTOR, parse("cosine:100").unwrap()).unwrap();
        assert_eq!(w, Schedule::Warmup(expected));
        assert_eq!(parse("warmup:3").unwrap().lr_at(1.0, 10), 1.0);
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "constant",
            "step:10:0.5",
            "exp:0.95",
            "cosine:100",
            "cosine:100:0.00001",
            "warmup:5+cosine:100",
            "warmup:5:0.1+step:3:0.5",
        ] {
            let parsed = parse(s).unwrap();
            assert_eq!(parse(&parsed.to_string()).unwrap(), parsed, "{s}");
        }
        assert_eq!(
            parse("warmup:5+cosine:100").unwrap().to_string(),
            "warmup:5+cosine:100"
        );
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let msg = |s: &str| parse(s).unwrap_err().to_string();
        assert_eq!(
            msg("step:10"),
            "invalid schedule `step:10`: step takes 2 parameter(s) (step:STEP_SIZE:GAMMA), got 1"
        );
        assert!(msg("linear:3").contains("unknown schedule `linear`; expected one of: constant"));
        assert!(msg("exp:abc").contains("`abc` is not a valid GAMMA"));
        assert!(msg("cosine:-5").contains("`-5` is not a valid T_MAX"));
        assert!(msg("exp:0").contains("gamma must be a positive finite number, got 0"));
        assert!(msg("cosine:100+warmup:5").contains("only warmup can hand over"));
        assert!(msg("warmup:5+").contains("empty schedule"));
        assert!(msg("warmup:5:2+constant").contains("start factor must be in [0, 1], got 2"));
    }
}

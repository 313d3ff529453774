//! Built-in functions and constants of the formula language, with their f64 values.

use crate::tensor::UnaryOp;

/// A one-argument function of the formula language.
///
/// `Step` (Heaviside, the derivative of `relu`) and `Sign` (the derivative of `abs`) appear in
/// symbolic derivatives; the parser accepts them too, as `step(x)` and `sign(x)`, so that every
/// printed derivative parses back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Func {
    /// `exp(x)`.
    Exp,
    /// Natural logarithm, written `log(x)` or `ln(x)`.
    Log,
    /// `sqrt(x)`.
    Sqrt,
    /// `sin(x)`.
    Sin,
    /// `cos(x)`.
    Cos,
    /// `tan(x)`.
    Tan,
    /// `tanh(x)`.
    Tanh,
    /// Logistic function `1/(1+exp(-x))`.
    Sigmoid,
    /// `max(x, 0)`.
    Relu,
    /// `|x|`.
    Abs,
    /// Heaviside step: 1 for x > 0, otherwise 0 (so `step(0) = 0`, the usual relu subgradient).
    Step,
    /// Sign: -1, 0 or 1.
    Sign,
}

/// Every name the parser reads as a function, in the order used for suggestions.
pub const FUNCTION_NAMES: [&str; 13] = [
    "exp", "log", "ln", "sqrt", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "abs", "step",
    "sign",
];

impl Func {
    /// Looks a function up by the name a formula uses (`log` and `ln` are the same function).
    pub fn from_name(name: &str) -> Option<Func> {
        Some(match name {
            "exp" => Func::Exp,
            "log" | "ln" => Func::Log,
            "sqrt" => Func::Sqrt,
            "sin" => Func::Sin,
            "cos" => Func::Cos,
            "tan" => Func::Tan,
            "tanh" => Func::Tanh,
            "sigmoid" => Func::Sigmoid,
            "relu" => Func::Relu,
            "abs" => Func::Abs,
            "step" => Func::Step,
            "sign" => Func::Sign,
            _ => return None,
        })
    }

    /// The name the printer writes (`log` for the natural logarithm).
    pub fn name(self) -> &'static str {
        match self {
            Func::Exp => "exp",
            Func::Log => "log",
            Func::Sqrt => "sqrt",
            Func::Sin => "sin",
            Func::Cos => "cos",
            Func::Tan => "tan",
            Func::Tanh => "tanh",
            Func::Sigmoid => "sigmoid",
            Func::Relu => "relu",
            Func::Abs => "abs",
            Func::Step => "step",
            Func::Sign => "sign",
        }
    }

    /// Evaluates the function; NaN in gives NaN out, domain errors give NaN or infinities.
    pub fn apply(self, x: f64) -> f64 {
        if x.is_nan() {
            return f64::NAN;
        }
        match self.unary_op() {
            Some(u) => u.apply(x),
            None if x > 0.0 => 1.0,
            None if x < 0.0 && self == Func::Sign => -1.0,
            None => 0.0,
        }
    }

    /// The engine's pointwise op for this function; `None` for the piecewise-constant `step`
    /// and `sign`, which the engine records as constants. One definition of each function's
    /// maths serves the evaluator and the tape.
    pub fn unary_op(self) -> Option<UnaryOp> {
        Some(match self {
            Func::Exp => UnaryOp::Exp,
            Func::Log => UnaryOp::Log,
            Func::Sqrt => UnaryOp::Sqrt,
            Func::Sin => UnaryOp::Sin,
            Func::Cos => UnaryOp::Cos,
            Func::Tan => UnaryOp::Tan,
            Func::Tanh => UnaryOp::Tanh,
            Func::Sigmoid => UnaryOp::Sigmoid,
            Func::Relu => UnaryOp::Relu,
            Func::Abs => UnaryOp::Abs,
            Func::Step | Func::Sign => return None,
        })
    }
}

/// A named mathematical constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Const {
    /// π.
    Pi,
    /// Euler's number e.
    E,
}

impl Const {
    /// Looks a constant up by name (`pi` or `e`).
    pub fn from_name(name: &str) -> Option<Const> {
        match name {
            "pi" => Some(Const::Pi),
            "e" => Some(Const::E),
            _ => None,
        }
    }

    /// The name used in formulas.
    pub fn name(self) -> &'static str {
        match self {
            Const::Pi => "pi",
            Const::E => "e",
        }
    }

    /// The constant's value.
    pub fn value(self) -> f64 {
        match self {
            Const::Pi => std::f64::consts::PI,
            Const::E => std::f64::consts::E,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_resolves_and_prints_back_to_a_name_that_resolves_to_it() {
        for name in FUNCTION_NAMES {
            let f = Func::from_name(name).expect(name);
            assert_eq!(Func::from_name(f.name()), Some(f));
        }
        assert_eq!(Func::from_name("ln"), Some(Func::Log));
        assert_eq!(Func::from_name("sine"), None);
    }

    #[test]
    fn values_match_std() {
        let x = 0.7_f64;
        assert_eq!(Func::Exp.apply(x), x.exp());
        assert_eq!(Func::Log.apply(x), x.ln());
        assert_eq!(Func::Sqrt.apply(x), x.sqrt());
        assert_eq!(Func::Sin.apply(x), x.sin());
        assert_eq!(Func::Cos.apply(x), x.cos());
        assert_eq!(Func::Tan.apply(x), x.tan());
        assert_eq!(Func::Tanh.apply(x), x.tanh());
        assert!((Func::Sigmoid.apply(x) - 1.0 / (1.0 + (-x).exp())).abs() < 1e-15);
        assert_eq!(Func::Relu.apply(-x), 0.0);
        assert_eq!(Func::Relu.apply(x), x);
        assert_eq!(Func::Abs.apply(-x), x);
        assert_eq!(Func::Step.apply(x), 1.0);
        assert_eq!(Func::Step.apply(0.0), 0.0);
        assert_eq!(Func::Sign.apply(-x), -1.0);
        assert_eq!(Func::Sign.apply(0.0), 0.0);
        assert_eq!(Const::Pi.value(), std::f64::consts::PI);
        assert_eq!(Const::E.value(), std::f64::consts::E);
    }

    #[test]
    fn sigmoid_is_stable_far_from_zero() {
        assert_eq!(Func::Sigmoid.apply(1000.0), 1.0);
        assert_eq!(Func::Sigmoid.apply(-1000.0), 0.0);
        assert!(Func::Sigmoid.apply(-30.0) > 0.0);
        assert!(Func::Relu.apply(f64::NAN).is_nan());
    }
}

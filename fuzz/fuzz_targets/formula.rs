//! The formula parser and its lowering onto the tape: parse, print, simplify, differentiate
//! symbolically, evaluate, gradient and Hessian by reverse mode.
#![no_main]
use discesa::expr::simplify;
use discesa::formula::Formula;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(f) = Formula::parse(text) else {
        return;
    };
    // Printing must give a formula that parses again.
    let printed = f.expr().to_string();
    Formula::parse(&printed).unwrap_or_else(|e| panic!("{printed:?} does not parse: {e}"));
    let _ = simplify(f.expr());
    let _ = f.symbolic_gradient();
    let n = f.variables().len();
    for x in [vec![0.7; n], (0..n).map(|i| -1.3 + i as f64).collect()] {
        let _ = f.eval(&x);
        let _ = f.check_finite(&x);
        let _ = f.value_and_gradient(&x);
        if n <= 4 {
            let _ = f.hessian(&x);
        }
    }
});

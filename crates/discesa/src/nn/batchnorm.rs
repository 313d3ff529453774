//! Batch normalisation layers (`nn.BatchNorm2d` over `[N, C, H, W]`, `nn.BatchNorm1d` over
//! `[N, C]`) with PyTorch's running statistics: in training mode the output uses the batch
//! mean and biased variance, and the buffers move towards them with momentum 0.1 (the variance
//! unbiased, `var · count / (count − 1)`), `num_batches_tracked` counting the updates; in
//! evaluation mode the running statistics normalise.

use super::buffers::{expect_buffers, BufferKind, BufferSpec};
use super::init::Init;
use super::module::{expect_params, ForwardCtx, Module};
use super::params::ParamSpec;
use crate::autodiff::{BatchStats, Var};
use crate::error::{shape_err, Result};
use crate::tensor::{Element, Tensor};

/// PyTorch's default momentum of the running statistics.
pub const BN_MOMENTUM: f64 = 0.1;
/// PyTorch's default epsilon added to the variance.
pub const BN_EPS: f64 = 1e-5;

/// A batch-norm layer over `channels` (the second axis).
#[derive(Debug, Clone, PartialEq)]
pub struct BatchNorm {
    /// Channels (features for the 1-D form).
    pub channels: usize,
    /// True for `[N, C, H, W]` input (`BatchNorm2d`), false for `[N, C]` (`BatchNorm1d`).
    pub spatial: bool,
}

impl BatchNorm {
    /// `nn.BatchNorm2d(channels)`.
    pub fn d2(channels: usize) -> Self {
        BatchNorm {
            channels,
            spatial: true,
        }
    }

    /// `nn.BatchNorm1d(channels)`.
    pub fn d1(channels: usize) -> Self {
        BatchNorm {
            channels,
            spatial: false,
        }
    }
}

/// Folds one batch's statistics into the running buffers `[mean, var, count]`, as PyTorch does.
pub fn update_running_stats<T: Element>(buffers: &mut [Tensor<T>], stats: &BatchStats<T>) {
    let m = T::from_f64(BN_MOMENTUM);
    let keep = T::one() - m;
    let unbias = T::from_f64(stats.count as f64 / (stats.count as f64 - 1.0));
    for (r, &b) in buffers[0].make_mut().iter_mut().zip(stats.mean.as_slice()) {
        *r = keep * *r + m * b;
    }
    for (r, &b) in buffers[1]
        .make_mut()
        .iter_mut()
        .zip(stats.var_biased.as_slice())
    {
        *r = keep * *r + m * (b * unbias);
    }
    let n = &mut buffers[2].make_mut()[0];
    *n += T::one();
}

impl<T: Element> Module<T> for BatchNorm {
    fn describe(&self) -> String {
        let d = if self.spatial { 2 } else { 1 };
        format!("BatchNorm{d}d({})", self.channels)
    }

    fn param_specs(&self) -> Vec<ParamSpec> {
        vec![
            ParamSpec {
                name: "weight".into(),
                shape: vec![self.channels],
                init: Init::Ones,
            },
            ParamSpec {
                name: "bias".into(),
                shape: vec![self.channels],
                init: Init::Zeros,
            },
        ]
    }

    fn num_param_tensors(&self) -> usize {
        2
    }

    fn buffer_specs(&self) -> Vec<BufferSpec> {
        let float = |name: &str, init| BufferSpec {
            name: name.into(),
            shape: vec![self.channels],
            kind: BufferKind::Float,
            init,
        };
        vec![
            float("running_mean", 0.0),
            float("running_var", 1.0),
            BufferSpec {
                name: "num_batches_tracked".into(),
                shape: vec![],
                kind: BufferKind::Count,
                init: 0.0,
            },
        ]
    }

    fn num_buffers(&self) -> usize {
        3
    }

    fn forward<'t>(
        &self,
        x: Var<'t, T>,
        params: &[Var<'t, T>],
        buffers: &mut [Tensor<T>],
        ctx: &ForwardCtx,
    ) -> Result<Var<'t, T>> {
        let name = <Self as Module<T>>::describe(self);
        expect_params(&name, params, 2)?;
        expect_buffers(&name, buffers, 3)?;
        let s = x.shape();
        let rank = if self.spatial { 4 } else { 2 };
        if s.ndim() != rank || s.dim(1) != self.channels {
            let want = if self.spatial {
                format!("[batch, {}, height, width]", self.channels)
            } else {
                format!("[batch, {}]", self.channels)
            };
            return Err(shape_err(
                "BatchNorm",
                format!("{name} expects input of shape {want}, got {s}"),
            ));
        }
        let eps = T::from_f64(BN_EPS);
        if ctx.train {
            let (y, stats) = x.batch_norm_train(params[0], params[1], eps)?;
            if ctx.update_buffers {
                update_running_stats(buffers, &stats);
            }
            Ok(y)
        } else {
            x.batch_norm_eval(params[0], params[1], &buffers[0], &buffers[1], eps)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autodiff::{gradcheck, gradgradcheck, CheckFn, CheckOptions, Tape};

    fn as_check<F: CheckFn + Copy>(f: F) -> F {
        f
    }
    use crate::nn::{init_buffers, init_params};

    /// A worked example computed by hand with PyTorch's formulas: channel 0 holds 1, 2, 3, 6
    /// (mean 3, biased variance 3.5, unbiased 14/3), channel 1 holds 0, 0, 4, 4 (mean 2,
    /// biased variance 4, unbiased 16/3).
    #[test]
    fn running_statistics_follow_pytorch_formulas() {
        let bn = BatchNorm::d2(2);
        let p = init_params::<f64>(&bn, 1).unwrap();
        let mut b = init_buffers::<f64>(&bn).unwrap();
        // x[n, c, 0, w] for n = 0, 1 and w = 0, 1.
        let x =
            Tensor::from_vec(vec![1.0, 2.0, 0.0, 0.0, 3.0, 6.0, 4.0, 4.0], [2, 2, 1, 2]).unwrap();
        let tape = Tape::new();
        let y = bn
            .forward(
                tape.constant(x.clone()),
                &p.leaves(&tape),
                b.tensors_mut(),
                &ForwardCtx::train(1, 0),
            )
            .unwrap();
        let rm = b.get("running_mean").unwrap().to_vec();
        let rv = b.get("running_var").unwrap().to_vec();
        assert!(
            (rm[0] - 0.3).abs() < 1e-12 && (rm[1] - 0.2).abs() < 1e-12,
            "{rm:?}"
        );
        let want = [0.9 + 0.1 * 14.0 / 3.0, 0.9 + 0.1 * 16.0 / 3.0];
        assert!((rv[0] - want[0]).abs() < 1e-12 && (rv[1] - want[1]).abs() < 1e-12);
        assert_eq!(b.get("num_batches_tracked").unwrap(), &[1.0]);
        // Output normalised with the batch statistics: (1 − 3)/√(3.5 + eps).
        let y0 = y.value().as_slice()[0];
        assert!((y0 + 2.0 / (3.5f64 + 1e-5).sqrt()).abs() < 1e-12, "{y0}");
        // A frozen training pass leaves the buffers alone; evaluation reads them.
        bn.forward(
            tape.constant(x.clone()),
            &p.leaves(&tape),
            b.tensors_mut(),
            &ForwardCtx::train(1, 1).frozen(),
        )
        .unwrap();
        assert_eq!(b.get("num_batches_tracked").unwrap(), &[1.0]);
        let e = bn
            .forward(
                tape.constant(x),
                &p.leaves(&tape),
                b.tensors_mut(),
                &ForwardCtx::eval(),
            )
            .unwrap();
        let e0 = e.value().as_slice()[0];
        assert!((e0 - (1.0 - rm[0]) / (rv[0] + 1e-5).sqrt()).abs() < 1e-12);
        assert_eq!(b.get("num_batches_tracked").unwrap(), &[1.0]);
    }

    #[test]
    fn gradchecks_in_both_modes_and_shape_errors() {
        for spatial in [true, false] {
            let bn = BatchNorm {
                channels: 3,
                spatial,
            };
            let mut p = init_params::<f64>(&bn, 2).unwrap();
            let w: Vec<f64> = (0..6).map(|i| 0.5 + 0.1 * i as f64).collect();
            p.set_flat(&w).unwrap();
            let mut b = init_buffers::<f64>(&bn).unwrap();
            b.set("running_mean", &[0.1, -0.2, 0.3]).unwrap();
            let dims: &[usize] = if spatial { &[2, 3, 2, 2] } else { &[4, 3] };
            let mut inputs = vec![Tensor::rand_normal(dims, 0.0, 1.0, 3)];
            inputs.extend(p.views());
            for ctx in [ForwardCtx::train(1, 0).frozen(), ForwardCtx::eval()] {
                let f = as_check(|v| {
                    let mut bufs = b.tensors().to_vec();
                    bn.forward(v[0], &v[1..], &mut bufs, &ctx)
                });
                let r = gradcheck(f, &inputs, CheckOptions::default()).unwrap();
                assert!(r.passed, "{r}");
                let r = gradgradcheck(f, &inputs, CheckOptions::default()).unwrap();
                assert!(r.passed, "{r}");
            }
            let tape = Tape::new();
            let bad = tape.constant(Tensor::zeros([4, 2]));
            let err = bn.forward(bad, &p.leaves(&tape), b.tensors_mut(), &ForwardCtx::eval());
            assert!(err
                .unwrap_err()
                .to_string()
                .contains("expects input of shape"));
        }
    }
}

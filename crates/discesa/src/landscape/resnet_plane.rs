//! The plane `θ + a·dx + b·dy` of a ResNet / plain network, evaluated as a plain tensor forward:
//! nothing is recorded, and every batch norm (evaluation mode: fixed running statistics) is
//! folded into the convolution before it, `W' = W·s`, `b' = β − μ·s` with `s = γ / √(σ² + ε)`,
//! so that a block is two convolutions, each followed by one pass adding the bias (and the
//! shortcut) and applying the ReLU. Samples go through in batches of 128, whose activations stay
//! in cache, instead of in one pass over every sample.

use super::error::{invalid, Result};
use super::model::{score, PointValue, Samples, Sums};
use super::plane::Plane;
use crate::nn::{ParamEntry, ResNetConfig, BN_EPS};
use crate::tensor::{gemm_into, Conv2dOptions, Epilogue, Tensor};
use std::collections::HashMap;

/// Samples per forward pass.
const BATCH: usize = 128;

/// A convolution with its batch norm folded in.
struct FoldedConv {
    weight: Tensor<f32>,
    bias: Vec<f32>,
    opts: Conv2dOptions,
}

impl FoldedConv {
    /// `relu?(conv(x) + bias (+ skip))`, the epilogue applied to each image in cache.
    fn apply(&self, x: &Tensor<f32>, skip: Option<&Tensor<f32>>, relu: bool) -> Tensor<f32> {
        x.conv2d_then(
            &self.weight,
            &self.opts,
            &Epilogue {
                bias: &self.bias,
                skip: skip.map(Tensor::as_slice),
                relu,
            },
        )
        .expect("shapes checked when the plane was built")
    }
}

/// One basic block, folded.
struct FoldedBlock {
    conv1: FoldedConv,
    conv2: FoldedConv,
    down: Option<FoldedConv>,
}

/// The whole network at one point of the plane.
struct FoldedNet {
    stem: FoldedConv,
    blocks: Vec<FoldedBlock>,
    shortcut: bool,
    fc_weight: Vec<f32>,
    fc_bias: Vec<f32>,
    classes: usize,
}

/// Parameters and buffers of one point, looked up by their `state_dict` names.
struct Lookup<'a> {
    params: &'a [f32],
    entries: HashMap<&'a str, &'a ParamEntry>,
    buffers: &'a HashMap<String, Vec<f32>>,
}

impl Lookup<'_> {
    fn param(&self, name: &str) -> Result<(&[f32], &[usize])> {
        let e = self
            .entries
            .get(name)
            .ok_or_else(|| super::LandscapeError::Invalid(format!("no parameter `{name}`")))?;
        Ok((&self.params[e.offset..e.offset + e.numel()], &e.shape))
    }

    fn buffer(&self, name: &str) -> Result<&[f32]> {
        self.buffers
            .get(name)
            .map(Vec::as_slice)
            .ok_or_else(|| super::LandscapeError::Invalid(format!("no buffer `{name}`")))
    }

    /// Convolution `conv` followed by batch norm `bn`, folded.
    fn folded(&self, conv: &str, bn: &str, stride: usize, padding: usize) -> Result<FoldedConv> {
        let (w, shape) = self.param(&format!("{conv}.weight"))?;
        let (gamma, _) = self.param(&format!("{bn}.weight"))?;
        let (beta, _) = self.param(&format!("{bn}.bias"))?;
        let mean = self.buffer(&format!("{bn}.running_mean"))?;
        let var = self.buffer(&format!("{bn}.running_var"))?;
        let o = shape[0];
        if [gamma.len(), beta.len(), mean.len(), var.len()] != [o; 4] {
            return invalid(format!("{bn} does not fit the {o} channels of {conv}"));
        }
        let per = w.len() / o;
        let mut weight = Vec::with_capacity(w.len());
        let mut bias = Vec::with_capacity(o);
        for c in 0..o {
            let s = f64::from(gamma[c]) / (f64::from(var[c]) + BN_EPS).sqrt();
            weight.extend(
                w[c * per..(c + 1) * per]
                    .iter()
                    .map(|&v| (f64::from(v) * s) as f32),
            );
            bias.push((f64::from(beta[c]) - f64::from(mean[c]) * s) as f32);
        }
        Ok(FoldedConv {
            weight: Tensor::from_vec(weight, shape)?,
            bias,
            opts: Conv2dOptions {
                stride: [stride, stride],
                padding: [padding, padding],
                ..Default::default()
            },
        })
    }
}

impl FoldedNet {
    fn new(cfg: &ResNetConfig, l: &Lookup<'_>) -> Result<Self> {
        let stem = l.folded("conv1", "bn1", 1, 1)?;
        let (w, n) = (cfg.width, cfg.blocks_per_stage());
        let mut blocks = Vec::new();
        let mut cin = w;
        for (stage, cout) in [w, 2 * w, 4 * w].into_iter().enumerate() {
            for i in 0..n {
                let stride = if stage > 0 && i == 0 { 2 } else { 1 };
                let p = format!("layer{}.{i}", stage + 1);
                let down = cfg.shortcut && (stride != 1 || cin != cout);
                blocks.push(FoldedBlock {
                    conv1: l.folded(&format!("{p}.conv1"), &format!("{p}.bn1"), stride, 1)?,
                    conv2: l.folded(&format!("{p}.conv2"), &format!("{p}.bn2"), 1, 1)?,
                    down: if down {
                        Some(l.folded(&format!("{p}.down.0"), &format!("{p}.down.1"), stride, 0)?)
                    } else {
                        None
                    },
                });
                cin = cout;
            }
        }
        let (fc_weight, fs) = l.param("fc.weight")?;
        let (fc_bias, _) = l.param("fc.bias")?;
        if fs != [cfg.classes, cin] {
            return invalid(format!(
                "fc.weight has shape {fs:?}, expected [{}, {cin}]",
                cfg.classes
            ));
        }
        Ok(FoldedNet {
            stem,
            blocks,
            shortcut: cfg.shortcut,
            fc_weight: fc_weight.to_vec(),
            fc_bias: fc_bias.to_vec(),
            classes: cfg.classes,
        })
    }

    /// Logits `[n, classes]` of a batch `x` `[n, C, H, W]`.
    fn forward(&self, x: &Tensor<f32>) -> Vec<f32> {
        let mut h = self.stem.apply(x, None, true);
        for b in &self.blocks {
            let t = b.conv1.apply(&h, None, true);
            h = if self.shortcut {
                let skip = match &b.down {
                    Some(d) => d.apply(&h, None, false),
                    None => h,
                };
                b.conv2.apply(&t, Some(&skip), true)
            } else {
                b.conv2.apply(&t, None, true)
            };
        }
        let (n, c) = (h.dims()[0], h.dims()[1]);
        let plane: usize = h.dims()[2..].iter().product();
        let pooled: Vec<f32> = h
            .as_slice()
            .chunks_exact(plane)
            .map(|p| p.iter().sum::<f32>() / plane as f32)
            .collect();
        let k = self.classes;
        let mut out = vec![0.0f32; n * k];
        gemm_into(
            n,
            k,
            c,
            &mut out,
            &pooled,
            false,
            &self.fc_weight,
            true,
            false,
        );
        for row in out.chunks_exact_mut(k) {
            row.iter_mut()
                .zip(&self.fc_bias)
                .for_each(|(o, &b)| *o += b);
        }
        out
    }
}

/// A ResNet / plain network's plane, evaluated without the tape with batch norm folded.
pub struct ResNetPlane<'a> {
    cfg: ResNetConfig,
    entries: HashMap<&'a str, &'a ParamEntry>,
    buffers: HashMap<String, Vec<f32>>,
    theta: &'a [f32],
    dx: &'a [f32],
    dy: &'a [f32],
    samples: &'a Samples,
}

impl<'a> ResNetPlane<'a> {
    /// The plane through `theta` of the network `cfg` with parameters laid out as `entries` and
    /// the evaluation-mode `buffers` (by `state_dict` name).
    pub fn new(
        cfg: &ResNetConfig,
        entries: &'a [ParamEntry],
        buffers: HashMap<String, Vec<f32>>,
        theta: &'a [f32],
        dx: &'a [f32],
        dy: &'a [f32],
        samples: &'a Samples,
    ) -> Result<Self> {
        let plane = ResNetPlane {
            cfg: cfg.clone(),
            entries: entries.iter().map(|e| (e.name.as_str(), e)).collect(),
            buffers,
            theta,
            dx,
            dy,
            samples,
        };
        // Every name is looked up once here, so that evaluation cannot fail on the layout.
        plane.net(theta)?;
        Ok(plane)
    }

    fn net(&self, params: &[f32]) -> Result<FoldedNet> {
        FoldedNet::new(
            &self.cfg,
            &Lookup {
                params,
                entries: self.entries.clone(),
                buffers: &self.buffers,
            },
        )
    }
}

impl Plane for ResNetPlane<'_> {
    fn eval(&self, a: f64, b: f64) -> Result<PointValue> {
        let (af, bf) = (a as f32, b as f32);
        let p: Vec<f32> = self
            .theta
            .iter()
            .zip(self.dx)
            .zip(self.dy)
            .map(|((&w, &u), &v)| w + af * u + bf * v)
            .collect();
        let net = self.net(&p)?;
        let s = self.samples;
        let mut sums = Sums::default();
        let mut start = 0;
        while start < s.len() {
            let n = BATCH.min(s.len() - start);
            let logits = net.forward(&s.input_tensor::<f32>(start, n)?);
            score(&logits, self.cfg.classes, s, start, &mut sums);
            start += n;
        }
        Ok(sums.value(s.task()))
    }
}

#[cfg(test)]
mod tests {
    use crate::data::Task;
    use crate::landscape::{LossModel, ModuleModel, SampleTargets, Samples};
    use crate::nn::{init_buffers, init_params, ModelSpec, ResNetConfig};
    use crate::Tensor;

    /// The folded, tape-free plane equals the module's own evaluation-mode forward on the tape,
    /// with running statistics away from their initial values and directions that also move the
    /// batch-norm weights (so the folding is redone at every point).
    #[test]
    fn folded_plane_equals_the_modules_forward() {
        for shortcut in [true, false] {
            let spec = ModelSpec::ResNet(ResNetConfig {
                depth: 8,
                width: 4,
                shortcut,
                input: [2, 9, 9],
                classes: 5,
            });
            let module = spec.build::<f32>().unwrap();
            let params = init_params(module.as_ref(), 4).unwrap();
            let mut buffers = init_buffers(module.as_ref()).unwrap();
            for (k, b) in module.buffer_specs().iter().enumerate() {
                let n = b.shape.iter().product::<usize>();
                let v: Vec<f32> = if b.name.ends_with("running_mean") {
                    (0..n).map(|i| 0.1 * ((i + k) % 5) as f32 - 0.2).collect()
                } else if b.name.ends_with("running_var") {
                    (0..n)
                        .map(|i| 0.5 + 0.3 * ((i * 3 + k) % 4) as f32)
                        .collect()
                } else {
                    continue;
                };
                buffers.set(&b.name, &v).unwrap();
            }
            let model = ModuleModel::from_spec(&spec, &buffers, Task::Classification).unwrap();
            let theta = params.flat().to_vec();
            let len = theta.len();
            let dir = |seed| Tensor::<f32>::rand_normal([len], 0.0, 0.05, seed).to_vec();
            let (dx, dy) = (dir(7), dir(8));
            let n = 150;
            let samples = Samples {
                inputs: Tensor::<f32>::rand_normal([n * 2 * 81], 0.0, 1.0, 9).to_vec(),
                shape: vec![n, 2, 9, 9],
                targets: SampleTargets::Classes((0..n).map(|i| (i * 3 + 1) % 5).collect()),
            };
            model.check_samples(&samples).unwrap();
            let fast = model.plane(&theta, &dx, &dy, &samples).unwrap();
            let reference = model.generic_plane(&theta, &dx, &dy, &samples);
            for (a, b) in [(0.0, 0.0), (0.7, -0.3), (-1.0, 1.0)] {
                let (f, r) = (fast.eval(a, b).unwrap(), reference.eval(a, b).unwrap());
                assert!(
                    (f.loss - r.loss).abs() < 1e-5 * r.loss.abs().max(1.0),
                    "shortcut {shortcut} at ({a}, {b}): {} vs {}",
                    f.loss,
                    r.loss
                );
                assert!((f.accuracy - r.accuracy).abs() <= 1.0 / n as f64 + 1e-12);
            }
            assert_ne!(
                fast.eval(0.0, 0.0).unwrap().loss,
                fast.eval(1.0, 0.0).unwrap().loss
            );
        }
    }
}

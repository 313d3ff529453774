use super::*;
use crate::autodiff::{gradcheck, CheckOptions, Tape};
use crate::nn::{init_buffers, init_params, BufferKind, ModelSpec};

/// `name shape dtype` lines of PyTorch's `state_dict()` for the reference modules, generated
/// once with `scripts/torch_parity.py names MODEL WIDTH`.
const TORCH: [(&str, &str); 4] = [
    ("resnet20 16", include_str!("resnet20_w16.txt")),
    ("plain20 16", include_str!("plain20_w16.txt")),
    ("resnet8 8", include_str!("resnet8_w8.txt")),
    ("cnn 16", include_str!("cnn_w16.txt")),
];

fn spec(name: &str, width: usize) -> ModelSpec {
    if name == "cnn" {
        return ModelSpec::Cnn(CnnConfig {
            width,
            hidden: 128,
            input: [1, 28, 28],
            classes: 10,
        });
    }
    let shortcut = name.starts_with("resnet");
    let depth = name
        .trim_start_matches(char::is_alphabetic)
        .parse()
        .unwrap();
    ModelSpec::ResNet(ResNetConfig {
        depth,
        width,
        shortcut,
        input: [1, 28, 28],
        classes: 10,
    })
}

/// Our `name shape dtype` lines in `state_dict()` order.
fn ours(model: &dyn Module<f32>) -> Vec<String> {
    let params = model.param_specs();
    let buffers = model.buffer_specs();
    let dims = |s: &[usize]| {
        if s.is_empty() {
            "scalar".to_string()
        } else {
            s.iter().map(usize::to_string).collect::<Vec<_>>().join("x")
        }
    };
    model
        .state_names()
        .iter()
        .map(|n| {
            if let Some(p) = params.iter().find(|p| &p.name == n) {
                format!("{n} {} float32", dims(&p.shape))
            } else {
                let b = buffers.iter().find(|b| &b.name == n).unwrap();
                let dtype = match b.kind {
                    BufferKind::Float => "float32",
                    BufferKind::Count => "int64",
                };
                format!("{n} {} {dtype}", dims(&b.shape))
            }
        })
        .collect()
}

#[test]
fn names_shapes_order_and_dtypes_equal_pytorch_state_dict() {
    for (which, text) in TORCH {
        let (name, width) = which.split_once(' ').unwrap();
        let model = spec(name, width.parse().unwrap()).build::<f32>().unwrap();
        let want: Vec<&str> = text.lines().collect();
        assert_eq!(ours(model.as_ref()), want, "{which}");
        // The flat parameter layout is PyTorch's `parameters()` order.
        let p = init_params(model.as_ref(), 1).unwrap();
        let names: Vec<&str> = p.entries().iter().map(|e| e.name.as_str()).collect();
        let torch_params: Vec<&str> = want
            .iter()
            .map(|l| l.split(' ').next().unwrap())
            .filter(|n| !n.contains("running_") && !n.ends_with("num_batches_tracked"))
            .collect();
        assert_eq!(names, torch_params, "{which}");
    }
}

#[test]
fn parameter_counts_match_the_reference_docstring() {
    let count = |name: &str| {
        init_params(spec(name, 16).build::<f32>().unwrap().as_ref(), 1)
            .unwrap()
            .len()
    };
    assert_eq!(count("resnet20"), 272_186);
    assert_eq!(count("plain20"), 269_434);
}

#[test]
fn bad_depth_and_width_are_named() {
    let mut c = ResNetConfig {
        depth: 21,
        width: 16,
        shortcut: true,
        input: [1, 28, 28],
        classes: 10,
    };
    let e = ResNet::<f32>::new(c.clone()).err().unwrap().to_string();
    assert!(e.contains("depth 21") && e.contains("8, 14, 20"), "{e}");
    c.depth = 20;
    c.width = 0;
    let e = ResNet::<f32>::new(c).err().unwrap().to_string();
    assert!(e.contains("width"), "{e}");
}

#[test]
fn forward_shapes_modes_and_input_channel_check() {
    let m = spec("resnet8", 4).build::<f32>().unwrap();
    let p = init_params(m.as_ref(), 1).unwrap();
    let mut b = init_buffers(m.as_ref()).unwrap();
    let tape = Tape::new();
    let x = tape.constant(Tensor::rand_normal([3, 1, 28, 28], 0.0, 1.0, 2));
    let y = m
        .forward(
            x,
            &p.leaves(&tape),
            b.tensors_mut(),
            &ForwardCtx::train(1, 0),
        )
        .unwrap();
    assert_eq!(y.shape().dims(), &[3, 10]);
    // Every batch norm counted one batch and moved its mean away from zero.
    for (e, t) in b.entries().iter().zip(b.tensors()) {
        if e.kind == BufferKind::Count {
            assert_eq!(t.as_slice(), &[1.0], "{}", e.name);
        }
    }
    assert!(b
        .get("layer3.0.down.1.running_mean")
        .unwrap()
        .iter()
        .any(|&v| v != 0.0));
    let e = m
        .forward(x, &p.leaves(&tape), b.tensors_mut(), &ForwardCtx::eval())
        .unwrap();
    assert_eq!(e.shape().dims(), &[3, 10]);
    let bad = tape.constant(Tensor::zeros([1, 3, 28, 28]));
    let err = m
        .forward(bad, &p.leaves(&tape), b.tensors_mut(), &ForwardCtx::eval())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("[batch, 1, height, width]") && err.contains("[1, 3, 28, 28]"),
        "{err}"
    );
}

#[test]
fn gradcheck_small_resnet_and_plain_net_in_training_mode() {
    for shortcut in [true, false] {
        let m = ResNet::<f64>::new(ResNetConfig {
            depth: 8,
            width: 2,
            shortcut,
            input: [1, 6, 6],
            classes: 3,
        })
        .unwrap();
        let p = init_params(&m, 3).unwrap();
        let b = init_buffers(&m).unwrap();
        let mut inputs = vec![Tensor::rand_normal([2, 1, 6, 6], 0.0, 1.0, 4)];
        inputs.extend(p.views());
        let ctx = ForwardCtx::train(1, 0).frozen();
        let r = gradcheck(
            |v| {
                let mut bufs = b.tensors().to_vec();
                m.forward(v[0], &v[1..], &mut bufs, &ctx)
            },
            &inputs,
            CheckOptions::default(),
        )
        .unwrap();
        assert!(r.passed, "shortcut {shortcut}: {r}");
    }
}

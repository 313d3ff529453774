//! Tensor kernels against straightforward reference computations.

use super::*;

fn t(v: &[f64], s: &[usize]) -> Tensor<f64> {
    Tensor::from_vec(v.to_vec(), Shape::from(s)).unwrap()
}

#[test]
fn from_vec_checks_length() {
    let e = Tensor::<f32>::from_vec(vec![1.0; 5], [2, 3])
        .unwrap_err()
        .to_string();
    assert!(e.contains("5 values") && e.contains("[2, 3]"), "{e}");
}

#[test]
fn creation_functions() {
    assert_eq!(
        Tensor::<f64>::arange(0.0, 1.0, 0.25).unwrap().to_vec(),
        vec![0.0, 0.25, 0.5, 0.75]
    );
    assert_eq!(Tensor::<f32>::eye(2).to_vec(), vec![1.0, 0.0, 0.0, 1.0]);
    assert_eq!(Tensor::<f64>::full([2], 3.5).to_vec(), vec![3.5, 3.5]);
    let a = Tensor::<f64>::rand_normal([1000], 1.0, 2.0, 9);
    assert_eq!(
        a.to_vec(),
        Tensor::<f64>::rand_normal([1000], 1.0, 2.0, 9).to_vec()
    );
    let mean = a.as_slice().iter().sum::<f64>() / 1000.0;
    assert!((mean - 1.0).abs() < 0.2, "{mean}");
    let u = Tensor::<f32>::rand_uniform([1000], -1.0, 1.0, 3);
    assert!(u.as_slice().iter().all(|&v| (-1.0..1.0).contains(&v)));
    assert!(Tensor::<f64>::arange(0.0, 1.0, 0.0).is_err());
}

#[test]
fn broadcasting_binary_ops() {
    let a = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let b = t(&[10.0, 20.0, 30.0], &[3]);
    let c = t(&[100.0, 200.0], &[2, 1]);
    assert_eq!(
        a.add(&b).unwrap().to_vec(),
        vec![11.0, 22.0, 33.0, 14.0, 25.0, 36.0]
    );
    assert_eq!(
        a.mul(&c).unwrap().to_vec(),
        vec![100.0, 200.0, 300.0, 800.0, 1000.0, 1200.0]
    );
    assert_eq!(b.sub(&c).unwrap().dims(), &[2, 3]);
    assert_eq!(
        c.sub(&b).unwrap().to_vec(),
        vec![90.0, 80.0, 70.0, 190.0, 180.0, 170.0]
    );
    assert_eq!(
        a.gt(&Tensor::scalar(3.0)).unwrap().to_vec(),
        vec![0.0, 0.0, 0.0, 1.0, 1.0, 1.0]
    );
    let w = Tensor::where_cond(
        &a.gt(&Tensor::scalar(3.0)).unwrap(),
        &a,
        &Tensor::scalar(0.0),
    )
    .unwrap();
    assert_eq!(w.to_vec(), vec![0.0, 0.0, 0.0, 4.0, 5.0, 6.0]);
}

#[test]
fn reductions_over_axes() {
    let a = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    assert_eq!(a.sum(&[0], false).unwrap().to_vec(), vec![5.0, 7.0, 9.0]);
    assert_eq!(a.sum(&[1], true).unwrap().dims(), &[2, 1]);
    assert_eq!(a.mean(&[-1], false).unwrap().to_vec(), vec![2.0, 5.0]);
    assert_eq!(a.max(&[0, 1], false).unwrap().item().unwrap(), 6.0);
    assert_eq!(a.min(&[1], false).unwrap().to_vec(), vec![1.0, 4.0]);
    assert_eq!(a.argmax(1).unwrap().0, vec![2, 2]);
    assert_eq!(
        a.sum_to(&Shape::from([3])).unwrap().to_vec(),
        vec![5.0, 7.0, 9.0]
    );
    let big = t(&[1000.0, 1000.0], &[2]);
    let l = big.logsumexp(0, false).unwrap().item().unwrap();
    assert!((l - (1000.0 + 2f64.ln())).abs() < 1e-9);
    let ls = a.log_softmax(1).unwrap();
    let p: f64 = ls
        .narrow(0, 0, 1)
        .unwrap()
        .as_slice()
        .iter()
        .map(|v| v.exp())
        .sum();
    assert!((p - 1.0).abs() < 1e-12);
}

#[test]
fn layout_kernels() {
    let a = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    assert_eq!(
        a.transpose(0, 1).unwrap().to_vec(),
        vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]
    );
    assert_eq!(
        a.narrow(1, 1, 2).unwrap().to_vec(),
        vec![2.0, 3.0, 5.0, 6.0]
    );
    assert_eq!(a.narrow(0, 1, 1).unwrap().to_vec(), vec![4.0, 5.0, 6.0]);
    assert_eq!(
        Tensor::concat(&[a.clone(), a.clone()], 0).unwrap().dims(),
        &[4, 3]
    );
    assert_eq!(
        Tensor::stack(&[a.clone(), a.clone()], 1).unwrap().dims(),
        &[2, 2, 3]
    );
    assert_eq!(
        a.index_select(1, &[2, 0]).unwrap().to_vec(),
        vec![3.0, 1.0, 6.0, 4.0]
    );
    let g = a.gather(1, &[2, 0], &Shape::from([2, 1])).unwrap();
    assert_eq!(g.to_vec(), vec![3.0, 4.0]);
    assert!(a
        .index_select(1, &[3])
        .unwrap_err()
        .to_string()
        .contains("index 3 is out of range"));
    assert!(a
        .reshape([4])
        .unwrap_err()
        .to_string()
        .contains("cannot reshape [2, 3]"));
}

#[test]
fn matmul_matches_naive_product_in_all_layouts() {
    for &(m, k, n) in &[(1, 1, 1), (3, 5, 2), (17, 33, 9), (130, 70, 120)] {
        let a = Tensor::<f64>::rand_normal([m, k], 0.0, 1.0, 1);
        let b = Tensor::<f64>::rand_normal([k, n], 0.0, 1.0, 2);
        let mut naive = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                naive[i * n + j] = (0..k)
                    .map(|p| a.as_slice()[i * k + p] * b.as_slice()[p * n + j])
                    .sum();
            }
        }
        let c = a.matmul(&b).unwrap();
        assert!(c.allclose(&t(&naive, &[m, n]), 1e-12, 1e-12));
        let at = a.transpose(0, 1).unwrap();
        let bt = b.transpose(0, 1).unwrap();
        assert!(at
            .matmul_t(&b, true, false)
            .unwrap()
            .allclose(&c, 1e-12, 1e-12));
        assert!(a
            .matmul_t(&bt, false, true)
            .unwrap()
            .allclose(&c, 1e-12, 1e-12));
        assert!(at
            .matmul_t(&bt, true, true)
            .unwrap()
            .allclose(&c, 1e-12, 1e-12));
    }
    let a = Tensor::<f32>::rand_normal([2, 3, 4], 0.0, 1.0, 3);
    let b = Tensor::<f32>::rand_normal([2, 4, 5], 0.0, 1.0, 4);
    let c = a.matmul(&b).unwrap();
    let c1 = a
        .narrow(0, 1, 1)
        .unwrap()
        .reshape([3, 4])
        .unwrap()
        .matmul(&b.narrow(0, 1, 1).unwrap().reshape([4, 5]).unwrap())
        .unwrap();
    assert!(c
        .narrow(0, 1, 1)
        .unwrap()
        .reshape([3, 5])
        .unwrap()
        .allclose(&c1, 1e-5, 1e-5));
}

#[test]
fn thread_count_is_settable() {
    set_num_threads(1);
    assert_eq!(num_threads(), 1);
    let a = Tensor::<f32>::rand_normal([200, 200], 0.0, 1.0, 5);
    let one = a.matmul(&a).unwrap();
    set_num_threads(2);
    let two = a.matmul(&a).unwrap();
    assert!(one.allclose(&two, 1e-4, 1e-4));
}

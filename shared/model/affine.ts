import * as tf from '@tensorflow/tfjs';

/** One x W product of an affine layer; `grad: false` for inputs that are data (no gradient is computed for them). */
export interface AffineTerm {
  x: tf.Tensor;
  W: tf.Tensor;
  grad?: boolean;
}

/**
 * act(sum_i x_i W_i + b), with a hand-written backward pass. Two reasons, both
 * measured on the wasm backend at our sizes:
 * - tfjs differentiates a matMul with transposed matMuls, which wasm runs on a slow
 *   path: 140 us for a 32x119x64 product against 13 us untransposed. Here every
 *   product in the backward pass is an explicit transpose plus a plain matMul.
 * - autodiff records each op (matMul, add, relu) with clones of its inputs and runs
 *   a gradient chain per op; one custom op issues about half the kernels.
 * Terms with `grad: false` get no input gradient (their W still does).
 */
export function affine(terms: AffineTerm[], bias: tf.Tensor | null, act: 'linear' | 'relu' = 'linear'): tf.Tensor2D {
  if (terms.length === 0) throw new Error('affine needs at least one term');
  const k = terms.length;
  const inputs: tf.Tensor[] = [];
  const wAt = terms.map((t) => inputs.push(t.W) - 1);
  const bAt = bias ? inputs.push(bias) - 1 : -1;
  const xAt = terms.map((t) => (t.grad === false ? -1 : inputs.push(t.x) - 1));
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[inputs.length] as tf.GradSaveFunc;
    let pre = tf.matMul(terms[0]!.x as tf.Tensor2D, terms[0]!.W as tf.Tensor2D);
    for (let i = 1; i < k; i++) pre = tf.add(pre, tf.matMul(terms[i]!.x as tf.Tensor2D, terms[i]!.W as tf.Tensor2D));
    if (bias) pre = tf.add(pre, bias);
    const out = act === 'relu' ? tf.relu(pre) : pre;
    save([out, ...terms.map((t) => t.x), ...terms.map((t) => t.W)]);
    return {
      value: out,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [y, ...rest] = saved as tf.Tensor2D[];
        const g = (act === 'relu' ? tf.mul(dy, tf.step(y!)) : dy) as tf.Tensor2D;
        const grads: tf.Tensor[] = new Array(inputs.length);
        for (let i = 0; i < k; i++) {
          grads[wAt[i]!] = tf.matMul(tf.transpose(rest[i]!), g);
          if (xAt[i]! >= 0) grads[xAt[i]!] = tf.matMul(g, tf.transpose(rest[k + i]!));
        }
        // Column sums as a matMul: a reduction over axis 0 would transpose on wasm.
        if (bias) grads[bAt] = tf.reshape(tf.matMul(tf.ones([1, g.shape[0]]), g), bias.shape);
        return grads;
      },
    };
  });
  return f(...inputs) as tf.Tensor2D;
}

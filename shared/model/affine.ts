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
 * `cols`: only the first `cols` output columns are computed, from W[:, :cols] and
 * b[:cols]; the gradients of W and b keep their full shapes, zero beyond `cols`. That
 * is exactly the gradient of the full layer followed by a slice of its output, without
 * computing (and differentiating) the columns nobody reads.
 */
export function affine(terms: AffineTerm[], bias: tf.Tensor | null, act: 'linear' | 'relu' = 'linear', cols?: number): tf.Tensor2D {
  if (terms.length === 0) throw new Error('affine needs at least one term');
  const k = terms.length;
  const full = terms[0]!.W.shape[1]!;
  const windowed = cols !== undefined && cols < full;
  if (cols !== undefined && !(Number.isInteger(cols) && cols > 0 && cols <= full))
    throw new Error(`affine: cols must be an integer in [1, ${full}], got ${cols}`);
  const inputs: tf.Tensor[] = [];
  const wAt = terms.map((t) => inputs.push(t.W) - 1);
  const bAt = bias ? inputs.push(bias) - 1 : -1;
  const xAt = terms.map((t) => (t.grad === false ? -1 : inputs.push(t.x) - 1));
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[inputs.length] as tf.GradSaveFunc;
    const Ws = terms.map((t) => (windowed ? tf.slice(t.W as tf.Tensor2D, [0, 0], [-1, cols]) : (t.W as tf.Tensor2D)));
    let pre = tf.matMul(terms[0]!.x as tf.Tensor2D, Ws[0]!);
    for (let i = 1; i < k; i++) pre = tf.add(pre, tf.matMul(terms[i]!.x as tf.Tensor2D, Ws[i]!));
    if (bias) pre = tf.add(pre, windowed ? tf.slice(bias, [0], [cols]) : bias);
    const out = act === 'relu' ? tf.relu(pre) : pre;
    save([out, ...terms.map((t) => t.x), ...Ws]);
    return {
      value: out,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [y, ...rest] = saved as tf.Tensor2D[];
        const g = (act === 'relu' ? tf.mul(dy, tf.step(y!)) : dy) as tf.Tensor2D;
        const grads = new Array<tf.Tensor>(inputs.length);
        // Zeros for the columns beyond the window (W's rows differ per term, b is 1-D).
        const widen = (t: tf.Tensor2D) => (windowed ? tf.pad(t, [[0, 0], [0, full - cols]]) : t);
        for (let i = 0; i < k; i++) {
          grads[wAt[i]!] = widen(tf.matMul(tf.transpose(rest[i]!), g));
          if (xAt[i]! >= 0) grads[xAt[i]!] = tf.matMul(g, tf.transpose(rest[k + i]!));
        }
        // Column sums as a matMul: a reduction over axis 0 would transpose on wasm.
        if (bias) grads[bAt] = tf.reshape(widen(tf.matMul(tf.ones([1, g.shape[0]]), g)), bias.shape);
        return grads;
      },
    };
  });
  return f(...inputs) as tf.Tensor2D;
}

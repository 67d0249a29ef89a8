/**
 * Writes the EMA networks G, F, E of a StarGAN v2 checkpoint (ours, or an official PyTorch one) as ONNX models,
 * for onnxruntime (translate.ts --engine ort) or any other ONNX runtime. See docs/guide.md.
 */
import * as fs from 'node:fs';
import { parseFlags, runMain, UserError } from './lib/cli.ts';

const usage = `usage: tsx examples/export-onnx.ts CHECKPOINT --out DIR

Writes DIR/generator.onnx, DIR/mapping_network.onnx and DIR/style_encoder.onnx: the EMA networks of CHECKPOINT
(a checkpoint written by train-celeba.ts, or an official StarGAN v2 checkpoint: *_nets_ema.ckpt, *_nets.ckpt,
safetensors with the official names) as ONNX models, opset 17, batch size dynamic ('N').

  generator.onnx        x (N, 3, img, img) float, s (N, style_dim) float -> out (N, 3, img, img)
                        with w_hpf > 0 also mask0, mask1 (N, 1, h, w) float: the face masks of the official code
                        (mask0 used at 32 px, mask1 at 64 and 128 px; any size, resized bilinearly in the graph;
                        zero masks turn the high-pass path off); not with --hpf-mask whole (every pixel)
  mapping_network.onnx  z (N, latent_dim) float, y (N,) int64 -> s (N, style_dim)
  style_encoder.onnx    x (N, 3, img, img) float, y (N,) int64 -> s (N, style_dim)

Images are NCHW in the range the networks were trained on ([-1, 1]). The metadata of every model holds the
network config (net_config), the domain names (domain_names), CHECKPOINT's file name (checkpoint) and a sha256
of the exported weights (weights_sha256), by which translate.ts and evaluate.ts --engine ort --onnx DIR check
that DIR belongs to the checkpoint they are given. Checkpoints with the modulated-conv decoder
(--decoder modconv) export too: its convs become ordinary ops (input scaled by the styles, conv, demodulation).
  --out DIR   output folder (created if needed; existing files are replaced atomically)`;

const flags = { out: { type: 'string', short: 'o' } } as const;

async function main(): Promise<void> {
  const { values, positionals } = parseFlags(flags, usage, true);
  if (positionals.length !== 1) throw new UserError('expected one CHECKPOINT argument (see --help)', 2);
  if (!values.out) throw new UserError('--out DIR is required (see --help)', 2);
  const file = positionals[0];
  if (!fs.existsSync(file)) throw new UserError(`${file}: no such file`);
  const [{ useBackend }, { loadAnyCheckpoint, disposeLoaded }, { domainNamesOf }, { exportOnnx }, { describe }, { needsFaceMasks }] = await Promise.all([
    import('../dsl/index.ts'), import('../stargan/checkpoints/official.ts'), import('../stargan/checkpoints/ours.ts'),
    import('../stargan/onnx/export.ts'), import('../stargan/checkpoints/names.ts'), import('../stargan/v2/config.ts'),
  ]);
  await useBackend('wasm');
  const loaded = loadAnyCheckpoint(file);
  try {
    const { net } = loaded;
    loaded.notes.forEach((n) => console.log(`note: ${n}`));
    const paths = exportOnnx(values.out, loaded.ema, net, domainNamesOf(loaded.metadata, net.domains), file);
    for (const p of Object.values(paths)) console.log(`${p} (${(fs.statSync(p).size / 2 ** 20).toFixed(1)} MiB)`);
    console.log(`exported ${describe(net)}${needsFaceMasks(net) ? '; the generator takes face masks mask0, mask1' : ''}`);
  } finally {
    disposeLoaded(loaded);
  }
}

runMain('export-onnx', main);
